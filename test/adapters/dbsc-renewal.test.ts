/**
 * DBSC with automatic token renewal, through every adapter on real listening
 * servers. A device-bound session's token is renewed only by a request that
 * may use the session: one with a valid bound cookie, or a DBSC refresh
 * whose proof holds. A request with a copy of the session cookie and no
 * valid bound cookie (a thief's, or the browser's own before it refreshes)
 * renews nothing: it gets no new token, and the token the browser holds is
 * not ended after the renewal overlap.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionEvents } from '../../src/core/events.js';
import { manualClock } from '../../src/core/clock.js';
import { createSessions } from '../../src/core/sessions.js';
import type { KeyValues, Store } from '../../src/core/store.js';
import { memoryStore } from '../../src/stores/memory.js';
import { dbscClient, type DbscClient, type Reply } from '../support/dbsc-client.js';
import { ADAPTERS, start, type Running } from './support/apps.js';

const SECRET = randomBytes(32);

/**
 * A real store whose key-value facet (where DBSC challenges live) can be
 * taken down alone: an outage that starts after the session loaded and
 * before the refresh's challenge, which a whole server cannot be made to
 * time.
 */
function kvOutage(inner: Store): { store: Store; down(on: boolean): void } {
  let down = false;
  const kv = new Proxy(inner.kv, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (down) return Promise.reject(new Error('connect ECONNREFUSED (simulated outage)'));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as KeyValues;
  const store = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'kv') return kv;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store, down: (on) => void (down = on) };
}

describe.each(ADAPTERS)('DBSC with token renewal through the %s adapter', (adapter) => {
  const clock = manualClock();
  const memory = memoryStore({ clock });
  const outage = kvOutage(memory);
  const store = outage.store;
  const sessions = createSessions({
    store,
    clock,
    idleTimeout: '2h',
    absoluteTimeout: '12h',
    renewal: { interval: '10m', overlap: '30s' },
    sweepInterval: false,
  });
  const renewals: SessionEvents['rotated'][] = [];
  sessions.on('rotated', (e) => {
    if (e.cause === 'renewal') renewals.push(e);
  });
  let server: Running;
  let url = '';

  beforeAll(async () => {
    server = await start(adapter, { sessions, trustProxy: ['127.0.0.1'], onError: () => {}, dbsc: { secret: SECRET, cookie: { ttl: '5m' } } });
    url = server.url;
  });
  afterAll(async () => {
    await server.close();
    await sessions.close();
    await memory.close();
  });

  async function registered(user: string): Promise<DbscClient> {
    const client = await dbscClient('ES256');
    expect((await client.request(`${url}/login?user=${user}`)).status).toBe(200);
    expect((await client.register(url)).status).toBe(200);
    return client;
  }

  async function me(client: DbscClient) {
    const reply = await client.request(`${url}/me`);
    return JSON.parse(reply.text) as { userId: string | null; invalid: string | null };
  }

  const sessionCookie = (reply: Reply): boolean => reply.headers.getSetCookie().some((c) => c.startsWith('__Host-session='));
  const renewalsOf = (user: string): number => renewals.filter((e) => e.userId === user).length;

  /** Another client holding a copy of `victim`'s session cookie (and what it knows of its DBSC session), not its key nor its bound cookie. */
  async function thiefOf(victim: DbscClient): Promise<DbscClient> {
    const thief = await dbscClient('ES256');
    thief.jar.set('__Host-session', victim.jar.get('__Host-session')!);
    thief.sessionId = victim.sessionId;
    thief.instructions = victim.instructions;
    return thief;
  }

  it.each([
    ['answers it itself (/me)', '/me', 200],
    ['refuses it by throwing requireUser() (/sensitive)', '/sensitive', 401],
  ])('renews nothing for a copy of the session cookie without a bound cookie when its route %s, so the browser keeps its token past the overlap', async (_, path, status) => {
    const user = `renewal-${path.slice(1)}`;
    const client = await registered(user);
    const before = client.jar.get('__Host-session');
    // The bound cookie (5 minutes) ran out and the token (10 minutes) is due.
    clock.advance('11m');
    const thief = await thiefOf(client);
    const stolen = await thief.request(`${url}${path}`);
    expect(stolen.status).toBe(status);
    if (status === 200) expect(JSON.parse(stolen.text)).toMatchObject({ userId: null, invalid: 'bound-cookie-invalid' });
    expect(sessionCookie(stolen)).toBe(false);
    expect(renewalsOf(user)).toBe(0);
    // The browser's own request before its refresh is refused the same way, and renews nothing either.
    const early = await client.request(`${url}${path}`);
    expect(early.status).toBe(status);
    expect(sessionCookie(early)).toBe(false);
    expect(renewalsOf(user)).toBe(0);
    // Past the overlap a renewal by either request would have ended: the original token still refreshes and signs in.
    clock.advance('31s');
    expect(client.jar.get('__Host-session')).toBe(before);
    expect((await client.refresh(url)).at(-1)?.status).toBe(200);
    expect(renewalsOf(user)).toBe(1);
    expect(await me(client)).toMatchObject({ userId: user, invalid: null });
  });

  it('renews nothing for a copy of the session cookie at the DBSC endpoints, without the device key', async () => {
    const client = await registered('renewal-endpoints');
    const before = client.jar.get('__Host-session');
    clock.advance('11m');
    const thief = await thiefOf(client);
    // A refresh signed with another key: challenged again and again, never refreshed.
    const refreshed = await thief.refresh(url);
    expect(refreshed.length).toBeGreaterThan(0);
    for (const reply of refreshed) {
      expect(reply.status).toBe(403);
      expect(sessionCookie(reply)).toBe(false);
    }
    // A second key for a bound session: refused.
    const registered2 = await thief.request(`${url}/auth/dbsc/register`, { method: 'POST' });
    expect(registered2.status).toBe(403);
    expect(sessionCookie(registered2)).toBe(false);
    expect(renewalsOf('renewal-endpoints')).toBe(0);
    clock.advance('31s');
    expect(client.jar.get('__Host-session')).toBe(before);
    expect((await client.refresh(url)).at(-1)?.status).toBe(200);
    expect(renewalsOf('renewal-endpoints')).toBe(1);
    expect(await me(client)).toMatchObject({ userId: 'renewal-endpoints', invalid: null });
  });

  it('renews the token of a request with a valid bound cookie once the interval passed, and the browser keeps its session past the overlap', async () => {
    const client = await registered('renewal-bound');
    const before = client.jar.get('__Host-session')!;
    clock.advance('6m');
    expect((await client.refresh(url)).map((r) => r.status)).toEqual([200]);
    expect(renewalsOf('renewal-bound')).toBe(0);
    // The token is due (10 minutes), the bound cookie refreshed 4 minutes ago is still good (5 minutes).
    clock.advance('4m10s');
    const due = await client.request(`${url}/me`);
    expect(JSON.parse(due.text)).toMatchObject({ userId: 'renewal-bound', invalid: null });
    expect(sessionCookie(due)).toBe(true);
    expect(renewalsOf('renewal-bound')).toBe(1);
    expect(client.jar.get('__Host-session')).not.toBe(before);
    clock.advance('31s');
    expect(await me(client)).toMatchObject({ userId: 'renewal-bound', invalid: null });
    // The replaced token ended with the overlap, even with the bound cookie next to it.
    const old = [...client.jar].map(([k, v]) => `${k}=${k === '__Host-session' ? before : v}`).join('; ');
    const replaced = await client.request(`${url}/me`, { headers: { cookie: old } });
    expect(JSON.parse(replaced.text)).toMatchObject({ userId: null });
  });

  it('renews the token at a DBSC refresh that comes while it is due only once the proof holds: the 403 challenge carries no session cookie, the 200 the new one', async () => {
    const client = await registered('renewal-refresh');
    const before = client.jar.get('__Host-session');
    clock.advance('11m');
    client.cachedChallenge = null;
    const replies = await client.refresh(url);
    expect(replies.map((r) => r.status)).toEqual([403, 200]);
    expect(sessionCookie(replies[0]!)).toBe(false);
    expect(sessionCookie(replies[1]!)).toBe(true);
    expect(renewalsOf('renewal-refresh')).toBe(1);
    expect(client.jar.get('__Host-session')).not.toBe(before);
    clock.advance('31s');
    expect(await me(client)).toMatchObject({ userId: 'renewal-refresh', invalid: null });
  });

  it('renews nothing when the store fails during a DBSC refresh, so the browser keeps its token and renews at its next refresh', async () => {
    const client = await registered('renewal-outage');
    const before = client.jar.get('__Host-session');
    clock.advance('11m');
    outage.down(true);
    const failed = await client.refresh(url);
    outage.down(false);
    expect(failed.map((r) => r.status)).toEqual([503]);
    expect(sessionCookie(failed[0]!)).toBe(false);
    expect(renewalsOf('renewal-outage')).toBe(0);
    clock.advance('31s');
    expect(client.jar.get('__Host-session')).toBe(before);
    expect((await client.refresh(url)).at(-1)?.status).toBe(200);
    expect(renewalsOf('renewal-outage')).toBe(1);
    expect(client.jar.get('__Host-session')).not.toBe(before);
    expect(await me(client)).toMatchObject({ userId: 'renewal-outage', invalid: null });
  });
});

/**
 * A real store whose reads of session records can be held, one at a time,
 * after they read: the only way to put a registration between a request's
 * bound check and its renewal, which two requests cannot be made to time.
 */
function heldReads(inner: Store): { store: Store; holdNextRead(): { read: Promise<void>; release(): void } } {
  let armed: { read(): void; released: Promise<void> } | null = null;
  const store = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'get') {
        return async (handle: string) => {
          const record = await target.get(handle);
          const hold = armed;
          armed = null;
          if (hold !== null) {
            hold.read();
            await hold.released;
          }
          return record;
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return {
    store,
    holdNextRead() {
      let read!: () => void;
      let release!: () => void;
      const readP = new Promise<void>((r) => (read = r));
      const released = new Promise<void>((r) => (release = r));
      armed = { read, released };
      return { read: readP, release };
    },
  };
}

describe('DBSC with token renewal: a registration between a request\'s bound check and its renewal (node:http; the HTTP layer is shared by every adapter)', () => {
  const clock = manualClock();
  const memory = memoryStore({ clock });
  const held = heldReads(memory);
  const sessions = createSessions({ store: held.store, clock, idleTimeout: '2h', absoluteTimeout: '12h', renewal: { interval: '10m', overlap: '30s' }, sweepInterval: false });
  const renewals: SessionEvents['rotated'][] = [];
  sessions.on('rotated', (e) => {
    if (e.cause === 'renewal') renewals.push(e);
  });
  let server: Running;

  beforeAll(async () => {
    // A registration offer that outlives the renewal interval: the browser registers once the token is due.
    server = await start('node', { sessions, trustProxy: ['127.0.0.1'], onError: () => {}, dbsc: { secret: SECRET, cookie: { ttl: '5m' }, challengeTtl: '15m' } });
  });
  afterAll(async () => {
    await server.close();
    await sessions.close();
    await memory.close();
  });

  it('renews nothing for a copy of the session cookie checked while the session was unbound and renewing once the browser bound it, so the browser keeps its token past the overlap', async () => {
    const url = server.url;
    const client = await dbscClient('ES256');
    expect((await client.request(`${url}/login?user=raced`)).status).toBe(200);
    const before = client.jar.get('__Host-session')!;
    // A copy of the cookie taken before the browser registered its key.
    const thief = await dbscClient('ES256');
    thief.jar.set('__Host-session', before);
    // The registration loads the session before the token is due, and is held there.
    clock.advance('9m');
    const registering = held.holdNextRead();
    const registration = client.register(url);
    await registering.read;
    // The token is due; the copy passes the bound check (the session is not bound yet) and is held before its renewal.
    clock.advance('2m');
    const stealing = held.holdNextRead();
    const stolen = thief.request(`${url}/me`);
    await stealing.read;
    registering.release();
    expect((await registration).status).toBe(200);
    stealing.release();
    const reply = await stolen;
    // Renewed now, the session is a bound one, which the copy may not use.
    expect(JSON.parse(reply.text)).toMatchObject({ userId: null, invalid: 'bound-cookie-invalid' });
    expect(reply.headers.getSetCookie().some((c) => c.startsWith('__Host-session='))).toBe(false);
    expect(renewals.filter((e) => e.userId === 'raced')).toHaveLength(0);
    // The browser's token outlives the overlap, and the browser's own request renews it.
    clock.advance('31s');
    expect(client.jar.get('__Host-session')).toBe(before);
    const mine = await client.request(`${url}/me`);
    expect(JSON.parse(mine.text)).toMatchObject({ userId: 'raced', invalid: null });
    expect(renewals.filter((e) => e.userId === 'raced')).toHaveLength(1);
  });
});
