/**
 * The scenarios the runtime matrix walks on every runtime, over HTTP, as one
 * browser would: test/runtimes/conformance.test.ts runs them on each
 * runtime and mode, test/runtimes/stores.test.ts with Redis and PostgreSQL.
 */
import { expect } from 'vitest';
import { Browser, crossSitePost, tamper } from './browser.js';
import type { RunningApp } from './harness.js';

/**
 * Stateful and sealed sessions: the session cookie. Resolves the session
 * cookie's value as it was before sign-out (a stateful session's token), so
 * that a caller can look at what the store kept of it.
 */
export async function cookieSessionScenario(app: RunningApp): Promise<string> {
  const browser = new Browser(app.url);
  expect((await browser.get('/me')).status).toBe(401);

  // Sign-in sets one HttpOnly, Secure session cookie.
  const login = await browser.post('/login', { username: 'ann' });
  expect(login.status).toBe(303);
  const set = login.headers.getSetCookie();
  expect(set).toHaveLength(1);
  expect(set[0]).toMatch(/^__Host-[\w-]+=[\w.-]{40,}; .*HttpOnly; Secure; SameSite=Lax$/);
  const [name, value] = [...browser.cookies][0] as [string, string];

  // The protected route: 200 with the cookie, 401 without.
  const me = await browser.get('/me');
  expect(me.status).toBe(200);
  expect(await me.json()).toEqual({ user: 'ann', notes: [] });
  expect((await browser.get('/me', '')).status).toBe(401);

  // Writes persist across requests (in the store, or re-sealed into the cookie).
  expect(await (await browser.post('/notes', { note: 'first' })).json()).toEqual({ notes: ['first'] });
  expect(await (await browser.post('/notes', { note: 'second' })).json()).toEqual({ notes: ['first', 'second'] });
  expect(await (await browser.get('/me')).json()).toEqual({ user: 'ann', notes: ['first', 'second'] });

  // A browser that sends neither Fetch Metadata nor Origin: the write needs the page's CSRF token, read from the form body.
  const page = await (await browser.get('/')).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
  expect(csrf).toMatch(/^[\w-]{43}$/);
  expect((await browser.legacyPost('/notes', { note: 'third' })).status).toBe(403);
  expect(await (await browser.legacyPost('/notes', { note: 'third', _csrf: csrf })).json()).toEqual({ notes: ['first', 'second', 'third'] });

  // A tampered cookie is refused; so is a write posted from another site (CSRF).
  expect((await browser.get('/me', `${name}=${tamper(browser.cookies.get(name) ?? value)}`)).status).toBe(401);
  expect((await crossSitePost(app.url, '/notes', browser.header())).status).toBe(403);
  expect(await (await browser.get('/me')).json()).toEqual({ user: 'ann', notes: ['first', 'second', 'third'] });

  // Sign-out clears the cookie and ends the session: a copy of the cookie kept from before is refused.
  const copy = browser.header();
  const last = browser.cookies.get(name) ?? '';
  const out = await browser.post('/logout');
  expect(out.status).toBe(303);
  expect(out.headers.getSetCookie().join('\n')).toMatch(new RegExp(`^${name}=; Max-Age=0`, 'm'));
  expect(browser.cookies.size).toBe(0);
  expect((await browser.get('/me')).status).toBe(401);
  expect((await browser.get('/me', copy)).status).toBe(401);
  return last;
}

/** Token mode with the cookie carrier: access and refresh cookies. */
export async function tokenScenario(app: RunningApp): Promise<void> {
  const browser = new Browser(app.url);
  expect((await browser.get('/me')).status).toBe(401);

  const login = await browser.post('/login', { username: 'ann' });
  expect(login.status).toBe(200);
  const set = login.headers.getSetCookie();
  expect(set).toHaveLength(2);
  for (const line of set) expect(line).toMatch(/; HttpOnly; Secure; SameSite=Strict/);
  const names = [...browser.cookies.keys()];
  const access = names.find((n) => n.includes('access')) as string;
  const refresh = names.find((n) => n.includes('refresh')) as string;
  expect([access, refresh].every((n) => n !== undefined)).toBe(true);

  const me = await browser.get('/me');
  expect(me.status).toBe(200);
  expect(await me.json()).toEqual({ user: 'ann' });
  expect((await browser.get('/me', '')).status).toBe(401);

  // The write: refresh rotates the pair, and the rotation is kept in the store.
  const before = browser.cookies.get(refresh);
  const rotated = await browser.post('/auth/refresh');
  expect(rotated.status).toBe(200);
  expect(browser.cookies.get(refresh)).not.toBe(before);
  expect((await browser.get('/me')).status).toBe(200);

  expect((await browser.get('/me', `${access}=${tamper(browser.cookies.get(access) as string)}`)).status).toBe(401);
  // Cookies posted from another site: no refresh, no sign-in (CSRF).
  expect((await crossSitePost(app.url, '/auth/refresh', browser.header())).status).toBe(403);
  expect((await crossSitePost(app.url, '/login', '')).status).toBe(403);

  // Sign-out revokes the family: the kept access and refresh cookies are refused.
  const copy = browser.header();
  const out = await browser.post('/logout');
  expect(out.status).toBe(200);
  expect(browser.cookies.size).toBe(0);
  expect((await browser.get('/me', copy)).status).toBe(401);
  expect((await browser.post('/auth/refresh', {}, copy)).status).toBe(401);
}
