/**
 * DBSC with automatic token renewal, through every adapter on real listening
 * servers: a device-bound session's request that comes without a valid bound
 * cookie (the browser's bound cookie ran out before its refresh) while the
 * session token is due for renewal. The engine replaces the token then, and
 * the old one lives only through the renewal overlap: the request signs no
 * one in, but the new token must reach the browser, or the session is lost
 * once the overlap ends although the browser refreshes its bound cookie.
 * The same holds for the DBSC refresh endpoint when the store fails after
 * the session loaded (renewed) and before the answer.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionEvents } from '../../src/core/events.js';
import { manualClock } from '../../src/core/clock.js';
import { createSessions } from '../../src/core/sessions.js';
import type { KeyValues, Store } from '../../src/core/store.js';
import { memoryStore } from '../../src/stores/memory.js';
import { dbscClient, type DbscClient } from '../support/dbsc-client.js';
import { ADAPTERS, start, type Running } from './support/apps.js';

const SECRET = randomBytes(32);

/**
 * A real store whose key-value facet (where DBSC challenges live) can be
 * taken down alone: an outage that starts between the session's renewal
 * and the challenge of the same request, which a whole server cannot be
 * made to time.
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

  it.each([
    ['answers it itself (/me)', '/me', 200],
    ['refuses it by throwing requireUser() (/sensitive)', '/sensitive', 401],
  ])('hands the renewed token to a request without a valid bound cookie when its route %s, so the session outlives the overlap', async (_, path, status) => {
    const client = await registered(`renewal-${path.slice(1)}`);
    const before = client.jar.get('__Host-session');
    // The bound cookie (5 minutes) ran out and the token (10 minutes) is due: the request comes before the browser refreshes.
    clock.advance('11m');
    const early = await client.request(`${url}${path}`);
    expect(early.status).toBe(status);
    if (status === 200) expect(JSON.parse(early.text)).toMatchObject({ userId: null, invalid: 'bound-cookie-invalid' });
    expect(renewals.filter((e) => e.userId === `renewal-${path.slice(1)}`)).toHaveLength(1);
    expect(early.headers.get('cache-control')).toBe('no-store');
    expect(client.jar.get('__Host-session')).not.toBe(before);
    // The browser refreshes its bound cookie, with the token it now holds.
    expect((await client.refresh(url)).at(-1)?.status).toBe(200);
    expect((await me(client)).userId).toBe(`renewal-${path.slice(1)}`);
    // The old token's overlap ends: the session goes on with the token the refused request handed out.
    clock.advance('31s');
    expect(await me(client)).toMatchObject({ userId: `renewal-${path.slice(1)}`, invalid: null });
  });

  it('hands the renewed token out with the answers of a DBSC refresh that comes while the token is due, its 403 challenge first', async () => {
    const client = await registered('renewal-refresh');
    const before = client.jar.get('__Host-session');
    clock.advance('11m');
    client.cachedChallenge = null;
    const replies = await client.refresh(url);
    expect(replies.map((r) => r.status)).toEqual([403, 200]);
    expect(replies[0]!.headers.getSetCookie().some((c) => c.startsWith('__Host-session='))).toBe(true);
    expect(client.jar.get('__Host-session')).not.toBe(before);
    clock.advance('31s');
    expect(await me(client)).toMatchObject({ userId: 'renewal-refresh', invalid: null });
  });

  it('hands the renewed token out with the 503 of a DBSC refresh whose store fails after the session loaded, so the session outlives the overlap', async () => {
    const client = await registered('renewal-outage');
    const before = client.jar.get('__Host-session');
    clock.advance('11m');
    outage.down(true);
    const failed = await client.refresh(url);
    outage.down(false);
    expect(failed.map((r) => r.status)).toEqual([503]);
    expect(failed[0]!.headers.get('cache-control')).toBe('no-store');
    expect(client.jar.get('__Host-session')).not.toBe(before);
    expect((await client.refresh(url)).at(-1)?.status).toBe(200);
    clock.advance('31s');
    expect(await me(client)).toMatchObject({ userId: 'renewal-outage', invalid: null });
  });
});
