/**
 * The HTTP layer in sealed mode (`latchkey({ sealed })`): configuration,
 * key rotation, the CSRF secret and sign-out without revocation. The shared
 * adapter scenario table (test/adapters) covers the rest in both modes.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { latchkey } from '../../src/adapters/fetch.js';
import { manualClock } from '../../src/core/clock.js';
import { ConfigError } from '../../src/core/errors.js';
import { createSessions } from '../../src/core/sessions.js';
import { createHttpSessions } from '../../src/http/http-sessions.js';
import type { RequestSession } from '../../src/http/request-session.js';
import { createSealedSessions, type SealedSessionsOptions } from '../../src/sealed/index.js';
import { memoryStore } from '../../src/stores/memory.js';

const OLD = 'old-secret-0123456789abcdef0123456789abcdef';
const NEW = 'new-secret-0123456789abcdef0123456789abcdef';
const BASE = 'https://app.example.test';

type Route = (session: RequestSession, url: URL) => Promise<unknown>;

/** A sealed application; without a store in `options`, explicitly not revocable. */
function server(options: Partial<SealedSessionsOptions>, route: Route) {
  const sealed = createSealedSessions({ secrets: [NEW], ...(options.store === undefined ? { revocable: false } : {}), ...options });
  const handle = latchkey({ sealed, onError: () => {} })(async (request, session) => Response.json((await route(session, new URL(request.url))) ?? null));
  return async (path: string, init: { method?: string; cookie?: string; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.cookie !== undefined) headers.cookie = init.cookie;
    if ((init.method ?? 'GET') !== 'GET' && headers['sec-fetch-site'] === undefined) headers['sec-fetch-site'] = 'same-origin';
    const res = await handle(new Request(BASE + path, { method: init.method ?? 'GET', headers }));
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, cookies: res.headers.getSetCookie() };
  };
}

const value = (lines: string[]): string => {
  const line = lines.find((l) => l.startsWith('__Host-session=')) as string;
  return line.slice('__Host-session='.length, line.indexOf(';'));
};

const routes: Route = async (session, url) => {
  switch (url.pathname) {
    case '/login':
      await session.login('u1');
      return { csrf: session.csrfToken, handle: session.handle };
    case '/logout':
      await session.logout();
      return null;
    case '/everywhere':
      return { n: await session.logoutEverywhere() };
    case '/set':
      session.set('k', url.searchParams.get('v'));
      return null;
    default:
      await session.load();
      return { user: session.userId, data: session.info?.data ?? null, csrf: session.csrfToken, handle: session.handle, token: session.token };
  }
};

describe('the HTTP layer in sealed mode', () => {
  it('takes exactly one of sessions and sealed, the cookie carrier only, and the sealed cookie name', () => {
    const sealed = createSealedSessions({ secrets: [NEW], store: memoryStore() });
    const sessions = createSessions({ store: memoryStore(), sweepInterval: false });
    expect(() => createHttpSessions({ sessions, sealed })).toThrow(ConfigError);
    expect(() => createHttpSessions({ sessions, sealed })).toThrow(/exactly one of sessions .* sealed .* and remote/);
    expect(() => createHttpSessions({})).toThrow(/sealed: createSealedSessions/);
    expect(() => createHttpSessions({ sealed, carriers: ['cookie', 'bearer'] })).toThrow(/cookie only/);
    expect(() => createHttpSessions({ sealed, carriers: ['url'] })).toThrow(ConfigError);
    expect(() => createHttpSessions({ sealed, cookie: { name: '__Host-other' } })).toThrow(/cookieName in createSealedSessions/);
    expect(() => createHttpSessions({ sealed: {} as never })).toThrow(ConfigError);
    const http = createHttpSessions({ sealed, carriers: ['cookie'] });
    expect(http.sealed).toBe(sealed);
    expect(http.sessions).toBeNull();
  });

  it('re-seals a cookie opened with a retired key on a read-only request', async () => {
    const before = server({ secrets: [OLD] }, routes);
    const token = value((await before('/login', { method: 'POST' })).cookies);
    const after = server({ secrets: [NEW, OLD] }, routes);
    const read = await after('/me', { cookie: `__Host-session=${token}` });
    expect(read.body).toMatchObject({ user: 'u1', token: null });
    expect(read.cookies).toHaveLength(1);
    const resealed = value(read.cookies);
    expect(resealed).not.toBe(token);
    // The new cookie opens with the new key alone.
    const only = server({ secrets: [NEW] }, routes);
    expect((await only('/me', { cookie: `__Host-session=${resealed}` })).body).toMatchObject({ user: 'u1' });
    expect((await only('/me', { cookie: `__Host-session=${token}` })).body).toMatchObject({ user: null });
  });

  it('derives the CSRF token from a secret in the payload: not from the handle, hidden from the data, new at sign-in with a fresh payload', async () => {
    const call = server({}, routes);
    const anonymous = await call('/set?v=1', { method: 'POST' });
    const anonCookie = `__Host-session=${value(anonymous.cookies)}`;
    const anon = await call('/me', { cookie: anonCookie });
    expect(anon.body.data).toEqual({ k: '1' });
    const login = await call('/login', { method: 'POST', cookie: anonCookie });
    const csrf = login.body.csrf as string;
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(csrf).not.toBe(anon.body.csrf);
    const handle = login.body.handle as string;
    expect(csrf).not.toBe(createHash('sha256').update('latchkey-csrf\0').update(handle).digest('base64url'));
    const cookie = `__Host-session=${value(login.cookies)}`;
    const me = await call('/me', { cookie });
    // Sign-in starts from a fresh payload: the anonymous data is not carried.
    expect(me.body).toMatchObject({ csrf });
    expect(me.body.data).toEqual({});
    // Without Fetch Metadata or Origin, a write needs the token.
    const bare = { 'sec-fetch-site': '', host: 'app.example.test' };
    expect((await call('/set?v=2', { method: 'POST', cookie, headers: bare })).status).toBe(403);
    expect((await call('/set?v=2', { method: 'POST', cookie, headers: { ...bare, 'x-csrf-token': csrf } })).status).toBe(200);
  });

  it('refuses the data key that holds the CSRF secret', async () => {
    const http = createHttpSessions({ sealed: createSealedSessions({ secrets: [NEW], store: memoryStore() }) });
    const begun = await http.begin({ method: 'GET', url: '/', header: () => undefined, remoteAddress: undefined });
    if (!begun.ok) throw new Error('refused');
    expect(() => begun.session.set('__latchkey_csrf', 'mine')).toThrow(/reserved/);
    expect(() => begun.session.unset('__latchkey_csrf')).toThrow(/reserved/);
  });

  it('with revocable: false, signs out by deleting the cookie only; sign-out everywhere needs revocation', async () => {
    const call = server({ revocable: false }, routes);
    const cookie = `__Host-session=${value((await call('/login', { method: 'POST' })).cookies)}`;
    const out = await call('/logout', { method: 'POST', cookie });
    expect(out.cookies).toEqual([expect.stringMatching(/^__Host-session=; Max-Age=0;/)]);
    expect((await call('/me', { cookie })).body).toMatchObject({ user: 'u1' });
    await expect(call('/everywhere', { method: 'POST', cookie })).rejects.toThrow(/revokeUser\(\) needs revocation: configure store \(and remove revocable: false\)/);
  });

  it('answers 503 when the revocation store is down, and re-seals on touch', async () => {
    const clock = manualClock();
    const store = memoryStore({ clock });
    const call = server({ store, clock, idleTimeout: '30m' }, routes);
    const cookie = `__Host-session=${value((await call('/login', { method: 'POST' })).cookies)}`;
    clock.advance('2m');
    const touched = await call('/me', { cookie });
    expect(touched.cookies).toHaveLength(1);
    const get = store.kv.get.bind(store.kv);
    (store.kv as { get: typeof get }).get = () => Promise.reject(new Error('down'));
    try {
      expect((await call('/me', { cookie })).status).toBe(503);
    } finally {
      (store.kv as { get: typeof get }).get = get;
    }
  });
});
