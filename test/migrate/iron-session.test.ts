/**
 * The switch from iron-session to latchkey, with the real iron-session
 * sealing the cookies of a real old application and real Express servers
 * after the switch, as a browser (a cookie jar) lives through it: seals made
 * under an older password still open, the seal is re-issued as a latchkey
 * session and cleared, one seal makes one session however many requests
 * race, and a seal that comes back is refused, even once the latchkey
 * session has ended and its record is gone.
 */
import { randomBytes } from 'node:crypto';
import { sealData } from 'iron-session';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/sessions.js';
import { HANDED_OVER_NAMESPACE } from '../../src/migrate/handover.js';
import { ironSession } from '../../src/migrate/iron-session.js';
import { memoryStore } from '../../src/stores/memory.js';
import { redisStore } from '../../src/stores/redis/index.js';
import { redisAvailable, startRedis } from '../servers/redis.js';
import { latchkeyExpressApp, mapIron, oldIronApp, type Running } from './support/apps.js';
import { browse, Jar } from './support/jar.js';

const OLD_PASSWORD = 'the password iron-session sealed with last year, 32+ chars';
const NEW_PASSWORD = 'the password iron-session seals with since the rotation';
const COOKIE = 'myapp_session';
const HANDOVER_KEY = randomBytes(32);

let skew = 0;
const clock = { now: () => Date.now() + skew };
const store = memoryStore({ clock });
const sessions = createSessions({ store, clock, revokedRetention: '1m' });
const servers: Running[] = [];
afterEach(async () => {
  skew = 0;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await sessions.close();
  await store.close();
});

/** Signs `user` in on the old application sealing with `password`; resolves the browser's jar. */
async function signedInBefore(user: string, password: string | Record<number, string>): Promise<Jar> {
  const app = await oldIronApp({ password, cookieName: COOKIE });
  servers.push(app);
  const jar = new Jar();
  expect((await browse(app.url, `/login?user=${user}`, jar, { method: 'POST' })).body).toMatchObject({ userId: user });
  expect((await browse(app.url, '/me', jar)).body).toMatchObject({ userId: user, cart: ['book'] });
  expect(jar.get(COOKIE)).toBeDefined();
  return jar;
}

async function switched(): Promise<Running> {
  const app = await latchkeyExpressApp({
    sessions,
    migrate: [ironSession({ cookieName: COOKIE, password: { 1: OLD_PASSWORD, 2: NEW_PASSWORD }, cookie: { secure: false }, handoverKey: HANDOVER_KEY, map: mapIron })],
  });
  servers.push(app);
  return app;
}

describe('iron-session to latchkey', () => {
  it('keeps users signed in with their data, whichever of the old passwords sealed their cookie, and clears the seal', async () => {
    const before = await signedInBefore('alice', OLD_PASSWORD);
    const after = await signedInBefore('bob', { 1: OLD_PASSWORD, 2: NEW_PASSWORD });
    const app = await switched();
    for (const [jar, user] of [
      [before, 'alice'],
      [after, 'bob'],
    ] as const) {
      const first = await browse(app.url, '/me', jar);
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ userId: user, data: { cart: ['book'] }, fresh: false, authTime: null });
      expect(first.setCookies.find((l) => l.startsWith(`${COOKIE}=`))).toMatch(/Max-Age=0/i);
      expect(jar.names()).toEqual(['session']);
      const again = await browse(app.url, '/me', jar);
      expect(again.body).toMatchObject({ userId: user, handle: first.body.handle });
      expect(again.setCookies).toEqual([]);
      expect((await browse(app.url, '/cart?item=pen', jar, { method: 'POST' })).body).toEqual({ cart: ['book', 'pen'] });
    }
    expect(await sessions.list('alice')).toHaveLength(1);
    expect(await sessions.list('bob')).toHaveLength(1);
  });

  it('makes one latchkey session of one seal when many requests carry it at once', async () => {
    const jar = await signedInBefore('carol', OLD_PASSWORD);
    const app = await switched();
    const created: string[] = [];
    const off = sessions.on('created', (e) => void (e.userId === 'carol' && created.push(e.handle)));
    const cookie = jar.header();
    const answers = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const res = await fetch(`${app.url}/me`, { headers: { cookie } });
        return { status: res.status, body: (await res.json()) as Record<string, unknown>, setCookies: res.headers.getSetCookie() };
      }),
    );
    off();
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(new Set(answers.map((a) => a.body.userId))).toEqual(new Set(['carol']));
    expect(new Set(answers.map((a) => a.body.handle)).size).toBe(1);
    expect(new Set(answers.map((a) => a.setCookies.find((l) => l.startsWith('session=')))).size).toBe(1);
    expect(created).toHaveLength(1);
    expect(await sessions.list('carol')).toHaveLength(1);
  });

  it('refuses and clears a seal that comes back after the hand-over, and still after a sign-out once the ended session is forgotten', async () => {
    const jar = await signedInBefore('dave', OLD_PASSWORD);
    const seal = jar.get(COOKIE) as string;
    const app = await switched();
    const first = await browse(app.url, '/me', jar);
    expect(first.body.userId).toBe('dave');
    expect(await store.kv.get(HANDED_OVER_NAMESPACE, first.body.handle as string, clock.now())).not.toBeNull();

    skew = 11_000; // past the 10 s grace window
    const stolen = new Jar();
    stolen.set(COOKIE, seal);
    const replay = await browse(app.url, '/me', stolen);
    expect(replay.body).toMatchObject({ userId: null, handle: null });
    expect(replay.setCookies.find((l) => l.startsWith(`${COOKIE}=`))).toMatch(/Max-Age=0/i);
    expect(stolen.names()).toEqual([]);

    expect((await browse(app.url, '/logout', jar, { method: 'POST' })).status).toBe(200);
    // Past the revoked record's retention, swept: nothing of the session is left but the note of its hand-over.
    skew += 61_000;
    await store.sweep(clock.now(), 1000);
    expect(await store.get(first.body.handle as string)).toBeNull();
    stolen.set(COOKIE, seal);
    const late = await browse(app.url, '/me', stolen);
    expect(late.body).toMatchObject({ userId: null, handle: null });
    expect(late.setCookies.some((l) => l.startsWith('session='))).toBe(false);
    expect(await sessions.list('dave')).toEqual([]);
  });

  it('keeps a visitor anonymous with their data, and never adopts a tampered or foreign seal', async () => {
    const old = await oldIronApp({ password: OLD_PASSWORD, cookieName: COOKIE });
    servers.push(old);
    const visitor = new Jar();
    await browse(old.url, '/visit', visitor);
    expect((await browse(old.url, '/visit', visitor)).body).toMatchObject({ views: 2 });
    const app = await switched();
    const me = await browse(app.url, '/me', visitor);
    expect(me.body).toMatchObject({ userId: null, data: { views: 2 } });
    expect(me.body.handle).toEqual(expect.any(String));
    expect(visitor.names()).toEqual(['session']);

    const genuine = decodeURIComponent((await signedInBefore('erin', OLD_PASSWORD)).get(COOKIE) as string);
    const at = genuine.length - 20;
    const forged = [
      `${genuine.slice(0, at)}${genuine[at] === 'A' ? 'B' : 'A'}${genuine.slice(at + 1)}`,
      await sealData({ userId: 'erin' }, { password: 'another application, another password, 32+' }),
      'Fe26.2*1*not-a-seal',
      genuine.slice(5),
    ];
    for (const value of forged) {
      const j = new Jar();
      j.set(COOKIE, encodeURIComponent(value));
      const r = await browse(app.url, '/me', j);
      expect(r.body, value.slice(0, 40)).toMatchObject({ userId: null, handle: null });
      expect(r.setCookies.some((l) => l.startsWith('session='))).toBe(false);
      expect(j.names()).toEqual([]);
    }
    expect(await sessions.list('erin')).toEqual([]);
  });
});

describe.skipIf(!redisAvailable)('iron-session to latchkey on real Redis', () => {
  it("answers 503 while latchkey's store is down, keeps the seal, and hands it over once the store is back", async () => {
    const redis = await startRedis();
    const onRedis = redisStore({ url: redis.url, commandTimeout: '300ms' });
    const remote = createSessions({ store: onRedis });
    try {
      const jar = await signedInBefore('frank', { 1: OLD_PASSWORD, 2: NEW_PASSWORD });
      const app = await latchkeyExpressApp({
        sessions: remote,
        migrate: [ironSession({ cookieName: COOKIE, password: { 1: OLD_PASSWORD, 2: NEW_PASSWORD }, cookie: { secure: false }, handoverKey: HANDOVER_KEY, map: mapIron })],
      });
      servers.push(app);
      redis.pause();
      try {
        const down = await browse(app.url, '/me', jar);
        expect(down.status).toBe(503);
        expect(down.body.error).toBe('store-unavailable');
        expect(jar.names()).toEqual([COOKIE]);
      } finally {
        redis.resume();
      }
      const back = await browse(app.url, '/me', jar);
      expect(back.body).toMatchObject({ userId: 'frank', data: { cart: ['book'] } });
      expect(jar.names()).toEqual(['session']);
      expect(await onRedis.kv.get(HANDED_OVER_NAMESPACE, back.body.handle as string, Date.now())).not.toBeNull();
      expect(await remote.list('frank')).toHaveLength(1);
    } finally {
      await remote.close();
      await onRedis.close();
      await redis.stop();
    }
  });
});
