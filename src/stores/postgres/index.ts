/**
 * A shared store on PostgreSQL through `pg` (8.x, an optional peer
 * dependency), for several latchkey instances behind one database.
 *
 * One table, one row per token, session data in a JSONB column, and a
 * key-value table for the facet (values.ts). Every
 * operation is one SQL statement, so it is atomic on its own at READ
 * COMMITTED: a patch merges keys on the server (`(data - unset) || set`),
 * never from a stale copy; a rotation updates the old row only while it is
 * active at the expected version and inserts the new row from that update's
 * result, so of concurrent rotations exactly one wins. The schema is created
 * and upgraded by versioned migrations recorded in a `<prefix>meta` table and
 * serialised by an advisory lock, on open (`migrate: true`, the default) or by
 * {@link migrate}.
 *
 * Consistency: a call that resolved is committed and visible to every other
 * instance at once. Durability: PostgreSQL's (with the default
 * `synchronous_commit = on`, a resolved call survives a server crash).
 * Invalidations (`capabilities.invalidations`): every statement that changes
 * what a validation would answer (patch, replace, revoke, revokeUser,
 * delete; not touch) also calls `pg_notify` on the channel `latchkey_<tag>`
 * (one per schema and table prefix) naming the handles, e.g.
 * `{"handles":["..."]}`: in the same statement, so the notification is sent
 * if and only if the change commits. `subscribe()` holds one connection of
 * the pool for its LISTEN (so the pool needs at least 2), replaces it when it
 * is lost (with a backoff of up to 2 s) and reports each loss, so that the
 * engine's cache is bypassed until it listens again.
 *
 * Failure: every query is bounded by `statementTimeout`, every connection
 * attempt by `connectionTimeout`; an unreachable server makes calls reject
 * with {@link StoreUnavailableError}, `ping()` answer `false`, and the pool
 * reconnects by itself when the server is back.
 *
 * @module
 */
import type { Pool, PoolConfig, QueryResult, QueryResultRow } from 'pg';
import type { DataPatch, InvalidationListener, Store, StorePatchResult, Tombstone } from '../../core/store.js';
import { checkCensus } from '../../core/census.js';
import { durationOption, type Duration } from '../../core/duration.js';
import { ClosedError, ConfigError, StoreUnavailableError } from '../../core/errors.js';
import { encodeInvalidation } from '../invalidation.js';
import { checkOptionKeys } from '../../core/option-keys.js';
import { rowValues } from '../sql-columns.js';
import { codeOf, noop, ownPool, translate, type Query } from './connection.js';
import { listen } from './listen.js';
import { fromRow, statements } from './queries.js';
import { postgresValues } from './values.js';
import { applyMigrations, checkVersion, namesOf } from './schema.js';

export { migrate, POSTGRES_SCHEMA_VERSION, type PostgresMigrateOptions } from './schema.js';

/** Options of {@link postgresStore}. */
export interface PostgresStoreOptions {
  /**
   * Where the database is, e.g. `'postgres://app@db.internal:5432/app'`.
   * Without it (and without `pool`), `pg` reads the usual `PGHOST`,
   * `PGDATABASE`, `PGUSER`... environment variables.
   */
  connectionString?: string;
  /**
   * Use this pg `Pool` instead of making one. It is not closed by `close()`;
   * its own `connectionTimeoutMillis` applies (set it: pg's default waits
   * forever). The store still bounds each query by `statementTimeout` and
   * listens to the pool's `'error'` event while open.
   */
  pool?: Pool;
  /** More settings for the pool the store makes (ssl, host, user...); the options below win. */
  poolConfig?: PoolConfig;
  /**
   * Most connections the store's own pool opens.
   * @default 10
   */
  maxConnections?: number;
  /**
   * How long to wait for a connection (new, or free in the pool) before a call fails.
   * @default '2s'
   */
  connectionTimeout?: Duration;
  /**
   * How long one statement may run: sent to the server as `statement_timeout`
   * (own pool) and armed on the client for each query (any pool), so that a
   * server that vanished without closing its sockets cannot hang a call.
   * @default '2s'
   */
  statementTimeout?: Duration;
  /**
   * The schema holding latchkey's tables; created by the migration if missing.
   * @default 'public'
   */
  schema?: string;
  /**
   * Prefix of latchkey's table and index names (`<prefix>sessions`,
   * `<prefix>meta`), so that several applications can share one schema.
   * Lower-case letters, digits and `_`.
   * @default 'latchkey_'
   */
  tablePrefix?: string;
  /**
   * Create or upgrade the schema when the store opens. With `false`, the store
   * only checks that the schema is at its version; run `migrate()` (or
   * `latchkey migrate`) from your deployment instead, e.g. when the
   * application's database user may not run DDL.
   * @default true
   */
  migrate?: boolean;
  /**
   * Use named prepared statements: each statement is parsed and planned once
   * per connection. Turn off behind a connection pooler that cannot keep them
   * (PgBouncer in transaction mode before 1.21, or without
   * `max_prepared_statements`).
   * @default true
   */
  prepare?: boolean;
  /**
   * Called with errors that belong to no call, e.g. an idle connection lost
   * when the server restarts. They never crash the process.
   * @default ignore them
   */
  onError?: (error: unknown) => void;
}

const OPTION_NAMES = [
  'connectionString',
  'pool',
  'poolConfig',
  'maxConnections',
  'connectionTimeout',
  'statementTimeout',
  'schema',
  'tablePrefix',
  'migrate',
  'prepare',
  'onError',
];

const RETIRED = {
  connectionTimeoutMs: "use connectionTimeout, a duration such as '2s'",
  statementTimeoutMs: "use statementTimeout, a duration such as '2s'",
};

/** A {@link Store} on PostgreSQL, with the few extras that are specific to it. */
export interface PostgresStore extends Store {
  /**
   * Resolves once the schema is migrated (or checked, with `migrate: false`);
   * rejects with the reason otherwise (a `ConfigError` for a schema of another
   * version). Optional: every call waits for it anyway; await it at start-up
   * to fail fast. After a failure, the next call tries again.
   */
  ready(): Promise<void>;
  /** The qualified, quoted names of latchkey's tables. */
  readonly tables: { readonly sessions: string; readonly meta: string; readonly values: string };
}

/**
 * Creates a PostgreSQL store. The schema is migrated in the background at
 * once; every call waits for it.
 *
 * @example
 * ```ts
 * import { createSessions } from 'latchkey';
 * import { postgresStore } from 'latchkey/stores/postgres';
 *
 * const store = postgresStore({ connectionString: process.env.DATABASE_URL });
 * await store.ready(); // optional: fail fast on a wrong URL or schema
 * const sessions = createSessions({ store });
 * ```
 */
export function postgresStore(options: PostgresStoreOptions = {}): PostgresStore {
  checkOptionKeys(options, 'postgresStore()', OPTION_NAMES, { retired: RETIRED });
  const names = namesOf(options);
  const statementMs = durationOption('statementTimeout', options.statementTimeout ?? '2s', { min: 1 });
  const connectMs = durationOption('connectionTimeout', options.connectionTimeout ?? '2s', { min: 1 });
  const max = options.maxConnections ?? 10;
  if (!Number.isSafeInteger(max) || max < 1) throw new ConfigError('maxConnections must be a positive whole number');
  if (options.migrate !== undefined && typeof options.migrate !== 'boolean') throw new ConfigError('migrate must be true or false');
  const autoMigrate = options.migrate ?? true;
  if (options.prepare !== undefined && typeof options.prepare !== 'boolean') throw new ConfigError('prepare must be true or false');
  const prepare = options.prepare ?? true;
  const onError = options.onError ?? noop;
  if (typeof onError !== 'function') throw new ConfigError('onError must be a function');

  const owned = options.pool === undefined;
  const pool = ownPool(options, { max, connectionTimeoutMillis: connectMs, statement_timeout: statementMs });
  // Without a listener, an idle client's error (the server restarted) would crash the process.
  const onPoolError = (err: unknown): void => {
    try {
      onError(err);
    } catch {
      // the application's handler must not crash us either
    }
  };
  pool.on('error', onPoolError);

  // The client-side timer fires a little after the server's statement_timeout, so that the server's
  // own, cleaner error wins whenever the server is there to send it.
  const queryMs = statementMs + 500;
  const sql = statements(names, prepare, queryMs);

  let closed = false;
  let migrated = false;
  let preparing: Promise<void> | null = null;

  function ready(): Promise<void> {
    if (migrated) return Promise.resolve();
    if (preparing === null) {
      const attempt: Promise<void> = (autoMigrate ? applyMigrations(pool, names, 60_000) : checkVersion(pool, names, queryMs)).then(
        () => {
          migrated = true;
        },
        (err: unknown) => {
          if (preparing === attempt) preparing = null;
          throw err;
        },
      );
      preparing = attempt;
    }
    return preparing;
  }
  // Start at once, so that the first request does not pay for it; its failure is the next call's.
  ready().catch(noop);

  async function run<R extends QueryResultRow>(query: Query): Promise<QueryResult<R>> {
    if (closed) throw new ClosedError('the PostgreSQL store');
    if (!migrated) await ready();
    try {
      return await pool.query<R>(query);
    } catch (err) {
      throw translate(err);
    }
  }

  const listeners = new Set<() => Promise<void>>();

  async function subscribe(listener: InvalidationListener): Promise<() => Promise<void>> {
    if (closed) throw new ClosedError('the PostgreSQL store');
    // The LISTEN connection is held for good: with a single connection, every query would wait behind it.
    if ((pool.options?.max ?? 10) < 2) {
      throw new ConfigError('invalidations need a pool of at least 2 connections: one stays on LISTEN');
    }
    const listening = listen({ pool, channel: names.channel, queryMs, onError: onPoolError }, listener);
    const stop = (): Promise<void> => {
      listeners.delete(stop);
      return listening.stop();
    };
    listeners.add(stop);
    await listening.connected;
    return stop;
  }

  return {
    capabilities: { expiresByItself: false, inProcess: false, invalidations: true },
    tables: { sessions: names.sessions, meta: names.meta, values: names.values },
    ready,

    async create(record) {
      return (await run(sql.insert(rowValues(record)))).rowCount === 1;
    },

    async get(handle) {
      const row = (await run<unknown[]>(sql.get([handle]))).rows[0];
      return row === undefined ? null : fromRow(row);
    },

    async touch(handle, lastSeenAt, idleExpiresAt, expiresAt) {
      return (await run(sql.touch([handle, lastSeenAt, idleExpiresAt, expiresAt]))).rowCount === 1;
    },

    async patch(handle, change: DataPatch, now, expectVersion): Promise<StorePatchResult> {
      const set = JSON.stringify(change.set ?? {});
      const unset = change.unset ?? [];
      const res = await run<{ done: boolean; version: number; data: Record<string, unknown> | null }>(
        sql.patch([handle, unset, set, expectVersion ?? null, names.channel, encodeInvalidation([handle]), now]),
      );
      const row = res.rows[0];
      if (row === undefined) return { ok: false, reason: 'not-found' };
      if (row.done) return { ok: true, version: row.version, data: row.data ?? {} };
      // Not updated although an active row was there: its version differed, or (without a version
      // to expect) a concurrent call revoked or rotated it in between.
      return { ok: false, reason: expectVersion === undefined ? 'not-found' : 'conflict' };
    },

    async replace(oldHandle, expectVersion, next, tomb: Tombstone) {
      try {
        const values = [...rowValues(next), tomb.status, tomb.successor, tomb.expiresAt, oldHandle, expectVersion, names.channel, encodeInvalidation([oldHandle])];
        return (await run(sql.replace(values))).rowCount === 1;
      } catch (err) {
        // The new handle is taken: the statement failed as a whole, the old row is untouched.
        if (err instanceof StoreUnavailableError && codeOf(err.cause) === '23505') return false;
        throw err;
      }
    },

    async revoke(handle, until) {
      return (await run(sql.revoke([handle, until, names.channel, encodeInvalidation([handle])]))).rowCount === 1;
    },

    async revokeUser(userId, until, except, kinds) {
      return (await run<{ handle: string }>(sql.revokeUser([userId, until, except ?? null, names.channel, kinds ?? null]))).rows.map((r) => r.handle);
    },

    async delete(handle) {
      return (await run(sql.delete([handle, names.channel, encodeInvalidation([handle])]))).rowCount === 1;
    },

    async listUser(userId) {
      return (await run<unknown[]>(sql.listUser([userId]))).rows.map(fromRow);
    },

    async sweep(now, limit) {
      const records = (await run(sql.sweep([now, limit]))).rowCount ?? 0;
      return records >= limit ? records : records + ((await run(sql.kvSweep([now, limit - records]))).rowCount ?? 0);
    },

    kv: postgresValues({ sql, run }),

    async census(now, prefix, limit) {
      checkCensus(now, prefix, limit);
      const args = [now, prefix.length, prefix];
      const totals = (await run<{ sessions: number; users: number }>(sql.censusTotals(args))).rows[0];
      const top = (await run<unknown[]>(sql.censusTop([...args, limit]))).rows as unknown as Array<[string, number]>;
      return { sessions: totals?.sessions ?? 0, userCount: totals?.users ?? 0, users: top.map(([userId, n]) => ({ userId, sessions: n })), complete: true };
    },

    subscribe,

    async ping() {
      if (closed) return false;
      try {
        const res = await pool.query({ text: 'SELECT 1 AS ok', query_timeout: queryMs } as Query);
        return res.rows.length === 1;
      } catch {
        return false;
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...listeners].map((stop) => stop()));
      if (preparing !== null) await preparing.catch(noop);
      if (owned) await pool.end().catch(noop);
      pool.off('error', onPoolError);
    },
  };
}
