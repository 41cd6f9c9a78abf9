import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessions, type ValidateResult } from '../../src/core/sessions.js';
import { ConfigError, InvalidDataError, StoreUnavailableError } from '../../src/core/errors.js';
import { migrate, postgresStore, POSTGRES_SCHEMA_VERSION, type PostgresStoreOptions } from '../../src/stores/postgres/index.js';
import { sampleRecord } from '../../src/testing/store-contract.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../servers/postgres.js';

// One server for this file; each test works on tables of its own (its own prefix or schema).
const missing = postgresMissing();
let server: PostgresServer;
let admin: pg.Pool;
let n = 0;
const fresh = (): string => `s${n++}_`;

describe.skipIf(missing !== null)('the PostgreSQL store', () => {
  beforeAll(async () => {
    server = await startPostgres();
    admin = new pg.Pool({ connectionString: server.url, max: 2 });
    admin.on('error', () => {});
  });
  afterAll(async () => {
    await admin?.end();
    await server?.stop();
  });

  const open = (options: PostgresStoreOptions = {}) => postgresStore({ connectionString: server.url, ...options });

  describe('schema and migrations', () => {
    it('creates its tables, indexes and schema version in an empty database', async () => {
      const store = open({ schema: 'fresh_app', tablePrefix: 'lk_' });
      await store.ready();
      await store.close();
      expect(store.tables).toEqual({ sessions: '"fresh_app"."lk_sessions"', meta: '"fresh_app"."lk_meta"', values: '"fresh_app"."lk_values"', events: '"fresh_app"."lk_events"' });
      const meta = await admin.query(`SELECT key, value FROM fresh_app.lk_meta`);
      expect(meta.rows).toEqual([{ key: 'schema_version', value: String(POSTGRES_SCHEMA_VERSION) }]);
      const indexes = await admin.query(`SELECT indexname FROM pg_indexes WHERE schemaname = 'fresh_app' ORDER BY indexname`);
      expect(indexes.rows.map((r) => r.indexname)).toEqual(['lk_events_pkey', 'lk_events_ring', 'lk_meta_pkey', 'lk_sessions_expiry', 'lk_sessions_pkey', 'lk_sessions_user', 'lk_values_expiry', 'lk_values_pkey']);
      const data = await admin.query(
        `SELECT data_type FROM information_schema.columns WHERE table_schema = 'fresh_app' AND table_name = 'lk_sessions' AND column_name = 'data'`,
      );
      expect(data.rows).toEqual([{ data_type: 'jsonb' }]);
    });

    it('reopens an existing schema with its data and migrates nothing twice', async () => {
      const prefix = fresh();
      const first = open({ tablePrefix: prefix });
      const r = sampleRecord({ data: { cart: [1, 2] } });
      await first.create(r);
      await first.close();
      const again = open({ tablePrefix: prefix });
      expect(await again.get(r.handle)).toEqual(r);
      await again.close();
      expect(await migrate({ connectionString: server.url, tablePrefix: prefix })).toEqual({ from: POSTGRES_SCHEMA_VERSION, to: POSTGRES_SCHEMA_VERSION });
    });

    it('lets several instances open an empty database at once without a race', async () => {
      const prefix = fresh();
      const stores = Array.from({ length: 8 }, () => open({ tablePrefix: prefix }));
      await Promise.all(stores.map((s) => s.ready()));
      const r = sampleRecord();
      await stores[0]?.create(r);
      for (const s of stores) expect((await s.get(r.handle))?.handle).toBe(r.handle);
      await Promise.all(stores.map((s) => s.close()));
      const meta = await admin.query(`SELECT value FROM public.${prefix}meta`);
      expect(meta.rows).toEqual([{ value: String(POSTGRES_SCHEMA_VERSION) }]);
    });

    it('with migrate: false, refuses an unmigrated database until migrate() has run', async () => {
      const prefix = fresh();
      const store = open({ tablePrefix: prefix, migrate: false });
      await expect(store.ready()).rejects.toThrow(ConfigError);
      await expect(store.get(sampleRecord().handle)).rejects.toThrow(/is at version 0, this latchkey needs version 3; run `latchkey migrate`/);
      expect(await migrate({ connectionString: server.url, tablePrefix: prefix })).toEqual({ from: 0, to: POSTGRES_SCHEMA_VERSION });
      const r = sampleRecord();
      expect(await store.create(r)).toBe(true);
      expect(await store.get(r.handle)).toEqual(r);
      await store.close();
    });

    it('runs with a database user that may only read and write rows, once the schema is migrated', async () => {
      const prefix = fresh();
      await admin.query(`DO $$ BEGIN CREATE ROLE app LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
      await migrate({ connectionString: server.url, tablePrefix: prefix });
      await admin.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON public.${prefix}sessions, public.${prefix}values TO app`);
      await admin.query(`GRANT SELECT ON public.${prefix}meta TO app`);
      const asApp = server.url.replace('postgres://postgres@', 'postgres://app@');
      for (const migrateOnOpen of [true, false]) {
        const store = postgresStore({ connectionString: asApp, tablePrefix: prefix, migrate: migrateOnOpen });
        const r = sampleRecord();
        expect(await store.create(r)).toBe(true);
        expect(await store.get(r.handle)).toEqual(r);
        expect(await store.kv.set('apikeys', `k${migrateOnOpen}`, { value: 'v', expiresAt: null }, 0, 'if-absent')).toBe(true);
        await store.close();
      }
      const unmigrated = postgresStore({ connectionString: asApp, tablePrefix: fresh() });
      await expect(unmigrated.ready()).rejects.toThrow(/the database user may not create or change latchkey's tables/);
      await unmigrated.close();
    });

    it('refuses a schema written by a newer latchkey rather than guess at it', async () => {
      const prefix = fresh();
      await migrate({ connectionString: server.url, tablePrefix: prefix });
      await admin.query(`UPDATE public.${prefix}meta SET value = '99' WHERE key = 'schema_version'`);
      for (const migrateOnOpen of [true, false]) {
        const store = open({ tablePrefix: prefix, migrate: migrateOnOpen });
        await expect(store.ready()).rejects.toThrow(/schema version 99 in "public"\."s\d+_meta", newer than this version of latchkey supports \(3\)/);
        const sessions = createSessions({ store, sweepInterval: false });
        await expect(sessions.create({ userId: 'u1' })).rejects.toThrow(ConfigError);
        await sessions.close();
        await store.close();
      }
      await expect(migrate({ connectionString: server.url, tablePrefix: prefix })).rejects.toThrow(ConfigError);
    });

    it('uses its indexes: the primary key to get, the partial user index to list and revoke, the expiry index to sweep', async () => {
      const prefix = fresh();
      // One connection, so that the store's prepared statements are there to EXPLAIN.
      const pool = new pg.Pool({ connectionString: server.url, max: 1 });
      const store = postgresStore({ pool, tablePrefix: prefix });
      await store.ready();
      await pool.query(
        `INSERT INTO ${store.tables.sessions} (handle, secret_hash, user_id, status, created_at, issued_at, last_seen_at, auth_level,
           idle_expires_at, absolute_expires_at, expires_at, version, data)
         SELECT 'h' || i, 'x', 'u' || (i % 2000), CASE WHEN i % 10 = 0 THEN 'revoked' ELSE 'active' END, i, i, i, 0,
           1000000 + i, 1000000 + i, 1000000 + i, 1, '{}' FROM generate_series(1, 20000) i`,
      );
      await pool.query(`ANALYZE ${store.tables.sessions}`);
      const r = sampleRecord({ userId: 'u7' });
      await store.create(r);
      await store.get(r.handle);
      await store.listUser('u7');
      await store.revokeUser('nobody', 0);
      await store.sweep(0, 10);
      await store.kv.get('apikeys', 'k', 0);
      const prepared = await pool.query(`SELECT name FROM pg_prepared_statements WHERE name LIKE 'latchkey_%'`);
      const name = (op: string) => prepared.rows.map((x) => x.name as string).find((x) => new RegExp(`^latchkey_[0-9a-f]{10}_${op}$`).test(x));
      const plan = async (op: string, args: string) =>
        (await pool.query(`EXPLAIN EXECUTE ${name(op)}(${args})`)).rows.map((x) => x['QUERY PLAN']).join('\n');
      expect(await plan('get', `'h5'`)).toMatch(new RegExp(`Index Scan using ${prefix}sessions_pkey`));
      const byUser = new RegExp(`Index Scan (using|on) ${prefix}sessions_user`);
      expect(await plan('list_user', `'u7'`)).toMatch(byUser);
      expect(await plan('revoke_user', `'u7', 0, NULL, 'channel', NULL`)).toMatch(byUser);
      expect(await plan('kv_get', `'apikeys', 'k', 0`)).toMatch(new RegExp(`Index Scan using ${prefix}values_pkey`));
      expect(await plan('kv_sweep', '1000010, 10')).toMatch(new RegExp(`Index Scan using ${prefix}values_expiry|Bitmap Index Scan on ${prefix}values_expiry`));
      const sweep = await plan('sweep', '1000010, 10');
      expect(sweep).toMatch(new RegExp(`Index Scan using ${prefix}sessions_expiry`));
      expect(sweep).toMatch(/Tid Scan/);
      expect(sweep).not.toMatch(/Seq Scan/);
      await store.close();
      await pool.end();
    });
  });

  describe('several instances', () => {
    it('see each other’s revocations at once', async () => {
      const prefix = fresh();
      const stores = [open({ tablePrefix: prefix }), open({ tablePrefix: prefix })] as const;
      const a = createSessions({ store: stores[0], sweepInterval: false });
      const b = createSessions({ store: stores[1], sweepInterval: false });
      const one = await a.create({ userId: 'u1' });
      const two = await a.create({ userId: 'u1' });
      expect((await b.validate(one.token)).ok).toBe(true);
      expect(await b.revoke(one.session.handle)).toBe(true);
      expect(await a.validate(one.token)).toEqual({ ok: false, reason: 'revoked' });
      expect((await b.validate(two.token)).ok).toBe(true);
      expect(await a.revokeUser('u1')).toEqual([two.session.handle]);
      expect(await b.validate(two.token)).toEqual({ ok: false, reason: 'revoked' });
      await Promise.all([a.close(), b.close()]);
      await Promise.all(stores.map((s) => s.close()));
    });

    it('sweep every expired row exactly once when they sweep at the same time', async () => {
      const prefix = fresh();
      const stores = [open({ tablePrefix: prefix }), open({ tablePrefix: prefix })];
      await Promise.all(stores.map((s) => s.ready()));
      const [first] = stores;
      for (let i = 0; i < 200; i++) await first?.create(sampleRecord({ expiresAt: 1000 + i }));
      const keep = sampleRecord({ expiresAt: 5000 });
      await first?.create(keep);
      let total = 0;
      for (;;) {
        const counts = await Promise.all(stores.map((s) => s.sweep(2000, 7)));
        total += counts.reduce((x, y) => x + y, 0);
        if (counts.every((c) => c === 0)) break;
      }
      expect(total).toBe(200);
      expect(await first?.get(keep.handle)).toEqual(keep);
      await Promise.all(stores.map((s) => s.close()));
    });
  });

  describe('rotation', () => {
    it('changes nothing when the new handle is taken: the statement fails as a whole', async () => {
      const store = open({ tablePrefix: fresh() });
      const old = sampleRecord({ data: { cart: 1 } });
      const taken = sampleRecord({ userId: 'user-2' });
      await store.create(old);
      await store.create(taken);
      const next = { ...sampleRecord(), handle: taken.handle };
      expect(await store.replace(old.handle, 1, next, { status: 'rotated', successor: next.handle, expiresAt: 1 })).toBe(false);
      expect(await store.get(old.handle)).toEqual(old);
      expect(await store.get(taken.handle)).toEqual(taken);
      await store.close();
    });

    it('lets exactly one of concurrent rotations to the same derived successor win, without an error', async () => {
      const store = open({ tablePrefix: fresh() });
      const old = sampleRecord();
      await store.create(old);
      const next = sampleRecord();
      const tomb = { status: 'revoked', successor: next.handle, expiresAt: old.absoluteExpiresAt } as const;
      const results = await Promise.all(Array.from({ length: 20 }, () => store.replace(old.handle, 1, next, tomb)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.get(next.handle)).toEqual(next);
      expect((await store.get(old.handle))?.successor).toBe(next.handle);
      await store.close();
    });

    it('works without prepared statements, for connection poolers that cannot keep them', async () => {
      const store = open({ tablePrefix: fresh(), prepare: false });
      const old = sampleRecord();
      await store.create(old);
      const next = sampleRecord();
      expect(await store.replace(old.handle, 1, next, { status: 'rotated', successor: next.handle, expiresAt: 1 })).toBe(true);
      expect(await store.get(next.handle)).toEqual(next);
      await store.close();
    });
  });

  describe('data and secrets', () => {
    it('reads its columns the same whatever type parsers the application set globally', async () => {
      const store = open({ tablePrefix: fresh() });
      const r = sampleRecord({ data: { a: [1, { b: 'c' }] } });
      await store.create(r);
      pg.types.setTypeParser(20, (v: string) => BigInt(v));
      pg.types.setTypeParser(3802, (v: string) => v);
      try {
        expect(await store.get(r.handle)).toEqual(r);
      } finally {
        pg.types.setTypeParser(20, (v: string) => v);
        pg.types.setTypeParser(3802, (v: string) => JSON.parse(v) as unknown);
      }
      await store.close();
    });

    it('keeps only the hash of a secret in the table', async () => {
      const store = open({ tablePrefix: fresh() });
      const sessions = createSessions({ store, sweepInterval: false });
      const { token } = await sessions.create({ userId: 'u1', data: { a: 1 } });
      const dump = JSON.stringify((await admin.query(`SELECT * FROM ${store.tables.sessions}`)).rows);
      expect(dump).toContain(token.split('.')[0]);
      expect(dump).not.toContain(token.split('.')[1]);
      await sessions.close();
      await store.close();
    });

    it('refuses data PostgreSQL cannot store with InvalidDataError, not a store failure', async () => {
      const store = open({ tablePrefix: fresh() });
      const sessions = createSessions({ store, sweepInterval: false });
      await expect(sessions.create({ data: { note: 'a\u0000b' } })).rejects.toThrow(InvalidDataError);
      const { session } = await sessions.create({ data: { note: 'fine' } });
      await expect(sessions.patch(session.handle, { set: { note: 'x\u0000' } })).rejects.toThrow(InvalidDataError);
      expect((await sessions.get(session.handle))?.data).toEqual({ note: 'fine' });
      await sessions.close();
      await store.close();
    });
  });

  describe('options and connections', () => {
    it('checks its options at construction, with messages that say how to fix them', () => {
      expect(() => open({ tablePrefix: 'Bad-Prefix' })).toThrow(
        'tablePrefix must be at most 48 lower-case letters, digits and _, starting with a letter or _ (got "Bad-Prefix")',
      );
      expect(() => open({ schema: 'x; DROP TABLE y' })).toThrow(ConfigError);
      expect(() => open({ statementTimeout: 0 })).toThrow('statementTimeout must be at least 1 ms (got 0 ms)');
      expect(() => open({ connectionTimeout: 'soon' })).toThrow(/connectionTimeout must be a duration such as '30m'/);
      expect(() => open({ maxConnections: 1.5 })).toThrow('maxConnections must be a positive whole number');
      expect(() => postgresStore({ pool: admin, connectionString: server.url })).toThrow(
        'give either pool, or connectionString and poolConfig, not both',
      );
      expect(() => postgresStore({ pool: {} as pg.Pool })).toThrow('pool must be a pg Pool (new pg.Pool(...))');
      expect(() => postgresStore({ connectionString: '' })).toThrow(ConfigError);
    });

    it('refuses unknown option keys and the ...Ms names of earlier versions, naming what replaced them', async () => {
      expect(() => open({ statementTimeoutMs: 500 } as never)).toThrow(
        new ConfigError("statementTimeoutMs is no longer an option of postgresStore(): use statementTimeout, a duration such as '2s'"),
      );
      expect(() => open({ connectionTimeoutMs: 500 } as never)).toThrow(
        new ConfigError("connectionTimeoutMs is no longer an option of postgresStore(): use connectionTimeout, a duration such as '2s'"),
      );
      expect(() => open({ tablePrefx: 'app_' } as never)).toThrow(
        new ConfigError(
          'tablePrefx is not an option of postgresStore(); did you mean tablePrefix? Known options: connectionString, pool, poolConfig, maxConnections, ' +
            'connectionTimeout, statementTimeout, schema, tablePrefix, migrate, prepare, onError',
        ),
      );
      await expect(migrate({ connectionString: server.url, timeoutMs: 1000 } as never)).rejects.toThrow(
        new ConfigError("timeoutMs is no longer an option of migrate(): use timeout, a duration such as '60s'"),
      );
      await expect(migrate({ connectionString: server.url, schemaName: 'x' } as never)).rejects.toThrow(
        new ConfigError('schemaName is not an option of migrate(); known options: connectionString, pool, poolConfig, schema, tablePrefix, timeout'),
      );
    });

    it('bounds a statement that waits too long, on the server with its own pool and on the client with a given one', async () => {
      const prefix = fresh();
      const own = open({ tablePrefix: prefix, statementTimeout: '300ms' });
      const given = new pg.Pool({ connectionString: server.url, max: 2 });
      given.on('error', () => {});
      const borrowed = postgresStore({ pool: given, tablePrefix: prefix, statementTimeout: '300ms' });
      const r = sampleRecord();
      await own.create(r);
      await borrowed.ready();
      const locker = await admin.connect();
      try {
        await locker.query('BEGIN');
        await locker.query(`SELECT 1 FROM ${own.tables.sessions} WHERE handle = $1 FOR UPDATE`, [r.handle]);
        let started = Date.now();
        const onServer = await own.touch(r.handle, 1, 2, 2).catch((e: unknown) => e);
        expect(onServer).toBeInstanceOf(StoreUnavailableError);
        expect((onServer as Error).message).toMatch(/SQLSTATE 57014/); // canceled by statement_timeout
        expect(Date.now() - started).toBeLessThan(1500);
        started = Date.now();
        const onClient = await borrowed.touch(r.handle, 1, 2, 2).catch((e: unknown) => e);
        expect(onClient).toBeInstanceOf(StoreUnavailableError);
        expect(((onClient as Error).cause as Error).message).toMatch(/Query read timeout/);
        expect(Date.now() - started).toBeLessThan(2000);
      } finally {
        await locker.query('ROLLBACK');
        locker.release();
      }
      expect(await own.touch(r.handle, 1, 2, 2)).toBe(true);
      expect(await borrowed.touch(r.handle, 1, 3, 3)).toBe(true);
      await own.close();
      await borrowed.close();
      await given.end();
    });

    it('leaves a pool it was given open, and stops listening to it, on close()', async () => {
      const pool = new pg.Pool({ connectionString: server.url, max: 2 });
      const before = pool.listenerCount('error');
      const store = postgresStore({ pool, tablePrefix: fresh() });
      expect(pool.listenerCount('error')).toBe(before + 1);
      await store.create(sampleRecord());
      await store.close();
      expect(pool.listenerCount('error')).toBe(before);
      expect(await store.ping()).toBe(false);
      await expect(store.get(sampleRecord().handle)).rejects.toThrow(/closed/);
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await pool.end();
    });

    it('fails fast with StoreUnavailableError when nothing listens, and ping answers false', async () => {
      const store = postgresStore({ connectionString: 'postgres://postgres@127.0.0.1:1/postgres', connectionTimeout: '500ms' });
      const started = Date.now();
      expect(await store.ping()).toBe(false);
      await expect(store.ready()).rejects.toThrow(StoreUnavailableError);
      const sessions = createSessions({ store, sweepInterval: false });
      await expect(sessions.validate('not-a-token')).resolves.toEqual({
        ok: false,
        reason: 'malformed',
      });
      await expect(sessions.create({ userId: 'u1' })).rejects.toThrow(StoreUnavailableError);
      await expect(sessions.validate(`${'A'.repeat(22)}.${'A'.repeat(43)}`)).rejects.toThrow(StoreUnavailableError);
      expect(Date.now() - started).toBeLessThan(3000);
      await sessions.close();
    });
  });

  describe('when the server goes away', () => {
    it('survives losing idle connections, reports them to onError, and reconnects', async () => {
      const backgroundErrors: unknown[] = [];
      const store = open({ tablePrefix: fresh(), connectionTimeout: '500ms', onError: (e) => backgroundErrors.push(e) });
      await store.ready();
      // Several connections at once, then idle in the pool.
      expect(await Promise.all(Array.from({ length: 4 }, () => store.ping()))).toEqual([true, true, true, true]);
      await server.crash();
      // The idle connections' errors arrive when the loop gets to their closed sockets: wait for them, not a fixed 200 ms.
      for (const until = Date.now() + 5_000; backgroundErrors.length === 0 && Date.now() < until; ) await sleep(10);
      expect(backgroundErrors.length).toBeGreaterThan(0);
      expect(await store.ping()).toBe(false);
      await expect(store.get(sampleRecord().handle)).rejects.toThrow(StoreUnavailableError);
      await server.start();
      expect(await store.ping()).toBe(true);
      const r = sampleRecord();
      expect(await store.create(r)).toBe(true);
      expect(await store.get(r.handle)).toEqual(r);
      await store.close();
    });

    it('fails closed with StoreUnavailableError during the outage and recovers within seconds of the restart', async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      const backgroundErrors: unknown[] = [];
      const store = open({ tablePrefix: fresh(), connectionTimeout: '500ms', statementTimeout: '1000ms', onError: (e) => backgroundErrors.push(e) });
      const sessions = createSessions({ store, storeTimeout: '1s', sweepInterval: false });
      const { token } = await sessions.create({ userId: 'u1', client: { ip: '203.0.113.9' } });

      type Outcome = { start: number; end: number; kind: 'ok' | 'invalid' | 'unavailable' | 'other'; detail?: unknown };
      const outcomes: Outcome[] = [];
      let running = true;
      const worker = async () => {
        while (running) {
          const start = Date.now();
          let kind: Outcome['kind'];
          let detail: unknown;
          try {
            const res: ValidateResult = await sessions.validate(token, { client: { ip: '203.0.113.9' } });
            kind = res.ok ? 'ok' : 'invalid';
            if (!res.ok) detail = res.reason;
          } catch (err) {
            kind = err instanceof StoreUnavailableError ? 'unavailable' : 'other';
            detail = err;
          }
          outcomes.push({ start, end: Date.now(), kind, detail });
          await sleep(2);
        }
      };
      const workers = Array.from({ length: 4 }, worker);

      await sleep(300);
      await server.crash();
      const downAt = Date.now();
      await sleep(300);
      expect(await store.ping()).toBe(false);
      await sleep(1200);
      const restartAt = Date.now();
      await server.start();
      const upAt = Date.now();
      let recoveredAt = 0;
      while (recoveredAt === 0 && Date.now() - upAt < 10_000) {
        recoveredAt = outcomes.find((o) => o.start >= upAt && o.kind === 'ok')?.end ?? 0;
        await sleep(20);
      }
      running = false;
      await Promise.all(workers);
      expect(await store.ping()).toBe(true);
      process.off('unhandledRejection', onUnhandled);

      const before = outcomes.filter((o) => o.end < downAt - 250);
      const during = outcomes.filter((o) => o.start >= downAt && o.end <= restartAt);
      expect(before.length).toBeGreaterThan(10);
      expect(before.every((o) => o.kind === 'ok')).toBe(true);
      expect(during.length).toBeGreaterThan(10);
      expect(during.filter((o) => o.kind !== 'unavailable')).toEqual([]);
      expect(Math.max(...during.map((o) => o.end - o.start))).toBeLessThan(1500);
      // Fail closed, never wrongly: a validation either succeeds or reports the store unavailable.
      expect(outcomes.filter((o) => o.kind === 'invalid' || o.kind === 'other')).toEqual([]);
      expect(recoveredAt).toBeGreaterThan(0);
      expect(recoveredAt - upAt).toBeLessThan(5000);
      expect(unhandled).toEqual([]);
      await sessions.close();
    }, 30_000);
  });
});
