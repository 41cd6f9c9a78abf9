/**
 * What the SQLite store needs of a driver, the same for each of them
 * (better-sqlite3.ts, node-sqlite.ts, bun-sqlite.ts): statements whose rows
 * are arrays in column order, `exec`, a first-column read for pragmas, an
 * immediate transaction, and how to tell SQLite's "database is locked" among
 * the driver's errors. All three are SQLite itself: one file format.
 *
 * @module
 * @internal
 */

/** The SQLite drivers the store runs on, in the order `'auto'` prefers them. */
export const SQLITE_DRIVERS = ['bun:sqlite', 'node:sqlite', 'better-sqlite3'] as const;

/** One of {@link SQLITE_DRIVERS}. */
export type SqliteDriverName = (typeof SQLITE_DRIVERS)[number];

/**
 * An open database of one of the drivers (a better-sqlite3 `Database`, a
 * node:sqlite `DatabaseSync` or a bun:sqlite `Database`), typed by what the
 * three have in common so that no driver's types are needed to compile.
 */
export interface SqliteDatabase {
  prepare(sql: string): unknown;
  exec(sql: string): unknown;
  close(): unknown;
}

/** A prepared statement; rows are arrays in column order. */
export interface Statement {
  run(...params: unknown[]): { changes: number | bigint };
  get(...params: unknown[]): unknown[] | undefined;
  all(...params: unknown[]): unknown[][];
}

/** An open database, whichever driver. */
export interface Connection {
  readonly driver: SqliteDriverName;
  prepare(sql: string): Statement;
  exec(sql: string): void;
  /** The first column of the first row of `sql` (a pragma's value), or undefined. */
  value(sql: string): unknown;
  /** `fn` as one `BEGIN IMMEDIATE` transaction: committed when it returns, rolled back when it throws. */
  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
  close(): void;
}

/** One driver: how it loads, opens a file, recognises a database it opened, and reports a lock. */
export interface Driver {
  readonly name: SqliteDriverName;
  /** The driver's database class, or the reason it cannot be used in this runtime. Called once. */
  load(): { ctor: unknown } | { error: unknown };
  /** Opens `path` with the class `load()` gave (created if missing unless `readonly`). */
  open(ctor: unknown, path: string, readonly: boolean): Connection;
  /** Whether `db` is one of this driver's databases (by its shape). */
  owns(db: SqliteDatabase): boolean;
  /** `db`, opened by the caller. */
  wrap(db: SqliteDatabase): Connection;
  /** SQLite's "another connection holds the lock" (SQLITE_BUSY and its extended codes), as this driver throws it. */
  isBusy(err: unknown): boolean;
  /** The SQLite error code of `err` for messages, when it has one. */
  errorCode(err: unknown): string | undefined;
}

/** `value` on top of `prepare`, for the drivers whose statements already return arrays. */
export function firstValue(prepare: (sql: string) => Statement): (sql: string) => unknown {
  return (sql) => prepare(sql).get()?.[0];
}

/** The `code` of an error when it is one of SQLite's names (`SQLITE_IOERR`). */
export function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}
