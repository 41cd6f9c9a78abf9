/**
 * The SQLite store on each driver this runtime has: the runtime's own SQLite
 * (node:sqlite on Node 22.13+ and 24; bun:sqlite and Deno's node:sqlite are
 * driven by test/runtimes/) and better-sqlite3. On Node 20 only
 * better-sqlite3 exists; `npm run test:node24` runs this file with both
 * node:sqlite and better-sqlite3, so the pairs below run there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/sessions.js';
import { ConfigError } from '../../src/core/errors.js';
import { sqliteDrivers, sqliteStore, type SqliteDatabase, type SqliteDriverName } from '../../src/stores/sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'latchkey-sqlite-drivers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const drivers = sqliteDrivers();
const require = createRequire(import.meta.url);
let n = 0;

/** An open database of `driver`, through the driver's own API. */
function openWith(driver: SqliteDriverName, path: string): SqliteDatabase {
  if (driver === 'better-sqlite3') {
    const Database = require('better-sqlite3') as new (path: string) => SqliteDatabase;
    return new Database(path);
  }
  const { DatabaseSync } = require('node:sqlite') as { DatabaseSync: new (path: string) => SqliteDatabase };
  return new DatabaseSync(path);
}

describe('the SQLite store’s drivers', () => {
  it("runs on the runtime's own SQLite where it has one (node:sqlite from Node 22.13), else on better-sqlite3", () => {
    const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
    const own = major > 22 || (major === 22 && minor >= 13);
    expect(drivers[0]).toBe(own ? 'node:sqlite' : 'better-sqlite3');
    expect(drivers).not.toContain('bun:sqlite');
  });

  it('refuses a driver the runtime does not have, and one it does not know, at construction', () => {
    expect(() => sqliteStore({ path: join(dir, 'refused.db'), driver: 'bun:sqlite' })).toThrow(
      new ConfigError('the SQLite driver bun:sqlite is not usable here (bun:sqlite exists on Bun only)'),
    );
    expect(() => sqliteStore({ path: join(dir, 'refused.db'), driver: 'sqlite3' as never })).toThrow(
      new ConfigError("driver must be 'auto' or one of 'bun:sqlite', 'node:sqlite', 'better-sqlite3'"),
    );
    expect(() => sqliteStore({ database: {} as SqliteDatabase })).toThrow(new ConfigError('database must be an open better-sqlite3, node:sqlite or bun:sqlite database'));
  });

  it.each(drivers)('takes a database opened with %s through the database option, and leaves it open when the store closes', async (driver) => {
    const db = openWith(driver, join(dir, `given-${n++}.db`));
    const store = sqliteStore({ database: db });
    const sessions = createSessions({ store, sweepInterval: false });
    const { token } = await sessions.create({ userId: 'ann', data: { cart: ['tea'] } });
    const checked = await sessions.validate(token);
    expect(checked.ok && checked.session.data).toEqual({ cart: ['tea'] });
    await sessions.close();
    await store.close();
    // Still open: the caller's to close.
    expect(() => db.exec('SELECT 1')).not.toThrow();
    db.close();
  });

  const pairs = drivers.flatMap((a) => drivers.filter((b) => b !== a).map((b) => [a, b] as const));
  describe.skipIf(pairs.length === 0)('one file format', () => {
    it.each(pairs)('reads and writes with %s a file written with %s', async (reader, writer) => {
      const path = join(dir, `shared-${n++}.db`);
      const first = sqliteStore({ path, driver: writer });
      const a = createSessions({ store: first, sweepInterval: false });
      const { token, session } = await a.create({ userId: 'ann', data: { n: 1 } });
      await a.close();
      await first.close();

      const second = sqliteStore({ path, driver: reader });
      const b = createSessions({ store: second, sweepInterval: false });
      const read = await b.validate(token);
      expect(read.ok && read.session.data).toEqual({ n: 1 });
      await b.patch(session.handle, { set: { n: 2 } });
      await b.close();
      await second.close();

      const third = sqliteStore({ path, driver: writer });
      expect((await third.get(session.handle))?.data).toEqual({ n: 2 });
      await third.close();
    });
  });
});
