/**
 * The deadlines protocol on the server, through every adapter on a real
 * listening server: token mode's sign-in and refresh answers carry
 * `Latchkey-Deadlines` (both carriers); cookie sessions (stateful and
 * sealed) carry it only on the answer to a request that asks for it with
 * `Latchkey-Deadlines: ?1`, always with `Cache-Control: no-store`, and
 * leave every other answer as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import { createSessions, type Sessions } from '../../src/core/sessions.js';
import type { HttpSessionsOptions } from '../../src/http/http-sessions.js';
import { createTokenTransport } from '../../src/http/tokens.js';
import { createSealedSessions } from '../../src/sealed/sealed-sessions.js';
import { memoryStore } from '../../src/stores/memory.js';
import { createKeySet } from '../../src/tokens/keys.js';
import { createTokens, type Tokens } from '../../src/tokens/tokens.js';
import { ADAPTERS, start, type Running } from '../adapters/support/apps.js';
import { call, cookieHeader, cookieValue, type Reply } from '../adapters/support/client.js';
import { LOGOUT, startTokens } from '../adapters/support/token-apps.js';
import { AUDIENCE, ISSUER, REFRESH_SECRET } from '../tokens/helpers.js';

const ASK = { 'latchkey-deadlines': '?1' };
const DAY = 86_400;

/** The header's two members, as numbers. */
function deadlines(r: Reply): { idle: number; absolute: number } {
  const value = r.headers.get('latchkey-deadlines');
  const m = /^idle=(\d+), absolute=(\d+)$/.exec(value ?? '');
  expect(m, `Latchkey-Deadlines: ${value}`).not.toBeNull();
  return { idle: Number(m![1]), absolute: Number(m![2]) };
}

describe.each(ADAPTERS)('token mode through the %s adapter', (adapter) => {
  const clock = manualClock(Date.now());
  const store = memoryStore({ clock });
  const sessions = createSessions({ store, clock, sweepInterval: false, idleTimeout: '14d', absoluteTimeout: '30d' });
  let tokens: Tokens;
  let servers: Running[] = [];

  beforeAll(async () => {
    tokens = createTokens({ sessions, keys: await createKeySet({ clock }), issuer: ISSUER, audience: AUDIENCE, refreshSecret: REFRESH_SECRET });
    servers = await Promise.all([startTokens(adapter, createTokenTransport({ tokens }), tokens), startTokens(adapter, createTokenTransport({ tokens, carrier: 'cookie' }), tokens)]);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await sessions.close();
  });

  it('answers a sign-in and every refresh with the family\'s deadlines, uncacheable, with the bearer carrier', async () => {
    const signIn = await call(servers[0]!.url, '/auth/login?user=dora', { method: 'POST' });
    expect(signIn.status).toBe(200);
    expect(deadlines(signIn)).toEqual({ idle: 14 * DAY, absolute: 30 * DAY });
    expect(signIn.headers.get('cache-control')).toBe('no-store');

    // An hour on, the refresh moves the idle deadline, not the absolute one.
    clock.advance('1h');
    const refreshed = await call(servers[0]!.url, '/auth/refresh', { json: { refresh_token: signIn.body.refresh_token as string } });
    expect(refreshed.status).toBe(200);
    expect(deadlines(refreshed)).toEqual({ idle: 14 * DAY, absolute: 30 * DAY - 3600 });
    expect(refreshed.headers.get('cache-control')).toBe('no-store');

    // A guarded answer says nothing about them: only the token endpoints move the family's deadlines.
    const me = await call(servers[0]!.url, '/api/me', { headers: { authorization: `Bearer ${refreshed.body.access_token as string}` } });
    expect(me.status).toBe(200);
    expect(me.headers.get('latchkey-deadlines')).toBeNull();
  });

  it('answers a sign-in and every refresh with the family\'s deadlines, uncacheable, with the cookie carrier', async () => {
    const signIn = await call(servers[1]!.url, '/auth/login?user=erin', { method: 'POST' });
    expect(deadlines(signIn)).toEqual({ idle: 14 * DAY, absolute: 30 * DAY });
    expect(signIn.headers.get('cache-control')).toBe('no-store');
    clock.advance('2h');
    const refreshToken = cookieValue(signIn.setCookies, '__Secure-refresh') as string;
    const refreshed = await call(servers[1]!.url, '/auth/refresh', { method: 'POST', cookie: cookieHeader(refreshToken, '__Secure-refresh') });
    expect(refreshed.status).toBe(200);
    expect(deadlines(refreshed)).toEqual({ idle: 14 * DAY, absolute: 30 * DAY - 7200 });
    expect(refreshed.headers.get('cache-control')).toBe('no-store');

    const out = await call(servers[1]!.url, LOGOUT, { method: 'POST', cookie: cookieHeader(cookieValue(refreshed.setCookies, '__Secure-refresh') as string, '__Secure-refresh') });
    expect(out.status).toBe(200);
    expect(out.headers.get('latchkey-deadlines')).toBeNull();
  });
});

const cases = ADAPTERS.flatMap((adapter) => (['stateful', 'sealed'] as const).map((mode) => [adapter, mode] as const));

describe.each(cases)('cookie sessions through the %s adapter in %s mode', (adapter, mode) => {
  // The system clock: the header counts from the moment of the answer.
  const store = memoryStore();
  let sessions: Sessions | null = null;
  let options: HttpSessionsOptions;
  if (mode === 'stateful') {
    sessions = createSessions({ store, idleTimeout: '30m', absoluteTimeout: '12h', sweepInterval: false });
    options = { sessions, onError: () => {} };
  } else {
    options = { sealed: createSealedSessions({ secrets: ['deadlines-test-sealing-secret-0123456789abcdef'], store, idleTimeout: '30m', absoluteTimeout: '12h' }), onError: () => {} };
  }
  let server: Running;
  beforeAll(async () => {
    server = await start(adapter, options);
  });
  afterAll(async () => {
    await server.close();
    if (sessions !== null) await sessions.close();
    else await store.close();
  });

  /** The session cookie(s) of an answer, as a Cookie header. */
  const jar = (r: Reply): string =>
    r.setCookies
      .map((line) => line.slice(0, line.indexOf(';')))
      .filter((pair) => !pair.endsWith('='))
      .join('; ');

  it('answers the deadlines of a signed-in session to a request that asks, never to one that does not', async () => {
    const login = await call(server.url, '/login?user=fay', { method: 'POST', headers: ASK });
    expect(login.status).toBe(200);
    const fresh = deadlines(login);
    // 30 min idle and 12 h absolute, counted from the answer (rounded down, so a second may be gone).
    expect(fresh.idle).toBeGreaterThanOrEqual(1799);
    expect(fresh.idle).toBeLessThanOrEqual(1800);
    expect(fresh.absolute).toBeGreaterThanOrEqual(43_199);
    expect(fresh.absolute).toBeLessThanOrEqual(43_200);
    expect(login.headers.get('cache-control')).toBe('no-store');
    const cookie = jar(login);

    const asked = await call(server.url, '/me', { cookie, headers: ASK });
    expect(asked.body.userId).toBe('fay');
    expect(deadlines(asked).idle).toBeGreaterThanOrEqual(1798);
    expect(asked.headers.get('cache-control')).toBe('no-store');
    if (sessions !== null) {
      // The very deadlines the store holds.
      const record = await sessions.get(asked.body.handle as string);
      expect(Math.abs(deadlines(asked).idle - (record!.idleExpiresAt - Date.now()) / 1000)).toBeLessThan(2);
    }

    const plain = await call(server.url, '/me', { cookie });
    expect(plain.body.userId).toBe('fay');
    expect(plain.headers.get('latchkey-deadlines')).toBeNull();
    expect(plain.headers.get('cache-control')).toBeNull();

    // A route that never loads the session has nothing to say, asked or not.
    const health = await call(server.url, '/health', { cookie, headers: ASK });
    expect(health.headers.get('latchkey-deadlines')).toBeNull();
  });

  it('answers none, uncacheable, once the session is gone or when there never was one', async () => {
    const anonymous = await call(server.url, '/me', { headers: ASK });
    expect(anonymous.headers.get('latchkey-deadlines')).toBe('none');
    expect(anonymous.headers.get('cache-control')).toBe('no-store');

    const login = await call(server.url, '/login?user=gus', { method: 'POST' });
    const out = await call(server.url, '/logout', { method: 'POST', cookie: jar(login), headers: ASK });
    expect(out.status).toBe(200);
    expect(out.headers.get('latchkey-deadlines')).toBe('none');
    expect(out.headers.get('cache-control')).toBe('no-store');
    // The old cookie, presented again, is refused: still none.
    const after = await call(server.url, '/me', { cookie: jar(login), headers: ASK });
    expect(after.body.userId).toBeNull();
    expect(after.headers.get('latchkey-deadlines')).toBe('none');
  });
});

describe.each(cases)('cookie sessions with an injected clock through the %s adapter in %s mode', (adapter, mode) => {
  // Ten minutes behind the system clock, and still: the deadlines must be counted by this clock, the sessions' own.
  const clock = manualClock(Date.now() - 600_000);
  const store = memoryStore({ clock });
  let sessions: Sessions | null = null;
  let options: HttpSessionsOptions;
  if (mode === 'stateful') {
    sessions = createSessions({ store, clock, idleTimeout: '30m', absoluteTimeout: '12h', sweepInterval: false });
    options = { sessions, onError: () => {} };
  } else {
    options = { sealed: createSealedSessions({ secrets: ['deadlines-test-sealing-secret-0123456789abcdef'], store, clock, idleTimeout: '30m', absoluteTimeout: '12h' }), onError: () => {} };
  }
  let server: Running;
  beforeAll(async () => {
    server = await start(adapter, options);
  });
  afterAll(async () => {
    await server.close();
    if (sessions !== null) await sessions.close();
    else await store.close();
  });

  it("counts the deadlines it answers by the sessions' clock, not the system's", async () => {
    const login = await call(server.url, '/login?user=gil', { method: 'POST', headers: ASK });
    expect(login.status).toBe(200);
    expect(deadlines(login)).toEqual({ idle: 1800, absolute: 43_200 });
    clock.advance('1h');
    const cookie = login.setCookies.map((line) => line.slice(0, line.indexOf(';'))).filter((pair) => !pair.endsWith('=')).join('; ');
    const later = await call(server.url, '/me', { cookie, headers: ASK });
    // Idle for an hour by the sessions' clock: the session is gone, whatever the system clock says.
    expect(later.body.userId ?? null).toBeNull();
    expect(later.headers.get('latchkey-deadlines')).toBe('none');
  });
});
