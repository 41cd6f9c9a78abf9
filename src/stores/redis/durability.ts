/**
 * The Redis store's `durability` option: after a write that creates, rotates
 * or revokes a session, `WAIT numreplicas timeout` until that many replicas
 * hold it, and fail the call (`StoreUnavailableError`, a 503) when they do not
 * confirm in time. A failover then promotes a replica that has every
 * acknowledged write (Sentinel and Cluster promote the most up-to-date one).
 *
 * Such writes go through a connection of their own (a `duplicate()` of the
 * store's): WAIT blocks the connection it runs on until the replicas answer,
 * and reads must not queue behind it. WAIT counts the writes of its own
 * connection, so it follows the write on the same one; on a Cluster it runs
 * on the connection of each primary the write reached (the shards of its
 * record and user index keys, found from the client's slot map), so that a
 * shard without a replica fails only the writes that reach it.
 *
 * @module
 * @internal
 */
import type { Cluster, Redis } from 'ioredis';
import { durationOption, type Duration } from '../../core/duration.js';
import { ConfigError, StoreUnavailableError } from '../../core/errors.js';
import { checkOptionKeys } from '../../core/option-keys.js';
import { managed, type Connection } from './connection.js';

/** The `durability` option of `redisStore()`. */
export interface RedisDurability {
  /** How many replicas must hold a write before the call resolves (WAIT's numreplicas). At least 1. */
  replicas: number;
  /**
   * How long to wait for them; shorter than `commandTimeout`.
   * @default '500ms'
   */
  timeout?: Duration;
}

/** The option as checked at construction. */
export interface DurabilityRule {
  readonly replicas: number;
  readonly timeoutMs: number;
}

/** Checks the option once; `null` when it is not given (writes resolve once the primary has them). */
export function durabilityOption(value: unknown, commandTimeoutMs: number): DurabilityRule | null {
  if (value === undefined) return null;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError("durability must be { replicas, timeout? }, such as { replicas: 1, timeout: '500ms' }");
  }
  checkOptionKeys(value, 'redisStore()', ['replicas', 'timeout'], { prefix: 'durability.' });
  const { replicas, timeout } = value as RedisDurability;
  if (!Number.isSafeInteger(replicas) || replicas < 1 || replicas > 100) {
    throw new ConfigError('durability.replicas must be a whole number of replicas from 1 to 100');
  }
  const timeoutMs = durationOption('durability.timeout', timeout ?? '500ms', { min: 1 });
  if (timeoutMs >= commandTimeoutMs) {
    throw new ConfigError(
      `durability.timeout (${timeoutMs} ms) must be shorter than commandTimeout (${commandTimeoutMs} ms), which would cut WAIT off before the replicas answer`,
    );
  }
  return { replicas, timeoutMs };
}

/** The connection acknowledged writes go through, and the wait for their replicas. */
export interface DurableWrites {
  readonly connection: Connection;
  /**
   * Resolves once `rule.replicas` replicas hold every write made so far on
   * the connection (on a Cluster, on the primaries of `keys`); else rejects
   * with `StoreUnavailableError`.
   */
  confirm(keys: readonly string[]): Promise<void>;
}

/** A connection of its own for acknowledged writes, made from the store's `client`. */
export function durableWrites(client: Redis | Cluster, rule: DurabilityRule, timeoutMs: number, onError: (error: unknown) => void): DurableWrites {
  // duplicate() keeps the client's options: sentinel mode, no offline queue, command timeout.
  const own: Redis | Cluster = client.isCluster ? (client as Cluster).duplicate() : (client as Redis).duplicate();
  const connection = managed(own, true, timeoutMs, onError);
  return {
    connection,
    async confirm(keys) {
      const primaries: Redis[] = own.isCluster ? primariesOf(own as Cluster, keys) : [own as Redis];
      const counts = await Promise.all(primaries.map((p) => p.wait(rule.replicas, rule.timeoutMs)));
      const least = Math.min(...counts);
      if (least < rule.replicas) {
        throw new StoreUnavailableError(
          `the Redis store is unavailable: ${least} of the ${rule.replicas} replica(s) required confirmed the write within ${rule.timeoutMs} ms (durability)`,
        );
      }
    },
  };
}

/** The connections to the primaries serving `keys` (every primary's while the slot map is not known). */
function primariesOf(cluster: Cluster, keys: readonly string[]): Redis[] {
  const all = cluster.nodes('master');
  const byKey = new Map(all.map((n) => [`${n.options.host}:${n.options.port}`, n]));
  const out = new Set<Redis>();
  for (const key of keys) {
    const node = byKey.get(cluster.slots[keySlot(key)]?.[0] ?? '');
    if (node === undefined) return all;
    out.add(node);
  }
  return [...out];
}

/**
 * A key's Redis Cluster slot: CRC16 (XMODEM) of its hash tag (the first
 * non-empty `{...}`) or of the whole key, modulo 16384, as the Cluster
 * specification defines it.
 */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  let start = 0;
  let end = bytes.length;
  const open = bytes.indexOf(0x7b);
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) {
      start = open + 1;
      end = close;
    }
  }
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc ^= (bytes[i] as number) << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}
