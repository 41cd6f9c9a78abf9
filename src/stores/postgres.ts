/**
 * A shared store on PostgreSQL through `pg` (8.x, an optional peer
 * dependency), for several latchkey instances behind one database.
 *
 * One table, one row per token, session data in a JSONB column. Every
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
 * Failure: every query is bounded by `statementTimeoutMs`, every connection
 * attempt by `connectionTimeoutMs`; an unreachable server makes calls reject
 * with {@link StoreUnavailableError}, `ping()` answer `false`, and the pool
 * reconnects by itself when the server is back.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Pool, PoolClient, PoolConfig, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import type { DataPatch, InvalidationListener, Store, StorePatchResult, Tombstone } from '../core/store.js';
import type { SessionData, SessionRecord } from '../core/model.js';
import { ClosedError, ConfigError, InvalidDataError, LatchkeyError, StoreUnavailableError } from '../core/errors.js';
import { decodeInvalidation, encodeInvalidation } from './invalidation.js';
import { recordFromRow, type SessionRow } from './sql-columns.js';

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
   * forever). The store still bounds each query by `statementTimeoutMs` and
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
   * @default 2000
   */
  connectionTimeoutMs?: number;
  /**
   * How long one statement may run: sent to the server as `statement_timeout`
   * (own pool) and armed on the client for each query (any pool), so that a
   * server that vanished without closing its sockets cannot hang a call.
   * @default 2000
   */
  statementTimeoutMs?: number;
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
   * only checks that the schema is at its version; run {@link migrate} (the
   * future `latchkey migrate`) from your deployment instead, e.g. when the
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

/** Where {@link migrate} works: a pool or connection, and the names. */
export type PostgresMigrateOptions = Pick<PostgresStoreOptions, 'connectionString' | 'pool' | 'poolConfig' | 'schema' | 'tablePrefix'> & {
  /**
   * How long to wait for another instance's migration (advisory lock) and for the DDL itself.
   * @default 60000
   */
  timeoutMs?: number;
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
  readonly tables: { readonly sessions: string; readonly meta: string };
}

/** Version of the schema this code writes; older schemas are migrated on open. */
export const POSTGRES_SCHEMA_VERSION = 1;

interface Names {
  schema: string;
  prefix: string;
  sessions: string;
  meta: string;
  /** Key of the advisory lock that serialises migrations of these tables. */
  lockKey: string;
  /** Distinguishes the prepared statements of stores on different tables sharing one pool. */
  tag: string;
  /** The LISTEN/NOTIFY channel of these tables. */
  channel: string;
}

/**
 * The migrations, in order: `MIGRATIONS[v]` takes the schema from version `v`
 * to `v + 1`. Timestamps are bigint milliseconds since the epoch, as in the
 * model: the engine's clock (injectable, frozen in tests) is the only clock,
 * the database's `now()` is never used, and values round-trip exactly.
 */
const MIGRATIONS: ReadonlyArray<(n: Names) => string[]> = [
  (n) => [
    `CREATE TABLE ${n.sessions} (
       handle text COLLATE "C" PRIMARY KEY,
       secret_hash text NOT NULL,
       user_id text COLLATE "C",
       status text NOT NULL CHECK (status IN ('active', 'revoked', 'rotated')),
       successor text,
       created_at bigint NOT NULL,
       issued_at bigint NOT NULL,
       last_seen_at bigint NOT NULL,
       auth_time bigint,
       auth_level bigint NOT NULL,
       idle_expires_at bigint NOT NULL,
       absolute_expires_at bigint NOT NULL,
       expires_at bigint NOT NULL,
       version bigint NOT NULL,
       data jsonb NOT NULL,
       client_ip text,
       client_ua text,
       device_browser text,
       device_os text,
       device_type text
     )`,
    // Only active rows are listed or revoked by user: tombstones stay out of the index.
    `CREATE INDEX ${ident(`${n.prefix}sessions_user`)} ON ${n.sessions} (user_id, created_at, issued_at)
       WHERE status = 'active' AND user_id IS NOT NULL`,
    `CREATE INDEX ${ident(`${n.prefix}sessions_expiry`)} ON ${n.sessions} (expires_at)`,
  ],
];

/** Columns in insert order, with the SQL type each parameter is cast to. */
const COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ['handle', 'text'],
  ['secret_hash', 'text'],
  ['user_id', 'text'],
  ['status', 'text'],
  ['successor', 'text'],
  ['created_at', 'bigint'],
  ['issued_at', 'bigint'],
  ['last_seen_at', 'bigint'],
  ['auth_time', 'bigint'],
  ['auth_level', 'bigint'],
  ['idle_expires_at', 'bigint'],
  ['absolute_expires_at', 'bigint'],
  ['expires_at', 'bigint'],
  ['version', 'bigint'],
  ['data', 'jsonb'],
  ['client_ip', 'text'],
  ['client_ua', 'text'],
  ['device_browser', 'text'],
  ['device_os', 'text'],
  ['device_type', 'text'],
];
const COLS = COLUMNS.map(([c]) => c).join(', ');

type Row = SessionRow<Record<string, unknown>>;

const INT8_OID = 20;
const JSONB_OID = 3802;
/**
 * Our own type parsers, whatever the application set globally: bigint
 * columns as numbers (every value is a safe integer of milliseconds or a
 * counter) and JSONB through JSON.parse.
 */
const TYPES: NonNullable<QueryConfig['types']> = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? Number : oid === JSONB_OID ? JSON.parse : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** A pg query config; `query_timeout` is read by pg's client although its types omit it. */
type Query = QueryConfig & { query_timeout?: number };

const LOCK_CLASS = 0x4c4b; // 'LK': the first key of latchkey's advisory locks
const noop = (): void => {};

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
  if (options === null || typeof options !== 'object') throw new TypeError('postgresStore() takes an options object');
  const names = namesOf(options);
  const statementMs = msOption('statementTimeoutMs', options.statementTimeoutMs, 2000);
  const connectMs = msOption('connectionTimeoutMs', options.connectionTimeoutMs, 2000);
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
  const t = names.sessions;
  const q = (op: string, text: string): ((values: unknown[]) => Query) => {
    if (!prepare) return (values) => ({ text, values, types: TYPES, query_timeout: queryMs });
    const name = `latchkey_${names.tag}_${op}`;
    return (values) => ({ name, text, values, types: TYPES, query_timeout: queryMs });
  };
  const params = COLUMNS.map(([, type], i) => `$${i + 1}::${type}`).join(', ');
  const sql = {
    insert: q('insert', `INSERT INTO ${t} (${COLS}) VALUES (${params}) ON CONFLICT (handle) DO NOTHING`),
    get: q('get', `SELECT ${COLS} FROM ${t} WHERE handle = $1`),
    touch: q(
      'touch',
      `UPDATE ${t} SET last_seen_at = $2, idle_expires_at = $3, expires_at = $4 WHERE handle = $1 AND status = 'active'`,
    ),
    // One statement: the merge happens on the current row under its row lock; the second branch
    // reports, when nothing was updated, whether an active row is there (so: a version conflict).
    patch: q(
      'patch',
      `WITH u AS (
         UPDATE ${t} SET data = (data - $2::text[]) || $3::jsonb, version = version + 1
         WHERE handle = $1 AND status = 'active' AND expires_at > $7::bigint AND ($4::bigint IS NULL OR version = $4::bigint)
         RETURNING version, data
       )
       SELECT true AS done, version, data, pg_notify($5, $6)::text AS notified FROM u
       UNION ALL
       SELECT false, version, NULL::jsonb, NULL::text FROM ${t} WHERE handle = $1 AND status = 'active' AND expires_at > $7::bigint AND NOT EXISTS (SELECT 1 FROM u)`,
    ),
    // One statement, so one transaction: the new row is inserted only from the old row's update. A
    // concurrent rotation blocks on the old row's lock, then re-checks status and version on the
    // committed row (READ COMMITTED) and updates nothing. A taken new handle fails the whole statement.
    replace: q(
      'replace',
      `WITH old AS (
         UPDATE ${t} SET status = $21, successor = $22, expires_at = LEAST(expires_at, $23::bigint), data = '{}'::jsonb
         WHERE handle = $24 AND status = 'active' AND version = $25::bigint
         RETURNING 1
       ), ins AS (
         INSERT INTO ${t} (${COLS}) SELECT ${params} FROM old RETURNING 1
       )
       SELECT pg_notify($26, $27)::text AS notified FROM ins`,
    ),
    revoke: q(
      'revoke',
      `WITH r AS (
         UPDATE ${t} SET status = 'revoked', successor = NULL, expires_at = LEAST(expires_at, $2::bigint), data = '{}'::jsonb
         WHERE handle = $1 AND status = 'active'
         RETURNING 1
       )
       SELECT pg_notify($3, $4)::text AS notified FROM r`,
    ),
    revokeUser: q(
      'revoke_user',
      `WITH r AS (
         UPDATE ${t} SET status = 'revoked', successor = NULL, expires_at = LEAST(expires_at, $2::bigint), data = '{}'::jsonb
         WHERE user_id = $1 AND status = 'active' AND ($3::text IS NULL OR handle <> $3::text)
         RETURNING handle
       )
       SELECT handle, pg_notify($4, json_build_object('handles', json_build_array(handle))::text)::text AS notified FROM r`,
    ),
    delete: q(
      'delete',
      `WITH d AS (DELETE FROM ${t} WHERE handle = $1 RETURNING 1)
       SELECT pg_notify($2, $3)::text AS notified FROM d`,
    ),
    listUser: q(
      'list_user',
      `SELECT ${COLS} FROM ${t} WHERE user_id = $1 AND status = 'active' ORDER BY created_at, issued_at, handle`,
    ),
    // Bounded: the oldest `limit` expired rows through the expiry index, deleted by their tuple id.
    // Rows another call holds (a touch in flight, another instance's sweep) are skipped, not waited for.
    sweep: q(
      'sweep',
      `DELETE FROM ${t} WHERE ctid = ANY(ARRAY(
         SELECT ctid FROM ${t} WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED
       ))`,
    ),
  };

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
    let stopped = false;
    let live = false;
    let current: PoolClient | null = null;
    let retryTimer: ReturnType<typeof setTimeout> | null = null;
    let failures = 0;
    const report = (up: boolean): void => {
      if (stopped || up === live) return;
      live = up;
      listener.status(up);
    };
    const onNotification = (msg: { channel: string; payload?: string | undefined }): void => {
      if (!stopped && msg.channel === names.channel) listener.invalidate(decodeInvalidation(msg.payload ?? ''));
    };
    // The connection is gone: drop it (never back into the pool) and try again later.
    const lost = (c: PoolClient, err?: unknown): void => {
      if (current !== c) return;
      current = null;
      report(false);
      c.off('notification', onNotification);
      c.release(err instanceof Error ? err : new Error('the LISTEN connection was lost'));
      schedule();
    };
    const schedule = (): void => {
      if (stopped || retryTimer !== null) return;
      failures++;
      retryTimer = setTimeout(() => {
        retryTimer = null;
        connect().catch(noop);
      }, Math.min(100 * 2 ** (failures - 1), 2000));
      retryTimer.unref();
    };
    const connect = async (): Promise<void> => {
      let c: PoolClient;
      try {
        c = await pool.connect();
      } catch (err) {
        onPoolError(err);
        schedule();
        return;
      }
      if (stopped) {
        c.release();
        return;
      }
      current = c;
      c.on('notification', onNotification);
      c.on('error', (err: unknown) => {
        onPoolError(err);
        lost(c, err);
      });
      c.on('end', () => lost(c));
      try {
        await c.query({ text: `LISTEN ${ident(names.channel)}`, query_timeout: queryMs } as Query);
      } catch (err) {
        onPoolError(err);
        lost(c, err);
        return;
      }
      if (current === c) {
        failures = 0;
        report(true);
      }
    };
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      listeners.delete(stop);
      if (retryTimer !== null) clearTimeout(retryTimer);
      const c = current;
      current = null;
      if (c !== null) {
        c.off('notification', onNotification);
        // A listening connection must not go back to the pool: close it.
        c.release(true);
      }
    };
    listeners.add(stop);
    await connect();
    return stop;
  }

  return {
    capabilities: { expiresByItself: false, inProcess: false, invalidations: true },
    tables: { sessions: names.sessions, meta: names.meta },
    ready,

    async create(record) {
      return (await run(sql.insert(toValues(record)))).rowCount === 1;
    },

    async get(handle) {
      const row = (await run<Row>(sql.get([handle]))).rows[0];
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
        const values = [...toValues(next), tomb.status, tomb.successor, tomb.expiresAt, oldHandle, expectVersion, names.channel, encodeInvalidation([oldHandle])];
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

    async revokeUser(userId, until, except) {
      return (await run<{ handle: string }>(sql.revokeUser([userId, until, except ?? null, names.channel]))).rows.map((r) => r.handle);
    },

    async delete(handle) {
      return (await run(sql.delete([handle, names.channel, encodeInvalidation([handle])]))).rowCount === 1;
    },

    async listUser(userId) {
      return (await run<Row>(sql.listUser([userId]))).rows.map(fromRow);
    },

    async sweep(now, limit) {
      return (await run(sql.sweep([now, limit]))).rowCount ?? 0;
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

/**
 * Creates or upgrades latchkey's schema to {@link POSTGRES_SCHEMA_VERSION},
 * in one transaction under an advisory lock, so that several instances (or a
 * deployment job and instances) may run it at once. What the future
 * `latchkey migrate` runs; `postgresStore()` runs it on open unless
 * `migrate: false`.
 *
 * @returns the schema version found and the version now in place
 * @throws ConfigError when the database holds a newer schema than this latchkey knows
 *
 * @example
 * ```ts
 * import { migrate } from 'latchkey/stores/postgres';
 *
 * const { from, to } = await migrate({ connectionString: process.env.DATABASE_URL });
 * console.log(`latchkey schema: version ${from} -> ${to}`);
 * ```
 */
export async function migrate(options: PostgresMigrateOptions = {}): Promise<{ from: number; to: number }> {
  if (options === null || typeof options !== 'object') throw new TypeError('migrate() takes an options object');
  const names = namesOf(options);
  const timeoutMs = msOption('timeoutMs', options.timeoutMs, 60_000);
  const owned = options.pool === undefined;
  const pool = ownPool(options, { max: 1, connectionTimeoutMillis: Math.min(timeoutMs, 10_000) });
  pool.on('error', noop);
  try {
    return await applyMigrations(pool, names, timeoutMs);
  } finally {
    if (owned) await pool.end().catch(noop);
    pool.off('error', noop);
  }
}

async function applyMigrations(pool: Pool, names: Names, timeoutMs: number): Promise<{ from: number; to: number }> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw translate(err);
  }
  // A connection lost between two statements of the transaction must not become an unhandled 'error'.
  client.on('error', noop);
  const exec = (text: string, values: unknown[] = []): Promise<QueryResult> =>
    client.query({ text, values, types: TYPES, query_timeout: timeoutMs + 1000 } as Query);
  let broken: Error | undefined;
  try {
    await exec('BEGIN');
    await exec(`SET LOCAL statement_timeout = ${timeoutMs}`);
    await exec('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS, names.lockKey]);
    // Existence is checked first, so that an up-to-date schema needs no CREATE privilege.
    const found = await exec('SELECT to_regnamespace($1) IS NOT NULL AS schema, to_regclass($2) IS NOT NULL AS meta', [
      ident(names.schema),
      names.meta,
    ]);
    const have = found.rows[0] as { schema: boolean; meta: boolean };
    if (!have.schema) await exec(`CREATE SCHEMA ${ident(names.schema)}`);
    if (!have.meta) await exec(`CREATE TABLE ${names.meta} (key text PRIMARY KEY, value text NOT NULL)`);
    const from = await readVersion(exec, names);
    if (from > POSTGRES_SCHEMA_VERSION) throw newerSchema(from, names);
    for (let v = from; v < POSTGRES_SCHEMA_VERSION; v++) {
      for (const statement of (MIGRATIONS[v] as (n: Names) => string[])(names)) await exec(statement);
    }
    if (from !== POSTGRES_SCHEMA_VERSION) {
      await exec(
        `INSERT INTO ${names.meta} (key, value) VALUES ('schema_version', $1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [String(POSTGRES_SCHEMA_VERSION)],
      );
    }
    await exec('COMMIT');
    return { from, to: POSTGRES_SCHEMA_VERSION };
  } catch (err) {
    if (!(err instanceof LatchkeyError)) broken = err instanceof Error ? err : new Error(String(err));
    await exec('ROLLBACK').catch(noop);
    if (codeOf(err) === '42501') {
      throw new ConfigError(
        `the database user may not create or change latchkey's tables ${names.sessions} and ${names.meta}; ` +
          'run `latchkey migrate` (migrate() of latchkey/stores/postgres) as a user who may, and open the store with migrate: false',
      );
    }
    throw translate(err);
  } finally {
    client.off('error', noop);
    // A connection that failed is dropped, not handed to the next caller.
    client.release(broken);
  }
}

async function checkVersion(pool: Pool, names: Names, queryMs: number): Promise<void> {
  let version: number;
  try {
    const exec = (text: string, values: unknown[] = []): Promise<QueryResult> =>
      pool.query({ text, values, types: TYPES, query_timeout: queryMs } as Query);
    const found = await exec('SELECT to_regclass($1) IS NOT NULL AS meta', [names.meta]);
    version = (found.rows[0] as { meta: boolean }).meta ? await readVersion(exec, names) : 0;
  } catch (err) {
    throw translate(err);
  }
  if (version > POSTGRES_SCHEMA_VERSION) throw newerSchema(version, names);
  if (version < POSTGRES_SCHEMA_VERSION) {
    throw new ConfigError(
      `the latchkey schema in ${names.sessions} is at version ${version}, this latchkey needs version ${POSTGRES_SCHEMA_VERSION}; ` +
        'run `latchkey migrate` (migrate() of latchkey/stores/postgres) or open the store with migrate: true',
    );
  }
}

async function readVersion(exec: (text: string, values?: unknown[]) => Promise<QueryResult>, names: Names): Promise<number> {
  const res = await exec(`SELECT value FROM ${names.meta} WHERE key = 'schema_version'`);
  const row = res.rows[0] as { value: string } | undefined;
  return row === undefined ? 0 : Number(row.value);
}

function newerSchema(version: number, names: Names): ConfigError {
  return new ConfigError(
    `the database has latchkey schema version ${version} in ${names.meta}, newer than this version of latchkey supports (${POSTGRES_SCHEMA_VERSION}); upgrade latchkey`,
  );
}

/** Driver errors as latchkey errors: data PostgreSQL cannot hold is the caller's; anything else means the store failed. */
function translate(err: unknown): unknown {
  if (err instanceof LatchkeyError) return err;
  const code = codeOf(err);
  // 22P05: a \u0000 in JSONB; 22021: a NUL byte in a text column. Neither is storable in PostgreSQL.
  if (code === '22P05' || code === '22021') {
    return new InvalidDataError('session data or fields contain a \\u0000 character, which PostgreSQL cannot store');
  }
  return new StoreUnavailableError(`the PostgreSQL store is unavailable: ${whyFailed(err, code)}${code === undefined ? '' : ` (SQLSTATE ${code})`}; see cause`, {
    cause: err,
  });
}

/** Which kind of failure a driver error is, for the message (the error itself stays the cause). */
function whyFailed(err: unknown, code: string | undefined): string {
  const text = `${(err as { message?: unknown } | null)?.message ?? ''} ${(err as { code?: unknown } | null)?.code ?? ''}`;
  // 57014: statement_timeout; the client-side query_timeout and the connection timeout say "timeout".
  if (code === '57014' || /timeout|timed out/i.test(text)) return 'PostgreSQL did not answer in time';
  // Class 08: connection exceptions; 57P01-57P03: the server is shutting down or starting; 53300: no connection slot.
  if (code?.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300') return 'the connection to PostgreSQL is lost';
  if (/Connection terminated|ECONNREFUSED|ECONNRESET|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|not queryable|Client has encountered a connection error/i.test(text)) {
    return 'the connection to PostgreSQL is lost';
  }
  return 'PostgreSQL failed';
}

function codeOf(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

function ownPool(options: Pick<PostgresStoreOptions, 'connectionString' | 'pool' | 'poolConfig'>, settings: PoolConfig): Pool {
  if (options.pool !== undefined) {
    const p = options.pool as unknown;
    if (p === null || typeof p !== 'object' || typeof (p as Pool).query !== 'function' || typeof (p as Pool).connect !== 'function') {
      throw new ConfigError('pool must be a pg Pool (new pg.Pool(...))');
    }
    if (options.connectionString !== undefined || options.poolConfig !== undefined) {
      throw new ConfigError('give either pool, or connectionString and poolConfig, not both');
    }
    return options.pool;
  }
  if (options.connectionString !== undefined && (typeof options.connectionString !== 'string' || options.connectionString === '')) {
    throw new ConfigError('connectionString must be a non-empty string such as postgres://user@host:5432/db');
  }
  if (options.poolConfig !== undefined && (options.poolConfig === null || typeof options.poolConfig !== 'object')) {
    throw new ConfigError('poolConfig must be an object of pg Pool options');
  }
  return new pg.Pool({
    application_name: 'latchkey',
    keepAlive: true,
    ...options.poolConfig,
    ...(options.connectionString !== undefined ? { connectionString: options.connectionString } : {}),
    ...settings,
  });
}

const NAME = /^[a-z_][a-z0-9_]*$/;

function namesOf(options: Pick<PostgresStoreOptions, 'schema' | 'tablePrefix'>): Names {
  const schema = options.schema ?? 'public';
  if (typeof schema !== 'string' || !NAME.test(schema) || schema.length > 63) {
    throw new ConfigError(`schema must be 1 to 63 lower-case letters, digits and _, starting with a letter or _ (got ${JSON.stringify(schema)})`);
  }
  const prefix = options.tablePrefix ?? 'latchkey_';
  // The longest name made from it, "<prefix>sessions_expiry", must fit PostgreSQL's 63 bytes.
  if (typeof prefix !== 'string' || (prefix !== '' && !NAME.test(prefix)) || prefix.length > 48) {
    throw new ConfigError(
      `tablePrefix must be at most 48 lower-case letters, digits and _, starting with a letter or _ (got ${JSON.stringify(prefix)})`,
    );
  }
  return {
    schema,
    prefix,
    sessions: `${ident(schema)}.${ident(`${prefix}sessions`)}`,
    meta: `${ident(schema)}.${ident(`${prefix}meta`)}`,
    lockKey: `latchkey:${schema}.${prefix}`,
    tag: createHash('sha256').update(`${schema}.${prefix}`).digest('hex').slice(0, 10),
    channel: `latchkey_${createHash('sha256').update(`${schema}.${prefix}`).digest('hex').slice(0, 16)}`,
  };
}

function ident(name: string): string {
  return `"${name}"`;
}

function msOption(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(`${name} must be a positive whole number of milliseconds`);
  }
  return value;
}

function toValues(r: SessionRecord): unknown[] {
  return [
    r.handle,
    r.secretHash,
    r.userId,
    r.status,
    r.successor,
    r.createdAt,
    r.issuedAt,
    r.lastSeenAt,
    r.authTime,
    r.authLevel,
    r.idleExpiresAt,
    r.absoluteExpiresAt,
    r.expiresAt,
    r.version,
    JSON.stringify(r.data),
    r.client?.ip ?? null,
    r.client?.userAgent ?? null,
    r.client?.device.browser ?? null,
    r.client?.device.os ?? null,
    r.client?.device.type ?? null,
  ];
}

function fromRow(row: Row): SessionRecord {
  return recordFromRow(row, row.data as SessionData);
}
