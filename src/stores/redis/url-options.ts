/**
 * The `redisStore()` options a parsed Redis store URL stands for
 * (`redis://`, `rediss://`, `redis-cluster://`, `redis-sentinel://`; see
 * ../url.ts), shared by `openStore` and the CLI.
 *
 * @module
 * @internal
 */
import type { StoreLocation } from '../url.js';
import type { RedisStoreOptions } from './index.js';

type RedisLocation = Extract<StoreLocation, { kind: 'redis' | 'redis-cluster' | 'redis-sentinel' }>;

/** The connection, prefix and durability a Redis URL names. */
export function redisStoreOptions(where: RedisLocation): RedisStoreOptions {
  const prefix = {
    ...(where.prefix === undefined ? {} : { prefix: where.prefix }),
    ...(where.durability === undefined ? {} : { durability: { ...where.durability } }),
  };
  const auth = (w: { username?: string; password?: string }): { username?: string; password?: string } => ({
    ...(w.username ? { username: w.username } : {}),
    ...(w.password !== undefined ? { password: w.password } : {}),
  });
  switch (where.kind) {
    case 'redis':
      return { url: where.url, ...prefix };
    case 'redis-cluster':
      return { cluster: { nodes: where.nodes.map((n) => ({ host: n.host, port: n.port })), options: { redisOptions: auth(where) } }, ...prefix };
    case 'redis-sentinel':
      return {
        sentinel: {
          sentinels: where.sentinels.map((n) => ({ host: n.host, port: n.port })),
          name: where.name,
          options: {
            ...auth(where),
            ...(where.db !== undefined ? { db: where.db } : {}),
            ...(where.sentinelUsername !== undefined ? { sentinelUsername: where.sentinelUsername } : {}),
            ...(where.sentinelPassword !== undefined ? { sentinelPassword: where.sentinelPassword } : {}),
          },
        },
        ...prefix,
      };
  }
}
