/**
 * The switch from better-auth to latchkey with `createMigrator()` over
 * better-auth's `session` table, as docs/migrating.md's recipe does it: the
 * real better-auth signs users up on real PostgreSQL (its own tables, made
 * by its own migrations) and sets its signed cookie; latchkey's Express
 * adapter hands them over, deletes the old row and clears the old cookie.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/sessions.js';
import { createMigrator, type MigrationSource } from '../../src/migrate/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../servers/postgres.js';
import { latchkeyExpressApp, type Running } from './support/apps.js';
import { browse, Jar } from './support/jar.js';

const BETTER_AUTH_SECRET = 'better-auth secret of the old application, 32+ characters';
const BASE = 'http://localhost:3000';
const missing = postgresMissing();

interface BetterAuthSession {
  userId: string;
}

/** docs/migrating.md's source, with the pool and secret given. */
function betterAuthSource(pool: pg.Pool, betterAuthSecret: string, log: { reads: number }): MigrationSource<BetterAuthSession> {
  return {
    name: 'better-auth',
    cookies: [{ name: '__Secure-better-auth.session_token' }, { name: 'better-auth.session_token' }],
    verify(value) {
      const dot = value.lastIndexOf('.');
      if (dot <= 0) return null;
      const token = value.slice(0, dot);
      const expected = Buffer.from(createHmac('sha256', betterAuthSecret).update(token).digest('base64'));
      const given = Buffer.from(value.slice(dot + 1));
      return given.length === expected.length && timingSafeEqual(given, expected) ? token : null;
    },
    async read(token) {
      log.reads++;
      const { rows } = await pool.query<BetterAuthSession>('select "userId" from "session" where token = $1 and "expiresAt" > now()', [token]);
      return rows[0] ?? null;
    },
    async remove(token) {
      await pool.query('delete from "session" where token = $1', [token]);
    },
  };
}

/** better-auth as the old application had it: email and password, its tables in `pool`'s database. */
const oldAuth = (pool: pg.Pool) =>
  betterAuth({ database: pool, secret: BETTER_AUTH_SECRET, baseURL: BASE, emailAndPassword: { enabled: true }, telemetry: { enabled: false }, logger: { disabled: true } });

describe.skipIf(missing !== null)('better-auth to latchkey, on real PostgreSQL', () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  let auth: ReturnType<typeof oldAuth>;
  const store = memoryStore();
  const sessions = createSessions({ store });
  const log = { reads: 0 };
  const servers: Running[] = [];

  beforeAll(async () => {
    server = await startPostgres();
    pool = new pg.Pool({ connectionString: server.url });
    auth = oldAuth(pool);
    const { runMigrations } = await getMigrations(auth.options);
    await runMigrations();
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await sessions.close();
    await store.close();
    await pool?.end();
    await server?.stop();
  });

  /** Signs a user up with better-auth; resolves their id and a jar holding better-auth's cookie. */
  async function signedUp(name: string): Promise<{ id: string; jar: Jar }> {
    const res = await auth.handler(
      new Request(`${BASE}/api/auth/sign-up/email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: BASE },
        body: JSON.stringify({ email: `${name}@example.com`, password: 'a long enough password', name }),
      }),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { user: { id: string } };
    const jar = new Jar();
    jar.take(res.headers.getSetCookie());
    expect(jar.names()).toContain('better-auth.session_token');
    // better-auth knows the session before the switch.
    const known = await auth.api.getSession({ headers: new Headers({ cookie: jar.header() }) });
    expect(known?.user.id).toBe(body.user.id);
    return { id: body.user.id, jar };
  }

  const rows = async (userId: string): Promise<number> => Number((await pool.query('select count(*) as n from "session" where "userId" = $1', [userId])).rows[0].n);

  async function switched(): Promise<Running> {
    const migrator = createMigrator({ source: betterAuthSource(pool, BETTER_AUTH_SECRET, log), map: (s) => ({ userId: s.userId }), handoverKey: 'a hand-over key of at least 32 random bytes, for tests only' });
    const app = await latchkeyExpressApp({ sessions, migrate: [migrator] });
    servers.push(app);
    return app;
  }

  it("keeps a better-auth user signed in, their session row deleted and better-auth's cookie cleared", async () => {
    const { id, jar } = await signedUp('alice');
    expect(await rows(id)).toBe(1);
    const app = await switched();
    const me = await browse(app.url, '/me', jar);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ userId: id, fresh: false });
    expect(me.setCookies.find((l) => l.startsWith('better-auth.session_token='))).toMatch(/Max-Age=0/i);
    expect(jar.names()).not.toContain('better-auth.session_token');
    expect(jar.names()).toContain('session');
    expect(await rows(id)).toBe(0);
    expect((await browse(app.url, '/me', jar)).body).toMatchObject({ userId: id, handle: me.body.handle });
    expect(await sessions.list(id)).toHaveLength(1);
  });

  it('never adopts a forged or expired better-auth session', async () => {
    const { id, jar } = await signedUp('bob');
    const app = await switched();
    const genuine = decodeURIComponent(jar.get('better-auth.session_token') as string);
    const token = genuine.slice(0, genuine.lastIndexOf('.'));
    log.reads = 0;
    for (const value of [token, `${token}.${createHmac('sha256', 'another secret').update(token).digest('base64')}`, `${token}x${genuine.slice(token.length)}`]) {
      const forged = new Jar();
      forged.set('better-auth.session_token', encodeURIComponent(value));
      expect((await browse(app.url, '/me', forged)).body).toMatchObject({ userId: null, handle: null });
    }
    expect(log.reads).toBe(0);
    expect(await rows(id)).toBe(1);

    await pool.query(`update "session" set "expiresAt" = now() - interval '1 minute' where "userId" = $1`, [id]);
    expect((await browse(app.url, '/me', jar)).body).toMatchObject({ userId: null, handle: null });
    expect(jar.names()).not.toContain('better-auth.session_token');
    expect(await sessions.list(id)).toEqual([]);
  });
});
