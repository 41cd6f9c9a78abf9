/**
 * The SQLite store's drivers: the runtime's own SQLite where it has one
 * (`bun:sqlite` on Bun, `node:sqlite` on Node 22.13+ / 24 and Deno), else
 * better-sqlite3 (an optional peer dependency, the fallback on Node 20). One
 * file per driver implements the shared `Driver` (connection.ts); this one
 * picks among them. Drivers are loaded synchronously (the store opens its
 * file at construction), each at most once, and only when asked for or
 * needed.
 *
 * @module
 * @internal
 */
import { ConfigError } from '../../core/errors.js';
import { betterSqlite3 } from './better-sqlite3.js';
import { bunSqlite } from './bun-sqlite.js';
import { SQLITE_DRIVERS, type Connection, type Driver, type SqliteDatabase, type SqliteDriverName } from './connection.js';
import { nodeSqlite } from './node-sqlite.js';

export { SQLITE_DRIVERS, type Connection, type SqliteDatabase, type SqliteDriverName, type Statement } from './connection.js';

const DRIVERS: Record<SqliteDriverName, Driver> = { 'bun:sqlite': bunSqlite, 'node:sqlite': nodeSqlite, 'better-sqlite3': betterSqlite3 };

const loaded = new Map<SqliteDriverName, { ctor: unknown } | { error: unknown }>();

/** The driver's database class, or the reason it cannot be used here; loaded once. */
function load(name: SqliteDriverName): { ctor: unknown } | { error: unknown } {
  let got = loaded.get(name);
  if (got === undefined) {
    got = DRIVERS[name].load();
    loaded.set(name, got);
  }
  return got;
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

/** The first line of a load failure, for the ConfigError's message (which takes no cause). */
function reason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') return 'not installed';
  return String((err as Error | null)?.message ?? err).split('\n')[0] as string;
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

/** Opens `path` (created if missing unless `readonly`) with the driver `choice`. */
export function openDatabase(path: string, choice: SqliteDriverName | 'auto', options: { readonly?: boolean } = {}): Connection {
  const { name, ctor } = pick(choice);
  return DRIVERS[name].open(ctor, path, options.readonly === true);
}

/** A database the caller opened, with its driver recognised by its shape. */
export function useDatabase(db: SqliteDatabase): Connection {
  const driver = [betterSqlite3, bunSqlite, nodeSqlite].find((d) => d.owns(db)) as Driver;
  return driver.wrap(db);
}

/** SQLite's "another connection holds the lock" (SQLITE_BUSY and its extended codes), whichever driver threw it. */
export function isBusy(err: unknown): boolean {
  return SQLITE_DRIVERS.some((name) => DRIVERS[name].isBusy(err));
}

/** The driver's SQLite error code, for messages. */
export function errorCode(err: unknown): string | undefined {
  for (const name of SQLITE_DRIVERS) {
    const code = DRIVERS[name].errorCode(err);
    if (code !== undefined) return code;
  }
  return undefined;
}
