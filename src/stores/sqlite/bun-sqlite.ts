/**
 * `bun:sqlite`, Bun's own SQLite: the SQLite store's driver on Bun.
 * Statements are wrapped once, at prepare, so that rows come back as arrays
 * (`values()`); transactions are Bun's own.
 *
 * @module
 * @internal
 */
import { firstValue, sqliteCode, type Connection, type Driver, type SqliteDatabase, type Statement } from './connection.js';
import { builtin } from './builtin.js';

interface BunStatement {
  run(...params: unknown[]): { changes: number };
  values(...params: unknown[]): unknown[][];
}
interface BunDatabase extends SqliteDatabase {
  query(sql: string): unknown;
  transaction<F extends (...args: never[]) => unknown>(fn: F): F & { immediate: F };
}
type BunConstructor = new (path: string, options?: { readonly?: boolean }) => BunDatabase;

function wrap(db: BunDatabase): Connection {
  const prepare = (sql: string): Statement => {
    const s = db.prepare(sql) as BunStatement;
    return { run: (...p) => s.run(...p), get: (...p) => s.values(...p)[0], all: (...p) => s.values(...p) };
  };
  return {
    driver: 'bun:sqlite',
    prepare,
    exec: (sql) => void db.exec(sql),
    value: firstValue(prepare),
    transaction: (fn) => db.transaction(fn as (...args: never[]) => unknown).immediate as typeof fn,
    close: () => void db.close(),
  };
}

/** @internal */
export const bunSqlite: Driver = {
  name: 'bun:sqlite',
  load() {
    const mod = 'Bun' in globalThis ? builtin('bun:sqlite') : null;
    return typeof mod?.Database === 'function' ? { ctor: mod.Database } : { error: new Error('bun:sqlite exists on Bun only') };
  },
  open: (ctor, path, readonly) => wrap(new (ctor as BunConstructor)(path, readonly ? { readonly: true } : {})),
  owns: (db) => typeof (db as Partial<BunDatabase>).query === 'function',
  wrap: (db) => wrap(db as BunDatabase),
  isBusy: (err) => sqliteCode(err)?.startsWith('SQLITE_BUSY') === true,
  errorCode: sqliteCode,
};
