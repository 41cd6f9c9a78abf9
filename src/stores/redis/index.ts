/**
 * A store on Redis (standalone, Sentinel or Cluster; Valkey-compatible)
 * through ioredis (5.11+ or 6, an optional peer dependency), for several app
 * processes sharing one session authority.
 *
 * Layout (`P` is the key prefix, `latchkey:` by default):
 * - `P s:{<handle>}` — one compact string per record, with a TTL equal to the
 *   record's `expiresAt`, so Redis forgets it by itself. A string, not a
 *   hash: `get` is one GET (one round trip, one bulk reply, about twice the
 *   throughput of an HGETALL of the same record), and it takes a third of the
 *   memory (a hash holding a user agent exceeds the listpack limits and
 *   becomes a hashtable: ~1,500 B against ~460 B). Data keys are separate
 *   entries of that string, which the scripts set and remove whole without
 *   parsing JSON: a patch changes only the keys named, as stored at that
 *   moment, and user data round-trips exactly.
 * - `P u:{<userId>}` — the user index: a sorted set, member = handle, score =
 *   the latest time the record can live without a new index write
 *   (`max(expiresAt, absoluteExpiresAt)`, so that a touch, which never passes
 *   the absolute deadline, writes the record alone). Past members are removed
 *   on every write to it and its own TTL follows its latest member: it never
 *   grows without bound and needs no keyspace notifications.
 * - `P u:{<userId>}:p` (cluster only) — handles whose create is under way
 *   (kept 60 s), so that `listUser` never prunes a record about to exist.
 * - `P v:{<namespace>}:<key>` and `P n:{<namespace>}` — the key-value facet
 *   (values.ts): a namespace's values and their index in one hash slot.
 * - `P schema` — the schema version (2); a keyspace of latchkey 0.1 is
 *   migrated by the first call (migrate.ts).
 *
 * Consistency:
 * - Standalone (or Sentinel): every operation is ONE Lua script over the
 *   record and its user index, hence atomic, like the SQLite store.
 *   `revokeUser` revokes every session of the user in one step.
 * - Cluster: a record lives in the slot of its handle, an index in the slot of
 *   its user. Every script stays in one slot; operations on a single record
 *   (get, touch, patch, revoke, and the winner of a rotation) are atomic.
 *   Record and index are written in an order that never hides a live record:
 *   index first, record second on create; record first, index second on
 *   revoke and delete. `listUser` skips and prunes members whose record is
 *   gone or no longer active. `revokeUser` revokes each listed record
 *   atomically but not all at once: a session created while it runs may
 *   survive it. A rotation whose process dies between its steps leaves the
 *   user signed out, never two live tokens.
 *
 * Durability: whatever the Redis server is configured for (RDB, AOF); a
 * resolved write has reached the primary's memory, not necessarily a replica.
 *
 * Invalidations (`capabilities.invalidations`): every write that changes what
 * a validation would answer (patch, replace, revoke, revokeUser, delete; not
 * touch) is followed, before the call resolves, by a PUBLISH on the channel
 * `P invalidate` naming the handles, e.g. `{"handles":["..."]}`. On a cluster
 * a plain PUBLISH reaches every node. `subscribe()` listens on a connection of
 * its own (`duplicate()` of the store's), resubscribes after every reconnect
 * and reports each loss, so that the engine's cache is bypassed until it is
 * back. A PUBLISH that fails after its write succeeded goes to `onError`; the
 * caches' `staleness` bounds what it leaves stale.
 *
 * Failure: calls on a lost connection reject at once (no offline queue, no
 * resend), a stuck server makes them reject after `commandTimeout`. Every
 * failure of a call (connection closed or not yet made, retries exhausted, a
 * command timeout, a cluster that is down, any error reply) rejects with
 * `StoreUnavailableError`, ioredis's error as its `cause` (without the
 * command's arguments). The client reconnects by itself.
 *
 * @module
 */
import type { Cluster, Redis, ClusterNode, ClusterOptions, RedisOptions } from 'ioredis';
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { durationOption, type Duration } from '../../core/duration.js';
import { ClosedError, ConfigError } from '../../core/errors.js';
import { withTimeout } from '../../core/store-call.js';
import type { InvalidationListener, Store } from '../../core/store.js';
import { checkOptionKeys } from '../../core/option-keys.js';
import { clockOption } from '../options.js';
import { connect, unavailable } from './connection.js';
import { redisContext } from './keys.js';
import { pubSub } from './pubsub.js';
import {
  createRecord,
  deleteRecord,
  getRecord,
  listUserRecords,
  patchRecord,
  replaceRecord,
  revokeRecord,
  revokeUserRecords,
  touchRecord,
} from './records.js';
import { defineScripts } from './scripts.js';
import { redisCensus } from './census.js';
import { sweep } from './sweep.js';
import { migrateKeyspace, type RedisMigration } from './migrate.js';
import { redisValues } from './values.js';

export { REDIS_SCHEMA_VERSION, type RedisMigration } from './migrate.js';

/** Options of {@link redisStore}. Give one of `client`, `url` and/or `redis`, or `cluster`. */
export interface RedisStoreOptions {
  /**
   * An ioredis `Redis` or `Cluster` you own: the store uses it and never
   * closes it. It must not have a `keyPrefix` (use `prefix`). Give it
   * `enableOfflineQueue: false` and a `commandTimeout` so that calls fail fast
   * while Redis is down.
   */
  client?: Redis | Cluster;
  /**
   * A Redis URL (`redis://user:pass@host:6379/0`, `rediss://` for TLS) to
   * connect to; the store owns that connection.
   */
  url?: string;
  /** ioredis options of a standalone (or Sentinel) connection the store creates and owns, with `url` or alone; merged over the defaults. */
  redis?: RedisOptions;
  /** A Redis Cluster to connect to; the store owns that connection. */
  cluster?: { nodes: ClusterNode[]; options?: ClusterOptions };
  /**
   * Prepended to every key, so that several apps share one Redis. No `{` or `}`.
   * @default 'latchkey:'
   */
  prefix?: string;
  /**
   * For connections the store creates: how long one command may wait for its
   * answer before it fails (a server that accepts connections but stalls).
   * Also bounds the wait for a made connection's first readiness, `ping()`
   * and the QUIT of `close()`.
   * @default '1s'
   */
  commandTimeout?: Duration;
  /**
   * The time source that turns `expiresAt` into a TTL; give it the clock you
   * give `createSessions`. TTLs are relative to it, so the Redis host's clock
   * does not matter.
   * @default the system clock
   */
  clock?: Clock;
  /** Called with connection errors of a connection the store owns (the engine reports failed calls anyway). @default none */
  onError?: (error: unknown) => void;
}

const OPTION_NAMES = ['client', 'url', 'redis', 'cluster', 'prefix', 'commandTimeout', 'clock', 'onError'];

/** A {@link Store} on Redis, with its schema version's extras. */
export interface RedisStore extends Store {
  /**
   * Resolves once the keyspace is at this latchkey's schema version
   * (migrated from latchkey 0.1's records if need be, see `migrate()`);
   * rejects for a newer one (`ConfigError`) or an unreachable Redis. Every
   * call waits for it anyway; await it at start-up to fail fast.
   */
  ready(): Promise<void>;
  /**
   * Walks the prefix's records and converts those latchkey 0.1 wrote for
   * something other than a session (API keys, sealed values, the service's
   * token families, dashboard and demo sessions), even when the keyspace is
   * already marked as migrated: run it again after the last instance of
   * 0.1 stopped (`latchkey migrate` does). Safe to run from several places
   * at once.
   */
  migrate(): Promise<RedisMigration>;
}

/**
 * Creates a Redis store.
 *
 * @example
 * ```ts
 * import { createSessions } from 'latchkey';
 * import { redisStore } from 'latchkey/stores/redis';
 *
 * const sessions = createSessions({ store: redisStore({ url: process.env.REDIS_URL, prefix: 'myapp:' }) });
 * ```
 */
export function redisStore(options: RedisStoreOptions = {}): RedisStore {
  checkOptionKeys(options, 'redisStore()', OPTION_NAMES, { retired: { commandTimeoutMs: "use commandTimeout, a duration such as '1s'" } });
  const prefix = options.prefix ?? 'latchkey:';
  if (typeof prefix !== 'string' || /[{}]/.test(prefix) || prefix.length > 128) {
    throw new ConfigError('prefix must be a string of at most 128 characters without "{" or "}" (they would move keys across cluster slots)');
  }
  const timeoutMs = durationOption('commandTimeout', options.commandTimeout ?? '1s', { min: 1 });
  const clock = clockOption(options.clock, systemClock);
  const onError = options.onError ?? (() => {});
  if (typeof onError !== 'function') throw new ConfigError('onError must be a function');

  const connection = connect(options, timeoutMs, onError);
  const { client } = connection;
  const x = redisContext(client, defineScripts(client), prefix, clock);
  const invalidations = pubSub(client, `${prefix}invalidate`, onError);
  let closed = false;
  let migrated = false;
  let migrating: Promise<void> | null = null;

  /** The keyspace at this code's schema version: checked (and migrated) once, retried after a failure. */
  function atVersion(): Promise<void> {
    migrating ??= migrateKeyspace(x, false).then(
      () => {
        migrated = true;
      },
      (err: unknown) => {
        migrating = null;
        throw err;
      },
    );
    return migrating;
  }

  /** One call: after the first connection and the schema check, its failure a `StoreUnavailableError` (see unavailable()). */
  async function run<T>(fn: () => Promise<T>, checked = true): Promise<T> {
    try {
      if (closed) throw new ClosedError('the Redis store');
      const w = connection.ready();
      if (w !== null) await w;
      if (checked && !migrated) await atVersion();
      return await fn();
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** A write that changes what a validation answers: announced before the call resolves. */
  async function announced(fn: () => Promise<boolean>, handle: string): Promise<boolean> {
    const done = await fn();
    if (done) await invalidations.announce([handle]);
    return done;
  }

  return {
    capabilities: { expiresByItself: true, inProcess: false, invalidations: true },

    create: (record) => run(() => createRecord(x, record)),

    get: (handle) => run(() => getRecord(x, handle)),

    touch: (handle, lastSeenAt, idleExpiresAt, expiresAt) => run(() => touchRecord(x, handle, lastSeenAt, idleExpiresAt, expiresAt)),

    patch: (handle, change, now, expectVersion) =>
      run(async () => {
        const r = await patchRecord(x, handle, change, now, expectVersion);
        if (r.ok) await invalidations.announce([handle]);
        return r;
      }),

    replace: (oldHandle, expectVersion, next, t) => run(() => announced(() => replaceRecord(x, oldHandle, expectVersion, next, t), oldHandle)),

    revoke: (handle, until) => run(() => announced(() => revokeRecord(x, handle, until), handle)),

    revokeUser: (userId, until, except, kinds) =>
      run(async () => {
        const handles = await revokeUserRecords(x, userId, until, except, kinds);
        await invalidations.announce(handles);
        return handles;
      }),

    delete: (handle) => run(() => announced(() => deleteRecord(x, handle), handle)),

    listUser: (userId) => run(() => listUserRecords(x, userId)),

    sweep: (now, limit) => run(() => sweep(x, now, limit)),

    kv: redisValues(x, (fn) => run(fn)),

    census: (now, prefix, limit) => run(() => redisCensus(x, now, prefix, limit)),

    ready: () => run(async () => undefined),

    migrate: () =>
      run(async () => {
        const done = await migrateKeyspace(x, true);
        migrated = true;
        return done;
      }, false),

    async subscribe(listener: InvalidationListener) {
      if (closed) throw new ClosedError('the Redis store');
      return invalidations.subscribe(listener);
    },

    async ping() {
      if (closed) return false;
      try {
        const w = connection.ready();
        if (w !== null) await w;
        return (await withTimeout(client.ping(), timeoutMs)) === 'PONG';
      } catch {
        return false;
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      invalidations.stopAll();
      await connection.close();
    },
  };
}
