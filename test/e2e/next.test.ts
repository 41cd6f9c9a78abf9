/**
 * The Next.js example (examples/next) as users run it: `next build` once,
 * then `next start` on 127.0.0.1 in each mode (stateful on the memory store,
 * sealed, and remote: stateful sessions kept by the session service and
 * reached with latchkey/client), importing the built package (dist/), driven
 * in real headless Chromium. Covers latchkey/next in a server component (the
 * protected page), server actions (sign-in, a note written to the session,
 * sign-out, sign-out everywhere), a Node.js route handler (/api/me) behind
 * proxy.js, edge route handlers (/api/edge/me, read and write, in sealed and
 * remote mode), and token mode: issued and refreshed by Node.js route
 * handlers, verified by an edge route handler.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, launchChromium } from './chromium.js';
import { buildOnce, loggedErrors, nextApp, startNext, startSessionService, tokenKeys, type NextServer, type SessionService } from './next-harness.js';

const COOKIE = 'session';
const suite = chromiumPath === null ? describe.skip : describe;

/** What a fetch() from the page answered. */
interface Fetched {
  status: number;
  body: Record<string, unknown>;
  wwwAuthenticate: string | null;
}

/** fetch() from the page, as its own scripts would call the API (same origin, the browser's cookies). */
function pageFetch(page: Page, path: string, init: { method?: string; json?: unknown; bearer?: string } = {}): Promise<Fetched> {
  return page.evaluate(
    async ({ path, init }) => {
      const headers: Record<string, string> = {};
      if (init.json !== undefined) headers['content-type'] = 'application/json';
      if (init.bearer !== undefined) headers.authorization = `Bearer ${init.bearer}`;
      const r = await fetch(path, { method: init.method ?? 'GET', headers, body: init.json === undefined ? null : JSON.stringify(init.json) });
      const text = await r.text();
      return { status: r.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>), wwwAuthenticate: r.headers.get('www-authenticate') };
    },
    { path, init },
  );
}

suite.each(['stateful', 'sealed', 'remote'] as const)('the Next.js example in %s mode through next build and next start (headless Chromium)', (mode) => {
  let server: NextServer | null = null;
  let service: SessionService | null = null;
  let browser: Browser | undefined;
  let base = '';
  const contexts: BrowserContext[] = [];
  // Edge route handlers see the sessions of sealed and remote mode; the memory store of stateful mode is the Node.js process's own.
  const onEdge = mode !== 'stateful';

  beforeAll(async () => {
    buildOnce(nextApp);
    const extra: Record<string, string> = { LATCHKEY_MODE: mode, TOKEN_KEYS: tokenKeys() };
    if (mode === 'remote') {
      service = await startSessionService();
      Object.assign(extra, { LATCHKEY_URL: service.url, LATCHKEY_API_KEY: service.apiKey });
    }
    server = await startNext(nextApp, extra);
    base = server.base;
    browser = await launchChromium();
  }, 420_000);

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    server?.stop();
    await service?.close();
  });

  async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser!.newContext();
    contexts.push(context);
    return { context, page: await context.newPage() };
  }

  async function signIn(page: Page, user: string): Promise<void> {
    await page.goto(`${base}/login`);
    await page.fill('input[name=username]', user);
    await Promise.all([page.waitForURL(`${base}/`), page.click('#signin')]);
    await expect.poll(() => page.textContent('#user')).toBe(user);
  }

  async function addNote(page: Page, note: string): Promise<void> {
    await page.fill('input[name=note]', note);
    await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('#add')]);
    await expect.poll(() => page.locator('#notes li').allTextContents()).toContain(note);
  }

  const sessionCookie = async (context: BrowserContext) => (await context.cookies(base)).find((c) => c.name === COOKIE);

  it('sends a visitor without a session from the protected page to sign-in, and the proxy refuses the API with 401', async () => {
    const { page } = await newPage();
    const res = await page.goto(`${base}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(res?.request().redirectedFrom()?.url()).toBe(`${base}/`);
    const api = await page.request.get(`${base}/api/me`);
    expect(api.status()).toBe(401);
    expect(api.headers()['x-refused-by']).toBe('proxy');
  });

  it('signs in through a server action: an HttpOnly cookie, and the protected server component answers 200 with the user', async () => {
    const { context, page } = await newPage();
    await signIn(page, 'ada');
    const cookie = await sessionCookie(context);
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Lax');
    const res = await page.goto(`${base}/`);
    expect(res?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/');
    expect(await page.textContent('#user')).toBe('ada');
    const api = await page.request.get(`${base}/api/me`);
    expect(api.status()).toBe(200);
    expect(await api.json()).toEqual({ user: 'ada', notes: [] });
  });

  it('keeps what a server action wrote to the session, across requests and in the route handler', async () => {
    const { page } = await newPage();
    await signIn(page, 'grace');
    for (const note of ['first', 'second']) await addNote(page, note);
    await page.reload();
    expect(await page.locator('#notes li').allTextContents()).toEqual(['first', 'second']);
    expect(await (await page.request.get(`${base}/api/me`)).json()).toEqual({ user: 'grace', notes: ['first', 'second'] });
  });

  it('refuses a tampered session cookie in the server component, the proxy and the route handler', async () => {
    const { context, page } = await newPage();
    await signIn(page, 'mallory');
    const cookie = (await sessionCookie(context))!;
    const last = cookie.value.at(-1) === 'A' ? 'B' : 'A';
    await context.addCookies([{ ...cookie, value: cookie.value.slice(0, -1) + last }]);
    await page.goto(`${base}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    expect((await page.request.get(`${base}/api/me`)).status()).toBe(401);
    if (onEdge) expect((await pageFetch(page, '/api/edge/me')).status).toBe(401);
  });

  it('ends the session on sign-out: the old cookie, presented again, is refused', async () => {
    const { context, page } = await newPage();
    await signIn(page, 'linus');
    const cookie = (await sessionCookie(context))!;
    await Promise.all([page.waitForURL(`${base}/login`), page.click('#signout')]);
    expect(await sessionCookie(context)).toBeUndefined();
    if (onEdge) expect((await pageFetch(page, '/api/edge/me')).status).toBe(401);
    await context.addCookies([cookie]);
    await page.goto(`${base}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    expect((await page.request.get(`${base}/api/me`)).status()).toBe(401);
    // Remote mode: the service ended it, for the edge too. (Sealed mode's revocation records are per process: the edge isolate does not hold Node's.)
    if (mode === 'remote') expect((await pageFetch(page, '/api/edge/me')).status).toBe(401);
  });

  it('ends every session of the user on sign-out everywhere, in the other browser too', async () => {
    const laptop = await newPage();
    const phone = await newPage();
    await signIn(laptop.page, 'barbara');
    await signIn(phone.page, 'barbara');
    await laptop.page.reload();
    // Stateful mode counts the user's sessions in the store; sealed and remote mode show no such list.
    if (mode === 'stateful') expect(await laptop.page.textContent('#devices')).toBe('2');
    else expect(await laptop.page.locator('#devices').count()).toBe(0);
    if (mode === 'remote') expect(await service!.service.ctx.sessions.list('barbara')).toHaveLength(2);
    await Promise.all([phone.page.waitForURL(`${base}/login`), phone.page.click('#everywhere')]);
    await laptop.page.goto(`${base}/`);
    expect(new URL(laptop.page.url()).pathname).toBe('/login');
    if (mode === 'remote') {
      expect(await service!.service.ctx.sessions.list('barbara')).toEqual([]);
      expect((await pageFetch(laptop.page, '/api/edge/me')).status).toBe(401);
    }
  });

  if (onEdge) it('reads on the edge runtime the session a server action wrote, and writes to it there for the server component to read', async () => {
    const { page } = await newPage();
    await signIn(page, 'edsger');
    await addNote(page, 'from node');
    const read = await pageFetch(page, '/api/edge/me');
    expect(read).toMatchObject({ status: 200, body: { user: 'edsger', notes: ['from node'], runtime: 'edge' } });
    const write = await pageFetch(page, '/api/edge/me', { method: 'POST', json: { note: 'from the edge' } });
    expect(write).toMatchObject({ status: 200, body: { notes: ['from node', 'from the edge'], runtime: 'edge' } });
    await page.reload();
    expect(await page.locator('#notes li').allTextContents()).toEqual(['from node', 'from the edge']);
    expect(await (await page.request.get(`${base}/api/me`)).json()).toEqual({ user: 'edsger', notes: ['from node', 'from the edge'] });
  });

  if (onEdge) it('refuses on the edge runtime a visitor without a session (401) and a cross-site write (403)', async () => {
    const { page } = await newPage();
    await page.goto(`${base}/login`);
    expect(await pageFetch(page, '/api/edge/me')).toMatchObject({ status: 401, body: { runtime: 'edge' } });
    await signIn(page, 'eve');
    const forged = await page.request.post(`${base}/api/edge/me`, {
      headers: { origin: 'https://attacker.example', 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' },
      data: { note: 'forged' },
    });
    expect(forged.status()).toBe(403);
    expect((await pageFetch(page, '/api/edge/me')).body.notes).toEqual([]);
  });

  if (mode === 'stateful') it('token mode: tokens issued and refreshed by Node.js route handlers verify on the edge runtime; a forged refresh token is refused', async () => {
    const { page } = await newPage();
    await page.goto(`${base}/login`);
    const issued = await pageFetch(page, '/api/tokens', { method: 'POST', json: { username: 'tess' } });
    expect(issued.status).toBe(200);
    expect(issued.body.token_type).toBe('Bearer');
    const access = String(issued.body.access_token);
    const refresh = String(issued.body.refresh_token);
    expect(await pageFetch(page, '/api/edge/token', { bearer: access })).toMatchObject({ status: 200, body: { user: 'tess', runtime: 'edge' } });

    const none = await pageFetch(page, '/api/edge/token');
    expect(none.status).toBe(401);
    expect(none.wwwAuthenticate).toMatch(/^Bearer realm="latchkey"/);
    const last = access.at(-1) === 'A' ? 'B' : 'A';
    const tampered = await pageFetch(page, '/api/edge/token', { bearer: access.slice(0, -1) + last });
    expect(tampered.status).toBe(401);
    expect(tampered.wwwAuthenticate).toContain('error="invalid_token"');

    const refreshed = await pageFetch(page, '/api/tokens/refresh', { method: 'POST', json: { refresh_token: refresh } });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).not.toBe(refresh);
    expect(await pageFetch(page, '/api/edge/token', { bearer: String(refreshed.body.access_token) })).toMatchObject({ status: 200, body: { user: 'tess' } });
    // A refresh token that was never issued (the right shape, the wrong secret part).
    const forged = `${refresh.split('.')[0]}.${'A'.repeat(43)}`;
    expect(await pageFetch(page, '/api/tokens/refresh', { method: 'POST', json: { refresh_token: forged } })).toMatchObject({ status: 401, body: { error: 'invalid_grant' } });
  });

  // Last: everything above ran (refusals included), and neither Next.js nor latchkey logged an error for it.
  it('logs no error while it ran', () => {
    expect(loggedErrors(server!.output())).toEqual([]);
  });
});
