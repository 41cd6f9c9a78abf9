/**
 * The embedded default store, on SQLite through better-sqlite3 (12.x, an
 * optional peer dependency). WAL journal, prepared statements, an index by
 * user and by expiry, and an immediate transaction around every
 * read-modify-write, so that several processes may share one database file.
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
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DataPatch, Store, StorePatchResult } from '../core/store.js';
import type { SessionData, SessionRecord } from '../core/model.js';
import { describe, durationOption, type Duration } from '../core/duration.js';
import { ClosedError, ConfigError, LatchkeyError, StoreUnavailableError } from '../core/errors.js';
import { recordFromRow, type SessionRow } from './sql-columns.js';

/** Options of {@link sqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * Database file; created with its folder if missing. `':memory:'` for a
   * private in-memory database.
   * @default './.latchkey/latchkey.db'
   */
  path?: string;
  /** Use this open better-sqlite3 database instead of opening `path`. It is not closed by `close()`. */
  database?: Database.Database;
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

const OPTION_NAMES = new Set(['path', 'database', 'synchronous', 'busyTimeout']);

/**
 * The synchronous part of a lock wait, in ms: the longest one attempt can
 * hold the event loop. SQLite's busy handler sleeps in small steps within it.
 */
const SLICE_MS = 5;

/** Pauses between attempts on a locked database, in ms: short at first, then about 40 attempts a second. */
const PAUSES = [1, 2, 4, 8, 16, 25];

/** Version of the schema this code writes; older schemas are migrated on open. */
export const SQLITE_SCHEMA_VERSION = 1;

const TABLE = 'latchkey_sessions';

type Row = SessionRow<string>;

const MIGRATIONS: readonly string[] = [
  // 1: the sessions table
  `CREATE TABLE ${TABLE} (
     handle TEXT PRIMARY KEY,
     secret_hash TEXT NOT NULL,
     user_id TEXT,
     status TEXT NOT NULL,
     successor TEXT,
     created_at INTEGER NOT NULL,
     issued_at INTEGER NOT NULL,
     last_seen_at INTEGER NOT NULL,
     auth_time INTEGER,
     auth_level INTEGER NOT NULL,
     idle_expires_at INTEGER NOT NULL,
     absolute_expires_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     version INTEGER NOT NULL,
     data TEXT NOT NULL,
     client_ip TEXT,
     client_ua TEXT,
     device_browser TEXT,
     device_os TEXT,
     device_type TEXT
   ) WITHOUT ROWID;
   CREATE INDEX ${TABLE}_user ON ${TABLE} (user_id) WHERE user_id IS NOT NULL;
   CREATE INDEX ${TABLE}_expiry ON ${TABLE} (expires_at);`,
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
  if (options === null || typeof options !== 'object') throw new TypeError('sqliteStore() takes an options object');
  for (const key of Object.keys(options)) {
    if (key === 'busyTimeoutMs') throw new ConfigError("busyTimeoutMs was replaced by busyTimeout, a duration such as '2s'");
    if (!OPTION_NAMES.has(key)) throw new ConfigError(`${describe(key)} is not an option of sqliteStore(); known options: ${[...OPTION_NAMES].join(', ')}`);
  }
  const sync = options.synchronous ?? 'normal';
  if (sync !== 'normal' && sync !== 'full') throw new ConfigError(`synchronous must be 'normal' or 'full'`);
  // Lowered (never raised) by the engines built over the store: see limitLockWaits.
  let waitMs = durationOption('busyTimeout', options.busyTimeout ?? '2s');

  let db: Database.Database;
  const owned = options.database === undefined;
  if (options.database !== undefined) {
    db = options.database;
  } else {
    const path = options.path ?? './.latchkey/latchkey.db';
    if (typeof path !== 'string' || path === '') throw new ConfigError('path must be a file path or ":memory:"');
    if (path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
  }
  // Opening may wait for another process's migration as long as a call may wait; nothing else runs yet.
  db.pragma(`busy_timeout = ${waitMs}`);
  if (db.pragma('journal_mode', { simple: true }) !== 'memory') db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${sync.toUpperCase()}`);
  migrate(db);
  db.pragma(`busy_timeout = ${SLICE_MS}`);

  const cols =
    'handle, secret_hash, user_id, status, successor, created_at, issued_at, last_seen_at, auth_time, auth_level, idle_expires_at, absolute_expires_at, expires_at, version, data, client_ip, client_ua, device_browser, device_os, device_type';
  const q = {
    insert: db.prepare(`INSERT OR IGNORE INTO ${TABLE} (${cols}) VALUES (${cols.split(', ').map((c) => `@${c}`).join(', ')})`),
    get: db.prepare(`SELECT * FROM ${TABLE} WHERE handle = ?`),
    touch: db.prepare(
      `UPDATE ${TABLE} SET last_seen_at = ?, idle_expires_at = ?, expires_at = ? WHERE handle = ? AND status = 'active'`,
    ),
    patchRead: db.prepare(`SELECT data, version FROM ${TABLE} WHERE handle = ? AND status = 'active' AND expires_at > ?`),
    patchWrite: db.prepare(`UPDATE ${TABLE} SET data = ?, version = version + 1 WHERE handle = ?`),
    oldForReplace: db.prepare(`SELECT version FROM ${TABLE} WHERE handle = ? AND status = 'active'`),
    exists: db.prepare(`SELECT 1 FROM ${TABLE} WHERE handle = ?`),
    entomb: db.prepare(
      `UPDATE ${TABLE} SET status = ?, successor = ?, expires_at = min(expires_at, ?), data = '{}' WHERE handle = ? AND status = 'active'`,
    ),
    revokeUser: db.prepare(
      `UPDATE ${TABLE} SET status = 'revoked', successor = NULL, expires_at = min(expires_at, ?), data = '{}'
       WHERE user_id = ? AND status = 'active' AND handle IS NOT ? RETURNING handle`,
    ),
    delete: db.prepare(`DELETE FROM ${TABLE} WHERE handle = ?`),
    listUser: db.prepare(`SELECT * FROM ${TABLE} WHERE user_id = ? AND status = 'active' ORDER BY created_at, issued_at`),
    sweep: db.prepare(
      `DELETE FROM ${TABLE} WHERE handle IN (SELECT handle FROM ${TABLE} WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
    ),
    ping: db.prepare('SELECT 1'),
  };

  const patchTx = db.transaction((handle: string, change: DataPatch, now: number, expectVersion: number | undefined): StorePatchResult => {
    const row = q.patchRead.get(handle, now) as { data: string; version: number } | undefined;
    if (row === undefined) return { ok: false, reason: 'not-found' };
    if (expectVersion !== undefined && row.version !== expectVersion) return { ok: false, reason: 'conflict' };
    const data = JSON.parse(row.data) as Record<string, unknown>;
    if (change.unset !== undefined) for (const k of change.unset) delete data[k];
    if (change.set !== undefined) for (const [k, v] of Object.entries(change.set)) data[k] = v;
    q.patchWrite.run(JSON.stringify(data), handle);
    return { ok: true, version: row.version + 1, data };
  });

  const replaceTx = db.transaction(
    (oldHandle: string, expectVersion: number, next: SessionRecord, status: string, successor: string | null, until: number): boolean => {
      const old = q.oldForReplace.get(oldHandle) as { version: number } | undefined;
      if (old === undefined || old.version !== expectVersion) return false;
      if (q.exists.get(next.handle) !== undefined) return false;
      q.entomb.run(status, successor, until, oldHandle);
      q.insert.run(toRow(next));
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

  const readRecord = (handle: string): SessionRecord | null => {
    const row = q.get.get(handle) as Row | undefined;
    return row === undefined ? null : fromRow(row);
  };

  return {
    capabilities: { expiresByItself: false, inProcess: true, lockWaits: true },

    limitLockWaits(ms) {
      if (Number.isFinite(ms) && ms >= 0) waitMs = Math.min(waitMs, ms);
    },

    create: (record) => run(() => q.insert.run(toRow(record)).changes === 1),

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

    patch: (handle, change, now, expectVersion) => run(() => patchTx.immediate(handle, change, now, expectVersion)),

    replace: (oldHandle, expectVersion, next, t) => run(() => replaceTx.immediate(oldHandle, expectVersion, next, t.status, t.successor, t.expiresAt)),

    revoke: (handle, until) => run(() => q.entomb.run('revoked', null, until, handle).changes === 1),

    revokeUser: (userId, until, except) =>
      run(() => (q.revokeUser.all(until, userId, except ?? null) as Array<{ handle: string }>).map((r) => r.handle)),

    delete: (handle) => run(() => q.delete.run(handle).changes === 1),

    listUser: (userId) => run(() => (q.listUser.all(userId) as Row[]).map(fromRow)),

    sweep: (now, limit) => run(() => q.sweep.run(now, limit).changes),

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

/** SQLite's "another connection holds the lock" (SQLITE_BUSY and its extended codes). */
function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** Any other failure of SQLite, as a store failure (latchkey's own errors as they are). */
function failure(err: unknown): LatchkeyError {
  if (err instanceof LatchkeyError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  return new StoreUnavailableError(`the SQLite store failed${typeof code === 'string' ? ` (${code})` : ''}; see cause`, { cause: err });
}

function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS latchkey_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  const run = db.transaction(() => {
    const row = db.prepare(`SELECT value FROM latchkey_meta WHERE key = 'schema_version'`).get() as { value: string } | undefined;
    const current = row === undefined ? 0 : Number(row.value);
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
  run.immediate();
}

function toRow(r: SessionRecord): Row {
  return {
    handle: r.handle,
    secret_hash: r.secretHash,
    user_id: r.userId,
    status: r.status,
    successor: r.successor,
    created_at: r.createdAt,
    issued_at: r.issuedAt,
    last_seen_at: r.lastSeenAt,
    auth_time: r.authTime,
    auth_level: r.authLevel,
    idle_expires_at: r.idleExpiresAt,
    absolute_expires_at: r.absoluteExpiresAt,
    expires_at: r.expiresAt,
    version: r.version,
    data: JSON.stringify(r.data),
    client_ip: r.client?.ip ?? null,
    client_ua: r.client?.userAgent ?? null,
    device_browser: r.client?.device.browser ?? null,
    device_os: r.client?.device.os ?? null,
    device_type: r.client?.device.type ?? null,
  };
}

function fromRow(row: Row): SessionRecord {
  return recordFromRow(row, row.data === '{}' ? EMPTY : (JSON.parse(row.data) as SessionData));
}

const EMPTY: SessionData = Object.freeze({});
