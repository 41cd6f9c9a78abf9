import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/stores/sqlite.js';
import { postgresStore } from '../../src/stores/postgres/index.js';
import { sampleRecord } from '../../src/testing/store-contract.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../servers/postgres.js';

// Schema version 1 as latchkey 0.1 released it, written out by hand in each dialect. The stores now
// make it from one column list (src/stores/sql-columns.ts), then migration 2 adds the record's kind:
// a database must be the same table whichever latchkey created it and whichever way it got there.
const RELEASED_SQLITE = `CREATE TABLE latchkey_sessions (
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
   ) WITHOUT ROWID`;

const releasedPostgres = (t: string): string => `CREATE TABLE ${t} (
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
     )`;

const dir = mkdtempSync(join(tmpdir(), 'latchkey-layout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the SQL layout shared by the SQLite and PostgreSQL stores', () => {
  it('creates the SQLite table of schema 1 exactly as it was released, then adds the kind column of schema 2', async () => {
    const path = join(dir, 'layout.db');
    await sqliteStore({ path }).close();
    const db = new Database(path);
    const made = db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'latchkey_sessions'`).pluck().get() as string;
    db.close();
    const words = (sql: string): string => sql.replace(/\s+/g, ' ').replace(/\( /g, '(').replace(/ \)/g, ')');
    expect(words(made)).toBe(words(RELEASED_SQLITE.replace(/\)\s*WITHOUT ROWID$/, `, kind TEXT NOT NULL DEFAULT 'session') WITHOUT ROWID`)));
  });

  it('reads and writes a table created by the released SQLite schema', async () => {
    const path = join(dir, 'released.db');
    const db = new Database(path);
    db.exec(`${RELEASED_SQLITE};
      CREATE INDEX latchkey_sessions_user ON latchkey_sessions (user_id) WHERE user_id IS NOT NULL;
      CREATE INDEX latchkey_sessions_expiry ON latchkey_sessions (expires_at);
      CREATE TABLE latchkey_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO latchkey_meta VALUES ('schema_version', '1');`);
    db.close();
    const store = sqliteStore({ path });
    const r = sampleRecord({ data: { cart: [1, 2] } });
    await store.create(r);
    expect(await store.get(r.handle)).toEqual(r);
    expect(await store.listUser(r.userId as string)).toEqual([r]);
    await store.close();
  });

  const missing = postgresMissing();
  describe.skipIf(missing !== null)('on PostgreSQL', () => {
    let server: PostgresServer;
    let admin: pg.Pool;
    beforeAll(async () => {
      server = await startPostgres();
      admin = new pg.Pool({ connectionString: server.url, max: 2 });
    });
    afterAll(async () => {
      await admin?.end();
      await server?.stop();
    });

    /** Columns (order, type, nullability, collation) and constraints of a table, to compare two tables. */
    async function shape(schema: string, table: string): Promise<unknown> {
      const columns = await admin.query(
        `SELECT ordinal_position, column_name, data_type, is_nullable, collation_name FROM information_schema.columns
         WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
        [schema, table],
      );
      const constraints = await admin.query(
        `SELECT contype, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = to_regclass($1) ORDER BY contype, def`,
        [`${schema}.${table}`],
      );
      return { columns: columns.rows, constraints: constraints.rows };
    }

    it('creates the PostgreSQL table of schema 1 exactly as it was released, then adds the kind column of schema 2', async () => {
      const store = postgresStore({ connectionString: server.url, schema: 'made' });
      await store.ready();
      await store.close();
      await admin.query('CREATE SCHEMA released');
      await admin.query(releasedPostgres('released.latchkey_sessions'));
      await admin.query(`ALTER TABLE released.latchkey_sessions ADD COLUMN kind text COLLATE "C" NOT NULL DEFAULT 'session'`);
      const made = await shape('made', 'latchkey_sessions');
      expect((made as { columns: unknown[] }).columns).toHaveLength(21);
      expect(made).toEqual(await shape('released', 'latchkey_sessions'));
    });
  });
});
