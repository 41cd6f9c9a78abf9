/**
 * The Redis store's key layout and the context its parts share (see the
 * layout in the store's module comment): `P s:{<handle>}` holds a record,
 * `P u:{<userId>}` a user index, `P u:{<userId>}:p` (cluster only) the
 * creates under way. The braces make a record's slot its handle's and an
 * index's slot its user's.
 *
 * @module
 * @internal
 */
import type { Cluster, Redis } from 'ioredis';
import type { Clock } from '../../core/clock.js';
import type { Commands } from './scripts.js';

/** What every operation of the store needs. */
export interface RedisContext {
  readonly client: Redis | Cluster;
  readonly cmd: Commands;
  readonly prefix: string;
  /** The engine's clock: TTLs are computed from it, never from the Redis host's. */
  readonly clock: Clock;
  /** Standalone or Sentinel: one script may reach a record and its user index at once. */
  readonly atomic: boolean;
  /** `atomic` as the scripts take it. */
  readonly flag: '1' | '0';
  /** The key of a record. */
  rk(handle: string): string;
  /** The key of a user index. */
  ix(userId: string): string;
  /** The key of a user's creates under way (cluster). */
  pk(userId: string): string;
}

/** The context of a store on `client` with `prefix`. */
export function redisContext(client: Redis | Cluster, cmd: Commands, prefix: string, clock: Clock): RedisContext {
  const atomic = !client.isCluster;
  return {
    client,
    cmd,
    prefix,
    clock,
    atomic,
    flag: atomic ? '1' : '0',
    rk: (handle) => `${prefix}s:{${handle}}`,
    ix: (userId) => `${prefix}u:{${userId}}`,
    pk: (userId) => `${prefix}u:{${userId}}:p`,
  };
}
