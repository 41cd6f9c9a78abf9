/**
 * The switch from express-session + connect-pg-simple to latchkey's
 * PostgreSQL store, on one real PostgreSQL server: the user stays signed in
 * with their data, the old row is deleted before the new cookie arrives,
 * and racing first requests make one latchkey session.
 */
import connectPgSimple from 'connect-pg-simple';
import session from 'express-session';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSessions, type Sessions } from '../../src/core/sessions.js';
import type { Store } from '../../src/core/store.js';
import { expressSession, type ExpressSessionStore } from '../../src/migrate/express-session.js';
import { postgresStore } from '../../src/stores/postgres/index.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../servers/postgres.js';
import { latchkeyExpressApp, mapOld, oldExpressApp, type Running } from './support/apps.js';
import { browse, Jar } from './support/jar.js';

const SECRET = ['the new express-session secret', 'the secret it had before'];
const HANDOVER_KEY = 'a hand-over key of at least 32 random bytes, for tests only';
const missing = postgresMissing();

describe.skipIf(missing !== null)('express-session + connect-pg-simple to latchkey, on real PostgreSQL', () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  let oldStore: InstanceType<ReturnType<typeof connectPgSimple>>;
  let store: Store;
  let sessions: Sessions;
  const servers: Running[] = [];

  beforeAll(async () => {
    server = await startPostgres();
    pool = new pg.Pool({ connectionString: server.url });
    const PgStore = connectPgSimple(session);
    oldStore = new PgStore({ pool, createTableIfMissing: true, pruneSessionInterval: false });
    store = postgresStore({ connectionString: server.url });
    sessions = createSessions({ store });
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await sessions?.close();
    await store?.close();
    oldStore?.close();
    await pool?.end();
    await server?.stop();
  });

  const rows = async (): Promise<number> => Number((await pool.query('select count(*) as n from session')).rows[0].n);

  async function signedInBefore(user: string, secret: string | string[] = SECRET): Promise<Jar> {
    const app = await oldExpressApp({ store: oldStore, secret });
    servers.push(app);
    const jar = new Jar();
    await browse(app.url, `/login?user=${user}&plan=pro`, jar, { method: 'POST' });
    await browse(app.url, '/cart?item=lamp', jar, { method: 'POST' });
    expect((await browse(app.url, '/me', jar)).body).toMatchObject({ userId: user, cart: ['lamp'] });
    return jar;
  }

  async function switched(old: ExpressSessionStore): Promise<Running> {
    const app = await latchkeyExpressApp({ sessions, migrate: [expressSession({ store: old, secret: SECRET, handoverKey: HANDOVER_KEY, map: mapOld })] });
    servers.push(app);
    return app;
  }

  it('keeps the user signed in with their data, signed with an older secret too, the old row gone before the new cookie arrives', async () => {
    // Signed before the secret was rotated: express-session still accepted it, so must the hand-over.
    const jar = await signedInBefore('alice', SECRET[1]);
    const before = await rows();
    let deletedAt = Number.POSITIVE_INFINITY;
    const app = await switched({
      get: (sid, cb) => oldStore.get(sid, cb),
      destroy: (sid, cb) =>
        oldStore.destroy(sid, (err) => {
          deletedAt = performance.now();
          cb?.(err);
        }),
    });
    const me = await browse(app.url, '/me', jar);
    expect(me.body).toMatchObject({ userId: 'alice', data: { plan: 'pro', cart: ['lamp'] } });
    expect(jar.names()).toEqual(['session']);
    expect(await rows()).toBe(before - 1);
    expect(deletedAt).toBeLessThan(me.at);
    expect((await browse(app.url, '/me', jar)).body).toMatchObject({ userId: 'alice', handle: me.body.handle });
  });

  it('makes one latchkey session of one old session when its first requests race', async () => {
    const jar = await signedInBefore('bob');
    const app = await switched({
      // Each racer reads the old row before any of them stores the new session.
      get: (sid, cb) => oldStore.get(sid, (err, s) => setTimeout(() => cb(err, s), 100)),
      destroy: (sid, cb) => oldStore.destroy(sid, cb),
    });
    const cookie = jar.header();
    const answers = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const res = await fetch(`${app.url}/me`, { headers: { cookie } });
        return { body: (await res.json()) as Record<string, unknown>, setCookies: res.headers.getSetCookie() };
      }),
    );
    expect(answers.map((a) => a.body.userId)).toEqual(Array(8).fill('bob'));
    expect(new Set(answers.map((a) => a.setCookies.find((l) => l.startsWith('session=')))).size).toBe(1);
    expect(await sessions.list('bob')).toHaveLength(1);
  });
});
