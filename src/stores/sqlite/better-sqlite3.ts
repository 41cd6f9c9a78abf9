/**
 * better-sqlite3 (12.x, an optional peer dependency): the SQLite store's
 * driver on Node 20, which has no SQLite of its own. Statements are used as
 * they are, in raw mode (rows as arrays); transactions are its own.
 *
 * @module
 * @internal
 */
import { createRequire } from 'node:module';
import { firstValue, sqliteCode, type Connection, type Driver, type SqliteDatabase, type Statement } from './connection.js';

interface BetterStatement {
  reader: boolean;
  raw(on: boolean): BetterStatement;
}
interface BetterDatabase extends SqliteDatabase {
  pragma(sql: string, options?: { simple: boolean }): unknown;
  transaction<F extends (...args: never[]) => unknown>(fn: F): F & { immediate: F };
}
type BetterConstructor = new (path: string, options?: { readonly?: boolean; fileMustExist?: boolean }) => BetterDatabase;

function wrap(db: BetterDatabase): Connection {
  const prepare = (sql: string): Statement => {
    const s = db.prepare(sql) as BetterStatement;
    return (s.reader ? s.raw(true) : s) as unknown as Statement;
  };
  return {
    driver: 'better-sqlite3',
    prepare,
    exec: (sql) => void db.exec(sql),
    value: firstValue(prepare),
    transaction: (fn) => db.transaction(fn as (...args: never[]) => unknown).immediate as typeof fn,
    close: () => void db.close(),
  };
}

/** @internal */
export const betterSqlite3: Driver = {
  name: 'better-sqlite3',
  load() {
    try {
      const mod = createRequire(import.meta.url)('better-sqlite3') as BetterConstructor | { default: BetterConstructor };
      const ctor = typeof mod === 'function' ? mod : mod.default;
      // The native addon loads with the first database: a build for another Node ABI fails here, not later.
      new ctor(':memory:').close();
      return { ctor };
    } catch (error) {
      return { error };
    }
  },
  open: (ctor, path, readonly) => wrap(new (ctor as BetterConstructor)(path, readonly ? { readonly, fileMustExist: true } : {})),
  owns: (db) => typeof (db as Partial<BetterDatabase>).pragma === 'function',
  wrap: (db) => wrap(db as BetterDatabase),
  isBusy: (err) => sqliteCode(err)?.startsWith('SQLITE_BUSY') === true,
  errorCode: sqliteCode,
};
