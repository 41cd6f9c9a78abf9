/**
 * The SQLite store's drivers: the runtime's own SQLite where it has one
 * (`bun:sqlite` on Bun, `node:sqlite` on Node 22.13+ / 24 and Deno), else
 * better-sqlite3 (an optional peer dependency, the fallback on Node 20). All
 * three are SQLite itself, so one database file is read and written alike by
 * each of them (the file format is SQLite's).
 *
 * What the store needs of a driver is small and is the same shape for all
 * three: statements whose rows are arrays in column order (`raw` in
 * better-sqlite3, `setReturnArrays` in node:sqlite, `values()` in
 * bun:sqlite), `exec`, a first-column read for pragmas, and an immediate
 * transaction. better-sqlite3 and node:sqlite statements are used as they are
 * (no wrapper on the hot path); bun:sqlite's are wrapped once at prepare.
 *
 * Drivers are loaded synchronously (the store opens its file at
 * construction): builtins through `process.getBuiltinModule` or `require`,
 * better-sqlite3 through `require`, and only when asked for or needed.
 *
 * @module
 * @internal
 */
import { createRequire } from 'node:module';
import { ConfigError } from '../../core/errors.js';

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

interface BetterStatement {
  reader: boolean;
  raw(on: boolean): BetterStatement;
}
interface BetterDatabase extends SqliteDatabase {
  pragma(sql: string, options?: { simple: boolean }): unknown;
  transaction<F extends (...args: never[]) => unknown>(fn: F): F & { immediate: F };
}
type BetterConstructor = new (path: string, options?: { readonly?: boolean; fileMustExist?: boolean }) => BetterDatabase;

interface NodeStatement {
  setReturnArrays?(on: boolean): void;
}
type NodeConstructor = new (path: string, options?: { readOnly?: boolean }) => SqliteDatabase;

interface BunStatement {
  run(...params: unknown[]): { changes: number };
  values(...params: unknown[]): unknown[][];
}
interface BunDatabase extends SqliteDatabase {
  query(sql: string): unknown;
  transaction<F extends (...args: never[]) => unknown>(fn: F): F & { immediate: F };
}
type BunConstructor = new (path: string, options?: { readonly?: boolean; create?: boolean }) => BunDatabase;

const require = createRequire(import.meta.url);

/** A builtin module, or null where the runtime has none by that name (or hides it behind a flag). */
function builtin(id: string): Record<string, unknown> | null {
  try {
    const getBuiltin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
    const mod = (getBuiltin?.(id) ?? require(id)) as Record<string, unknown> | undefined;
    return mod ?? null;
  } catch {
    return null;
  }
}

const loaded = new Map<SqliteDriverName, { ctor: unknown } | { error: unknown }>();

/** The driver's database class, or the reason it cannot be used here. */
function load(name: SqliteDriverName): { ctor: unknown } | { error: unknown } {
  const known = loaded.get(name);
  if (known !== undefined) return known;
  let result: { ctor: unknown } | { error: unknown };
  if (name === 'bun:sqlite') {
    const mod = 'Bun' in globalThis ? builtin('bun:sqlite') : null;
    result = typeof mod?.Database === 'function' ? { ctor: mod.Database } : { error: new Error('bun:sqlite exists on Bun only') };
  } else if (name === 'node:sqlite') {
    const mod = builtin('node:sqlite');
    result = typeof mod?.DatabaseSync === 'function' ? { ctor: mod.DatabaseSync } : { error: new Error('this runtime has no node:sqlite (Node 22.13+, 24, Deno)') };
  } else {
    try {
      const mod = require('better-sqlite3') as BetterConstructor | { default: BetterConstructor };
      const ctor = typeof mod === 'function' ? mod : mod.default;
      // The native addon loads with the first database: a build for another Node ABI fails here, not later.
      new ctor(':memory:').close();
      result = { ctor };
    } catch (error) {
      result = { error };
    }
  }
  loaded.set(name, result);
  return result;
}

/**
 * The drivers usable in this runtime, in the order the store's `driver:
 * 'auto'` tries them: the runtime's own SQLite first, better-sqlite3 last.
 *
 * @example
 * ```ts
 * import { sqliteDrivers } from 'latchkey/stores/sqlite';
 *
 * console.log(sqliteDrivers()); // on Node 24 with better-sqlite3 installed: ['node:sqlite', 'better-sqlite3']
 * ```
 */
export function sqliteDrivers(): SqliteDriverName[] {
  return SQLITE_DRIVERS.filter((name) => 'ctor' in load(name));
}

/** The driver `choice` names, loaded; `'auto'`: the first usable one. A clear ConfigError when there is none. */
function pick(choice: SqliteDriverName | 'auto'): { name: SqliteDriverName; ctor: unknown } {
  if (choice !== 'auto') {
    const got = load(choice);
    if ('ctor' in got) return { name: choice, ctor: got.ctor };
    const hint = choice === 'better-sqlite3' ? ': npm install better-sqlite3 (and rebuild it for this Node: npm rebuild better-sqlite3)' : '';
    throw new ConfigError(`the SQLite driver ${choice} is not usable here (${reason(got.error)})${hint}`);
  }
  for (const name of SQLITE_DRIVERS) {
    const got = load(name);
    if ('ctor' in got) return { name, ctor: got.ctor };
  }
  throw new ConfigError(
    'the SQLite store needs the runtime\'s own SQLite (node:sqlite on Node 22.13+ and 24, Deno; bun:sqlite on Bun) or, on Node 20, the "better-sqlite3" package: npm install better-sqlite3' +
      ` (better-sqlite3: ${reason((load('better-sqlite3') as { error: unknown }).error)})`,
  );
}

/** The first line of a load failure, for the ConfigError's message (which takes no cause). */
function reason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') return 'not installed';
  return String((err as Error | null)?.message ?? err).split('\n')[0] as string;
}

/** Which driver an open database belongs to, by its shape. */
function driverOf(db: SqliteDatabase): SqliteDriverName {
  if (typeof (db as Partial<BetterDatabase>).pragma === 'function') return 'better-sqlite3';
  if (typeof (db as Partial<BunDatabase>).query === 'function') return 'bun:sqlite';
  return 'node:sqlite';
}

/** Opens `path` (created if missing unless `readonly`) with the driver `choice`. */
export function openDatabase(path: string, choice: SqliteDriverName | 'auto', options: { readonly?: boolean } = {}): Connection {
  const { name, ctor } = pick(choice);
  const readonly = options.readonly === true;
  if (name === 'better-sqlite3') return wrap(new (ctor as BetterConstructor)(path, readonly ? { readonly, fileMustExist: true } : {}), name);
  if (name === 'node:sqlite') return wrap(new (ctor as NodeConstructor)(path, readonly ? { readOnly: true } : {}), name);
  return wrap(new (ctor as BunConstructor)(path, readonly ? { readonly: true } : {}), name);
}

/** A database the caller opened, with its driver recognised. */
export function useDatabase(db: SqliteDatabase): Connection {
  return wrap(db, driverOf(db));
}

function wrap(db: SqliteDatabase, driver: SqliteDriverName): Connection {
  const prepare = preparer(db, driver);
  const transaction = transactions(db, driver, prepare);
  return {
    driver,
    prepare,
    exec: (sql) => void db.exec(sql),
    value: (sql) => prepare(sql).get()?.[0],
    transaction,
    close: () => void db.close(),
  };
}

/** How statements are prepared so that rows come back as arrays. */
function preparer(db: SqliteDatabase, driver: SqliteDriverName): (sql: string) => Statement {
  if (driver === 'better-sqlite3') {
    return (sql) => {
      const s = db.prepare(sql) as BetterStatement;
      return (s.reader ? s.raw(true) : s) as unknown as Statement;
    };
  }
  if (driver === 'node:sqlite') {
    return (sql) => {
      const s = db.prepare(sql) as NodeStatement & Statement;
      if (typeof s.setReturnArrays === 'function') {
        s.setReturnArrays(true);
        return s;
      }
      // Node 22.13–22.15 and older Deno: rows as objects, whose keys keep the column order (no column name is numeric).
      return {
        run: (...p) => s.run(...p),
        get: (...p) => {
          const row = s.get(...p) as Record<string, unknown> | undefined;
          return row === undefined ? undefined : Object.values(row);
        },
        all: (...p) => (s.all(...p) as unknown as Array<Record<string, unknown>>).map((row) => Object.values(row)),
      };
    };
  }
  return (sql) => {
    const s = db.prepare(sql) as BunStatement;
    return { run: (...p) => s.run(...p), get: (...p) => s.values(...p)[0], all: (...p) => s.values(...p) };
  };
}

/** Immediate transactions: the driver's own where it has them, else BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
function transactions(db: SqliteDatabase, driver: SqliteDriverName, prepare: (sql: string) => Statement): Connection['transaction'] {
  if (driver !== 'node:sqlite') {
    return (fn) => (db as BetterDatabase | BunDatabase).transaction(fn as (...args: never[]) => unknown).immediate as typeof fn;
  }
  let control: { begin: Statement; commit: Statement; rollback: Statement } | undefined;
  return (fn) =>
    (...args) => {
      control ??= { begin: prepare('BEGIN IMMEDIATE'), commit: prepare('COMMIT'), rollback: prepare('ROLLBACK') };
      control.begin.run();
      try {
        const result = fn(...args);
        control.commit.run();
        return result;
      } catch (err) {
        // After a failed statement or COMMIT the transaction is still open: end it, keep the first error.
        try {
          control.rollback.run();
        } catch {
          // already rolled back by SQLite
        }
        throw err;
      }
    };
}

/** SQLite's "another connection holds the lock" (SQLITE_BUSY and its extended codes), whichever driver threw it. */
export function isBusy(err: unknown): boolean {
  const e = err as { code?: unknown; errcode?: unknown; message?: unknown } | null;
  if (typeof e?.code === 'string' && e.code.startsWith('SQLITE_BUSY')) return true; // better-sqlite3, bun:sqlite
  if (e?.code !== 'ERR_SQLITE_ERROR') return false;
  if (typeof e.errcode === 'number') return (e.errcode & 0xff) === 5; // node:sqlite
  return typeof e.message === 'string' && e.message.startsWith('database is locked'); // Deno's node:sqlite, from exec
}

/** The driver's error code, for messages: `SQLITE_IOERR`, or node:sqlite's numeric code. */
export function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; errcode?: unknown } | null;
  if (typeof e?.code === 'string' && e.code.startsWith('SQLITE_')) return e.code;
  if (typeof e?.errcode === 'number') return `SQLite error ${e.errcode}`;
  return undefined;
}
