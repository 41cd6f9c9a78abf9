/**
 * The switch from express-session + connect-redis to latchkey, on real Redis
 * and real Express servers, as a browser (a cookie jar) lives through it:
 * signed in before, signed in after with the same data, the old record
 * deleted before the new cookie arrives, one latchkey session however many
 * requests race, the old cookie refused once the hand-over is past, and an
 * outage of either store answered 503 with nothing lost.
 */
import { RedisStore } from 'connect-redis';
import { sign } from 'cookie-signature';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSessions, type Sessions } from '../../src/core/sessions.js';
import { expressSession } from '../../src/migrate/express-session.js';
import type { ExpressSessionStore } from '../../src/migrate/express-session.js';
import { redisStore } from '../../src/stores/redis/index.js';
import type { Store } from '../../src/core/store.js';
import { redisAvailable, startRedis, type RedisServer } from '../servers/redis.js';
import { latchkeyExpressApp, mapOld, oldExpressApp, type Running } from './support/apps.js';
import { browse, Jar } from './support/jar.js';

const SECRET = 'keyboard cat, as the old app had it';
const HANDOVER_KEY = 'a hand-over key of at least 32 random bytes, for tests only';

/** The id inside a signed `connect.sid` value as the jar holds it (URL-encoded `s:<id>.<signature>`). */
const sidOf = (cookie: string): string => {
  const v = decodeURIComponent(cookie).slice(2);
  return v.slice(0, v.lastIndexOf('.'));
};

describe.skipIf(!redisAvailable)('express-session + connect-redis to latchkey, on real Redis', () => {
  let oldRedis: RedisServer;
  let newRedis: RedisServer;
  let client: ReturnType<typeof createClient>;
  let connectRedis: RedisStore;
  let store: Store;
  let skew = 0;
  let sessions: Sessions;
  const servers: Running[] = [];

  beforeAll(async () => {
    // The old sessions survive a kill of their Redis (append-only file), as a production Redis would.
    [oldRedis, newRedis] = await Promise.all([startRedis({ appendOnly: true }), startRedis()]);
    client = createClient({ url: oldRedis.url, socket: { reconnectStrategy: () => 50 } });
    client.on('error', () => {});
    await client.connect();
    connectRedis = new RedisStore({ client, prefix: 'sess:' });
    store = redisStore({ url: newRedis.url, commandTimeout: '500ms' });
    sessions = createSessions({ store, clock: { now: () => Date.now() + skew } });
  });
  afterEach(async () => {
    skew = 0;
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await sessions?.close();
    await store?.close();
    await client?.quit().catch(() => {});
    await Promise.all([oldRedis?.stop(), newRedis?.stop()]);
  });

  /** Signs `user` in on the old application; resolves the browser's jar and the old session id. */
  async function signedInBefore(path: string): Promise<{ jar: Jar; sid: string }> {
    const app = await oldExpressApp({ store: connectRedis, secret: SECRET });
    servers.push(app);
    const jar = new Jar();
    expect((await browse(app.url, path, jar, { method: 'POST' })).status).toBe(200);
    expect((await browse(app.url, '/cart?item=book', jar, { method: 'POST' })).status).toBe(200);
    const cookie = jar.get('connect.sid');
    expect(cookie).toBeDefined();
    return { jar, sid: sidOf(cookie as string) };
  }

  /** The old store as express-session calls it, noting when each read and delete happened. */
  function watched(delayReads = 0) {
    const log = { reads: 0, firstDeleteDone: Number.POSITIVE_INFINITY };
    const s: ExpressSessionStore = {
      get(sid, cb) {
        log.reads++;
        connectRedis.get(sid, (err: unknown, v: unknown) => setTimeout(() => cb(err, v as Record<string, unknown> | null), delayReads));
      },
      destroy(sid, cb) {
        connectRedis.destroy(sid, (err: unknown) => {
          log.firstDeleteDone = Math.min(log.firstDeleteDone, performance.now());
          cb?.(err);
        });
      },
    };
    return { store: s, log };
  }

  async function switched(oldStore: ExpressSessionStore, options: { storeTimeout?: string } = {}): Promise<Running> {
    const app = await latchkeyExpressApp({ sessions, migrate: [expressSession({ store: oldStore, secret: SECRET, handoverKey: HANDOVER_KEY, map: mapOld, ...options })] });
    servers.push(app);
    return app;
  }

  it('keeps a signed-in user signed in across the switch with all their data, the old record deleted before the new cookie arrives', async () => {
    const { jar, sid } = await signedInBefore('/login?user=alice&plan=pro');
    expect(await client.exists(`sess:${sid}`)).toBe(1);
    const { store: oldStore, log } = watched();
    const app = await switched(oldStore);

    const first = await browse(app.url, '/me', jar);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ userId: 'alice', data: { plan: 'pro', cart: ['book'] } });
    // Nobody proved a recent sign-in to latchkey: a sensitive route asks again.
    expect(first.body).toMatchObject({ fresh: false, authTime: null });
    expect(jar.names()).toEqual(['session']);
    expect(first.setCookies.find((l) => l.startsWith('connect.sid='))).toMatch(/Max-Age=0/i);
    expect(await client.exists(`sess:${sid}`)).toBe(0);
    expect(log.firstDeleteDone).toBeLessThan(first.at);
    // A fresh, server-made token: not the old id, nothing of it inside.
    expect(jar.get('session')).not.toContain(sid);

    const again = await browse(app.url, '/me', jar);
    expect(again.body).toMatchObject({ userId: 'alice', handle: first.body.handle });
    expect(again.setCookies).toEqual([]);
    expect(log.reads).toBe(1);
    expect((await browse(app.url, '/cart?item=pen', jar, { method: 'POST' })).body).toEqual({ cart: ['book', 'pen'] });
    expect((await browse(app.url, '/me', jar)).body).toMatchObject({ userId: 'alice', data: { plan: 'pro', cart: ['book', 'pen'] } });
  });

  it('hands one old session over to exactly one latchkey session when many requests carry its cookie at once', async () => {
    const { jar, sid } = await signedInBefore('/login?user=bob');
    // Every racer reads the old record before any of them stores the new session.
    const { store: oldStore, log } = watched(100);
    const app = await switched(oldStore);
    const created: string[] = [];
    const off = sessions.on('created', (e) => void (e.userId === 'bob' && created.push(e.handle)));
    const cookie = jar.header();
    const answers = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const res = await fetch(`${app.url}/me`, { headers: { cookie } });
        const body = (await res.json()) as Record<string, unknown>;
        return { status: res.status, body, setCookies: res.headers.getSetCookie(), at: performance.now() };
      }),
    );
    off();
    expect(log.reads).toBe(12);
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200));
    expect(new Set(answers.map((a) => a.body.userId))).toEqual(new Set(['bob']));
    expect(new Set(answers.map((a) => a.body.handle)).size).toBe(1);
    const newCookies = new Set(answers.map((a) => a.setCookies.find((l) => l.startsWith('session='))));
    expect(newCookies.size).toBe(1);
    expect([...newCookies][0]).toMatch(/^session=[\w-]{22}\.[\w-]{43};/);
    expect(created).toHaveLength(1);
    expect(await sessions.list('bob')).toHaveLength(1);
    // No answer carried the new cookie while the old record still existed.
    for (const a of answers) expect(a.at).toBeGreaterThan(log.firstDeleteDone);
    expect(await client.exists(`sess:${sid}`)).toBe(0);
  });

  it('refuses and clears the old cookie when it comes back after the hand-over, and after a sign-out', async () => {
    const { jar } = await signedInBefore('/login?user=carol');
    const oldCookie = jar.get('connect.sid') as string;
    const app = await switched(watched().store);
    expect((await browse(app.url, '/me', jar)).body.userId).toBe('carol');

    skew = 11_000; // past the 10 s grace window
    const stolen = new Jar();
    stolen.set('connect.sid', oldCookie);
    const replay = await browse(app.url, '/me', stolen);
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ userId: null, handle: null });
    expect(stolen.names()).toEqual([]);
    // The browser that was handed over is still signed in.
    expect((await browse(app.url, '/me', jar)).body.userId).toBe('carol');

    expect((await browse(app.url, '/logout', jar, { method: 'POST' })).status).toBe(200);
    skew = 0;
    stolen.set('connect.sid', oldCookie);
    expect((await browse(app.url, '/me', stolen)).body).toMatchObject({ userId: null, handle: null });
  });

  it('keeps an anonymous old session anonymous, with its data', async () => {
    const app0 = await oldExpressApp({ store: connectRedis, secret: SECRET });
    servers.push(app0);
    const jar = new Jar();
    await browse(app0.url, '/visit', jar);
    expect((await browse(app0.url, '/visit', jar)).body).toEqual({ views: 2 });
    const app = await switched(watched().store);
    const me = await browse(app.url, '/me', jar);
    expect(me.body).toMatchObject({ userId: null, data: { views: 2 } });
    expect(me.body.handle).toEqual(expect.any(String));
    expect(jar.names()).toEqual(['session']);
  });

  it('never adopts a tampered, unsigned or foreign-signed old cookie, and reads no store for one', async () => {
    const { jar, sid } = await signedInBefore('/login?user=dave');
    const genuine = decodeURIComponent(jar.get('connect.sid') as string);
    const signature = genuine.slice(genuine.lastIndexOf('.') + 1);
    const flipped = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    const forged = [
      `s:${sid}.${flipped}`,
      `s:${sid}`,
      sid,
      `s:${sign(sid, 'another secret')}`,
      `s:${sign(`${sid}x`, SECRET).replace(`${sid}x`, sid)}`,
      genuine.slice(2), // @fastify/session's form: no prefix
    ];
    const { store: oldStore, log } = watched();
    const app = await switched(oldStore);
    for (const value of forged) {
      const j = new Jar();
      j.set('connect.sid', encodeURIComponent(value));
      const r = await browse(app.url, '/me', j);
      expect(r.body, value).toMatchObject({ userId: null, handle: null });
      expect(r.setCookies.some((l) => l.startsWith('session='))).toBe(false);
      expect(j.names()).toEqual([]);
    }
    expect(log.reads).toBe(0);
    expect(await client.exists(`sess:${sid}`)).toBe(1);
    expect(await sessions.list('dave')).toEqual([]);
  });

  it('answers 503 while the old store is down, and hands the session over once it is back, nothing lost', async () => {
    const { jar, sid } = await signedInBefore('/login?user=erin&plan=team');
    const app = await switched(watched().store, { storeTimeout: '300ms' });
    await oldRedis.kill();
    try {
      const down = await browse(app.url, '/me', jar);
      expect(down.status).toBe(503);
      expect(down.body.error).toBe('store-unavailable');
      expect(jar.names()).toEqual(['connect.sid']);
      expect(await sessions.list('erin')).toEqual([]);
    } finally {
      await oldRedis.restart();
    }
    for (let i = 0; i < 100 && !client.isReady; i++) await new Promise((r) => setTimeout(r, 50));
    const back = await browse(app.url, '/me', jar);
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ userId: 'erin', data: { plan: 'team', cart: ['book'] } });
    expect(await client.exists(`sess:${sid}`)).toBe(0);
  });

  it("answers 503 while latchkey's store is down, and leaves the old session in place", async () => {
    const { jar, sid } = await signedInBefore('/login?user=frank');
    const app = await switched(watched().store);
    newRedis.pause();
    try {
      const down = await browse(app.url, '/me', jar);
      expect(down.status).toBe(503);
      expect(down.body.error).toBe('store-unavailable');
      expect(jar.names()).toEqual(['connect.sid']);
      expect(await client.exists(`sess:${sid}`)).toBe(1);
    } finally {
      newRedis.resume();
    }
    const back = await browse(app.url, '/me', jar);
    expect(back.body).toMatchObject({ userId: 'frank', data: { cart: ['book'] } });
    expect(await sessions.list('frank')).toHaveLength(1);
  });
});
