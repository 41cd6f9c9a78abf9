/**
 * The embedded default store, on SQLite: the runtime's own where it has one
 * (`node:sqlite` on Node 22.13+ / 24 and Deno, `bun:sqlite` on Bun), else
 * better-sqlite3 (12.x, an optional peer dependency: the fallback on Node 20).
 * One file format whichever driver writes it (sqlite/driver.ts). WAL journal, prepared statements, an index by
 * user and by expiry, and an immediate transaction around every
 * read-modify-write, so that several processes may share one database file.
 * The table's layout and row mapping are the PostgreSQL store's too
 * (sql-columns.ts); rows are bound and read as arrays in that column order.
 * The key-value facet lives in a table of its own (sqlite-values.ts).
 * Schema versions are recorded in `latchkey_meta`; an older schema is
 * migrated when the store opens (version 2, records that know their kind:
 * sql-kinds.ts), a newer one refused.
 *
 * Consistency: every operation is atomic, across processes too. Durability: a
 * call that resolved has been committed to the WAL; with the default
 * `synchronous: 'normal'` it survives a crash of the process (even SIGKILL),
 * and with `'full'` also a power loss.
 *
 * Invalidations: none across processes (`capabilities.invalidations` is not
 * declared). Processes sharing one file with the engine's `cache` on see each
 * other's revocations within the cache's `staleness`, not at once.
 *
 * Locks: while another connection holds the file's write lock (another
 * process in a write transaction), a write waits for it without stalling the
 * event loop: each attempt waits synchronously for at most a few milliseconds
 * (SQLite's `busy_timeout`), and attempts are retried on timers, so that
 * other requests of the process are served in between. A call still locked
 * out after `busyTimeout` (lowered to the engine's `storeTimeout`) rejects
 * with `StoreUnavailableError`: adapters answer 503.
 *
 * Failure: every error of SQLite (a lock held too long, an I/O error, a full
 * disk, a read-only file) rejects with `StoreUnavailableError`, the driver's
 * error as its `cause`.
 *
 * @module
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DataPatch, Store, StorePatchResult } from '../core/store.js';
import { checkCensus } from '../core/census.js';
import type { SessionData, SessionRecord } from '../core/model.js';
import { durationOption, type Duration } from '../core/duration.js';
import { ClosedError, ConfigError, LatchkeyError, StoreUnavailableError } from '../core/errors.js';
import { checkOptionKeys } from '../core/option-keys.js';
import { COLUMN_NAMES, COLUMNS, columnDefinitions, DATA, recordFromRow, rowValues, SCHEMA_1_COLUMNS, SQLITE } from './sql-columns.js';
import { kindsMigration, SQLITE_KINDS } from './sql-kinds.js';
import { sqliteValues } from './sqlite-values.js';
import { errorCode, isBusy, openDatabase, SQLITE_DRIVERS, useDatabase, type Connection, type SqliteDatabase, type SqliteDriverName } from './sqlite/driver.js';

export { sqliteDrivers, type SqliteDatabase, type SqliteDriverName } from './sqlite/driver.js';

/** Options of {@link sqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * Database file; created with its folder if missing. `':memory:'` for a
   * private in-memory database.
   * @default './.latchkey/latchkey.db'
   */
  path?: string;
  /**
   * The SQLite driver: `'auto'` takes the runtime's own SQLite where it has
   * one (`bun:sqlite` on Bun, `node:sqlite` on Node 22.13+ / 24 and Deno),
   * else better-sqlite3. Name one to insist on it (a `ConfigError` when it
   * is not usable here). {@link sqliteDrivers} lists the usable ones.
   * @default 'auto'
   */
  driver?: SqliteDriverName | 'auto';
  /**
   * Use this open database instead of opening `path`: a better-sqlite3
   * `Database`, a node:sqlite `DatabaseSync` or a bun:sqlite `Database`. It is
   * not closed by `close()`.
   */
  database?: SqliteDatabase;
  /**
   * `'normal'`: durable across process crashes; `'full'`: also across power loss, slower writes.
   * @default 'normal'
   */
  synchronous?: 'normal' | 'full';
  /**
   * The longest one call waits for another connection's write lock (another
   * process writing to the same file) before it rejects with
   * `StoreUnavailableError`. The wait never blocks the event loop for more
   * than a few milliseconds at a time. An engine over the store lowers it to
   * its `storeTimeout`.
   * @default '2s'
   */
  busyTimeout?: Duration;
}

const OPTION_NAMES = ['path', 'driver', 'database', 'synchronous', 'busyTimeout'];

/**
 * The synchronous part of a lock wait, in ms: the longest one attempt can
 * hold the event loop. SQLite's busy handler sleeps in small steps within it.
 */
const SLICE_MS = 5;

/** Pauses between attempts on a locked database, in ms: short at first, then about 40 attempts a second. */
const PAUSES = [1, 2, 4, 8, 16, 25];

/** Version of the schema this code writes; older schemas are migrated on open. */
export const SQLITE_SCHEMA_VERSION = 2;

const TABLE = 'latchkey_sessions';
const VALUES = 'latchkey_values';

const MIGRATIONS: readonly string[] = [
  // 1: the sessions table
  `CREATE TABLE ${TABLE} (
  ${columnDefinitions(SQLITE, SCHEMA_1_COLUMNS)}
   ) WITHOUT ROWID;
   CREATE INDEX ${TABLE}_user ON ${TABLE} (user_id) WHERE user_id IS NOT NULL;
   CREATE INDEX ${TABLE}_expiry ON ${TABLE} (expires_at);`,
  // 2: records know their kind; the key-value table; version 1's stand-in records become what they stood for
  kindsMigration(SQLITE_KINDS, { sessions: TABLE, values: VALUES, valuesExpiry: `${VALUES}_expiry` })
    .map((statement) => `${statement};`)
    .join('\n'),
];

/**
 * Creates an SQLite store.
 *
 * @example
 * ```ts
 * import { createSessions } from 'latchkey';
 * import { sqliteStore } from 'latchkey/stores/sqlite';
 *
 * const sessions = createSessions({ store: sqliteStore({ path: './data/sessions.db' }) });
 * ```
 */
export function sqliteStore(options: SqliteStoreOptions = {}): Store {
  checkOptionKeys(options, 'sqliteStore()', OPTION_NAMES, { retired: { busyTimeoutMs: "use busyTimeout, a duration such as '2s'" } });
  const sync = options.synchronous ?? 'normal';
  if (sync !== 'normal' && sync !== 'full') throw new ConfigError(`synchronous must be 'normal' or 'full'`);
  // Lowered (never raised) by the engines built over the store: see limitLockWaits.
  let waitMs = durationOption('busyTimeout', options.busyTimeout ?? '2s');

  const driver = options.driver ?? 'auto';
  if (driver !== 'auto' && !(SQLITE_DRIVERS as readonly string[]).includes(driver)) {
    throw new ConfigError(`driver must be 'auto' or one of ${SQLITE_DRIVERS.map((d) => `'${d}'`).join(', ')}`);
  }

  let db: Connection;
  const owned = options.database === undefined;
  if (options.database !== undefined) {
    if (typeof options.database?.prepare !== 'function') throw new ConfigError('database must be an open better-sqlite3, node:sqlite or bun:sqlite database');
    db = useDatabase(options.database);
  } else {
    const path = options.path ?? './.latchkey/latchkey.db';
    if (typeof path !== 'string' || path === '') throw new ConfigError('path must be a file path or ":memory:"');
    if (path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(path), { recursive: true });
    db = openDatabase(path, driver);
  }
  // Opening may wait for another process's migration as long as a call may wait; nothing else runs yet.
  db.exec(`PRAGMA busy_timeout = ${waitMs}`);
  if (db.value('PRAGMA journal_mode') !== 'memory') db.exec('PRAGMA journal_mode = WAL');
  db.exec(`PRAGMA synchronous = ${sync.toUpperCase()}`);
  migrate(db);
  db.exec(`PRAGMA busy_timeout = ${SLICE_MS}`);

  // Positional parameters and rows read as arrays (raw), in the shared column order: no name is
  // looked up per column on the way in, no object with a property per column is built on the way out.
  const params = COLUMNS.map(() => '?').join(', ');
  const q = {
    insert: db.prepare(`INSERT OR IGNORE INTO ${TABLE} (${COLUMN_NAMES}) VALUES (${params})`),
    get: db.prepare(`SELECT ${COLUMN_NAMES} FROM ${TABLE} WHERE handle = ?`),
    touch: db.prepare(
      `UPDATE ${TABLE} SET last_seen_at = ?, idle_expires_at = ?, expires_at = ? WHERE handle = ? AND status = 'active'`,
    ),
    patchRead: db.prepare(`SELECT data, version FROM ${TABLE} WHERE handle = ? AND status = 'active' AND expires_at > ?`),
    patchWrite: db.prepare(`UPDATE ${TABLE} SET data = ?, version = version + 1 WHERE handle = ?`),
    oldVersion: db.prepare(`SELECT version FROM ${TABLE} WHERE handle = ? AND status = 'active'`),
    exists: db.prepare(`SELECT 1 FROM ${TABLE} WHERE handle = ?`),
    entomb: db.prepare(
      `UPDATE ${TABLE} SET status = ?, successor = ?, expires_at = min(expires_at, ?), data = '{}' WHERE handle = ? AND status = 'active'`,
    ),
    revokeUser: db.prepare(
      `UPDATE ${TABLE} SET status = 'revoked', successor = NULL, expires_at = min(expires_at, ?), data = '{}'
       WHERE user_id = ? AND status = 'active' AND handle IS NOT ? RETURNING handle`,
    ),
    revokeUserKinds: db.prepare(
      `UPDATE ${TABLE} SET status = 'revoked', successor = NULL, expires_at = min(expires_at, ?), data = '{}'
       WHERE user_id = ? AND status = 'active' AND handle IS NOT ? AND kind IN (SELECT value FROM json_each(?)) RETURNING handle`,
    ),
    delete: db.prepare(`DELETE FROM ${TABLE} WHERE handle = ?`),
    listUser: db.prepare(`SELECT ${COLUMN_NAMES} FROM ${TABLE} WHERE user_id = ? AND status = 'active' ORDER BY created_at, issued_at`),
    sweep: db.prepare(
      `DELETE FROM ${TABLE} WHERE handle IN (SELECT handle FROM ${TABLE} WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
    ),
    censusTotals: db.prepare(
      `SELECT COUNT(*), COUNT(DISTINCT user_id) FROM ${TABLE} WHERE user_id IS NOT NULL AND status = 'active' AND expires_at > ? AND idle_expires_at > ? AND substr(user_id, 1, ?) = ?`,
    ),
    censusTop: db.prepare(
      `SELECT user_id, COUNT(*) AS n FROM ${TABLE} WHERE user_id IS NOT NULL AND status = 'active' AND expires_at > ? AND idle_expires_at > ? AND substr(user_id, 1, ?) = ? GROUP BY user_id ORDER BY n DESC, user_id LIMIT ?`,
    ),
    ping: db.prepare('SELECT 1'),
  };

  const patchTx = db.transaction((handle: string, change: DataPatch, now: number, expectVersion: number | undefined): StorePatchResult => {
    const row = q.patchRead.get(handle, now) as [data: string, version: number] | undefined;
    if (row === undefined) return { ok: false, reason: 'not-found' };
    const version = row[1];
    if (expectVersion !== undefined && version !== expectVersion) return { ok: false, reason: 'conflict' };
    const data = JSON.parse(row[0]) as Record<string, unknown>;
    if (change.unset !== undefined) for (const k of change.unset) delete data[k];
    if (change.set !== undefined) for (const [k, v] of Object.entries(change.set)) data[k] = v;
    q.patchWrite.run(JSON.stringify(data), handle);
    return { ok: true, version: version + 1, data };
  });

  const replaceTx = db.transaction(
    (oldHandle: string, expectVersion: number, next: SessionRecord, status: string, successor: string | null, until: number): boolean => {
      if (q.oldVersion.get(oldHandle)?.[0] !== expectVersion) return false;
      if (q.exists.get(next.handle) !== undefined) return false;
      q.entomb.run(status, successor, until, oldHandle);
      q.insert.run(...rowValues(next));
      return true;
    },
  );

  let closed = false;

  /**
   * Runs `op` again after a failed first attempt: on timers while the
   * database is locked (the event loop serves other requests in between),
   * until it succeeds or has waited `waitMs`. Every failure becomes a
   * `StoreUnavailableError`. Only failed calls get here: the common case
   * costs nothing more than a try.
   */
  async function retry<T>(op: () => T, first: unknown): Promise<T> {
    if (!isBusy(first)) throw failure(first);
    const started = performance.now();
    let last: unknown = first;
    for (let i = 0; ; i++) {
      const left = waitMs - (performance.now() - started);
      if (left <= 0) {
        throw new StoreUnavailableError(`the SQLite database stayed locked by another connection for ${waitMs} ms`, { cause: last });
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(PAUSES[Math.min(i, PAUSES.length - 1)] as number, left)));
      if (closed) throw new ClosedError('the SQLite store');
      try {
        return op();
      } catch (err) {
        if (!isBusy(err)) throw failure(err);
        last = err;
      }
    }
  }

  function rejectClosed(): Promise<never> {
    return Promise.reject(new ClosedError('the SQLite store'));
  }

  /** One call: tried once synchronously, a failure handed to retry(). */
  function run<T>(op: () => T): Promise<T> {
    if (closed) return rejectClosed();
    try {
      return Promise.resolve(op());
    } catch (err) {
      return retry(op, err);
    }
  }

  const values = sqliteValues(db, VALUES, run);

  const readRecord = (handle: string): SessionRecord | null => {
    const row = q.get.get(handle) as unknown[] | undefined;
    return row === undefined ? null : fromRow(row);
  };

  return {
    capabilities: { expiresByItself: false, inProcess: true, lockWaits: true },

    limitLockWaits(ms) {
      if (Number.isFinite(ms) && ms >= 0) waitMs = Math.min(waitMs, ms);
    },

    create: (record) => run(() => q.insert.run(...rowValues(record)).changes === 1),

    // The hot path, inline: no closure, no extra frame unless the first attempt fails.
    get(handle) {
      if (closed) return rejectClosed();
      try {
        return Promise.resolve(readRecord(handle));
      } catch (err) {
        return retry(() => readRecord(handle), err);
      }
    },

    touch: (handle, lastSeenAt, idleExpiresAt, expiresAt) => run(() => q.touch.run(lastSeenAt, idleExpiresAt, expiresAt, handle).changes === 1),

    patch: (handle, change, now, expectVersion) => run(() => patchTx(handle, change, now, expectVersion)),

    replace: (oldHandle, expectVersion, next, t) => run(() => replaceTx(oldHandle, expectVersion, next, t.status, t.successor, t.expiresAt)),

    revoke: (handle, until) => run(() => q.entomb.run('revoked', null, until, handle).changes === 1),

    revokeUser: (userId, until, except, kinds) =>
      run(() =>
        (kinds === undefined ? q.revokeUser.all(until, userId, except ?? null) : q.revokeUserKinds.all(until, userId, except ?? null, JSON.stringify(kinds))).map(
          (row) => row[0] as string,
        ),
      ),

    delete: (handle) => run(() => q.delete.run(handle).changes === 1),

    listUser: (userId) => run(() => (q.listUser.all(userId) as unknown[][]).map(fromRow)),

    sweep: (now, limit) =>
      run(() => {
        const records = Number(q.sweep.run(now, limit).changes);
        return records + values.sweep(now, limit - records);
      }),

    kv: values.kv,

    census: async (now, prefix, limit) => {
      checkCensus(now, prefix, limit);
      return run(() => {
        const args = [now, now, prefix.length, prefix];
        const [sessions, userCount] = q.censusTotals.get(...args) as [number, number];
        const users = (q.censusTop.all(...args, limit) as Array<[string, number]>).map(([userId, n]) => ({ userId, sessions: n }));
        return { sessions, userCount, users, complete: true };
      });
    },

    async ping() {
      if (closed) return false;
      try {
        return q.ping.get() !== undefined;
      } catch {
        return false;
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      if (owned) db.close();
    },
  };
}

/** Any other failure of SQLite, as a store failure (latchkey's own errors as they are). */
function failure(err: unknown): LatchkeyError {
  if (err instanceof LatchkeyError) return err;
  const code = errorCode(err);
  return new StoreUnavailableError(`the SQLite store failed${code !== undefined ? ` (${code})` : ''}; see cause`, { cause: err });
}

function migrate(db: Connection): void {
  db.exec('CREATE TABLE IF NOT EXISTS latchkey_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  const run = db.transaction(() => {
    const value = db.value(`SELECT value FROM latchkey_meta WHERE key = 'schema_version'`);
    const current = value === undefined ? 0 : Number(value);
    if (current > SQLITE_SCHEMA_VERSION) {
      throw new ConfigError(
        `the database has latchkey schema version ${current}, newer than this version of latchkey supports (${SQLITE_SCHEMA_VERSION}); upgrade latchkey`,
      );
    }
    for (let v = current; v < SQLITE_SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v] as string);
    db.prepare(`INSERT INTO latchkey_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(
      String(SQLITE_SCHEMA_VERSION),
    );
  });
  run();
}

/** A row as read (raw, in the shared column order): `data` is JSON text, most often `{}`. */
function fromRow(row: readonly unknown[]): SessionRecord {
  const text = row[DATA] as string;
  return recordFromRow(row, text === '{}' ? EMPTY : (JSON.parse(text) as SessionData));
}

const EMPTY: SessionData = Object.freeze({});
