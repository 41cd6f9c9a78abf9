/**
 * `node:sqlite`, the SQLite of Node 22.13+ and 24 and of Deno: the SQLite
 * store's driver there. Statements return arrays (`setReturnArrays`, Node
 * 22.16+ and 24; older ones map each row's values, in column order);
 * transactions are `BEGIN IMMEDIATE` / `COMMIT` / `ROLLBACK`.
 *
 * @module
 * @internal
 */
import { firstValue, type Connection, type Driver, type SqliteDatabase, type Statement } from './connection.js';
import { builtin } from './builtin.js';

interface NodeStatement extends Statement {
  setReturnArrays?(on: boolean): void;
}
type NodeConstructor = new (path: string, options?: { readOnly?: boolean }) => SqliteDatabase;

function prepareWith(db: SqliteDatabase): (sql: string) => Statement {
  return (sql) => {
    const s = db.prepare(sql) as NodeStatement;
    if (typeof s.setReturnArrays === 'function') {
      s.setReturnArrays(true);
      return s;
    }
    // Rows as objects, whose keys keep the column order (no column name is numeric).
    return {
      run: (...p) => s.run(...p),
      get: (...p) => {
        const row = s.get(...p) as unknown as Record<string, unknown> | undefined;
        return row === undefined ? undefined : Object.values(row);
      },
      all: (...p) => (s.all(...p) as unknown as Array<Record<string, unknown>>).map((row) => Object.values(row)),
    };
  };
}

function wrap(db: SqliteDatabase): Connection {
  const prepare = prepareWith(db);
  let control: { begin: Statement; commit: Statement; rollback: Statement } | undefined;
  return {
    driver: 'node:sqlite',
    prepare,
    exec: (sql) => void db.exec(sql),
    value: firstValue(prepare),
    transaction:
      (fn) =>
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
      },
    close: () => void db.close(),
  };
}

/** @internal */
export const nodeSqlite: Driver = {
  name: 'node:sqlite',
  load() {
    const mod = builtin('node:sqlite');
    return typeof mod?.DatabaseSync === 'function' ? { ctor: mod.DatabaseSync } : { error: new Error('this runtime has no node:sqlite (Node 22.13+, 24, Deno)') };
  },
  open: (ctor, path, readonly) => wrap(new (ctor as NodeConstructor)(path, readonly ? { readOnly: true } : {})),
  // What is neither better-sqlite3's (pragma) nor Bun's (query): checked last.
  owns: () => true,
  wrap,
  isBusy(err) {
    const e = err as { code?: unknown; errcode?: unknown; message?: unknown } | null;
    if (e?.code !== 'ERR_SQLITE_ERROR') return false;
    if (typeof e.errcode === 'number') return (e.errcode & 0xff) === 5;
    // Deno's node:sqlite gives no errcode for errors of exec(): SQLite's message for SQLITE_BUSY.
    return typeof e.message === 'string' && e.message.startsWith('database is locked');
  },
  errorCode(err) {
    const errcode = (err as { errcode?: unknown } | null)?.errcode;
    return typeof errcode === 'number' ? `SQLite error ${errcode}` : undefined;
  },
};
