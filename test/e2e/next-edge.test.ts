/**
 * The Next.js example's edge-middleware app (examples/next/edge-middleware):
 * Next 16 refuses `middleware.js` beside `proxy.js`, and runs `middleware.js`
 * on the edge runtime, so it is an app of its own, sharing the example's
 * lib/session.js. `next build` once, `next start` in sealed mode and in
 * remote mode (stateful sessions kept by the session service, reached with
 * latchkey/client from the edge), driven in headless Chromium: sign-in and
 * sign-out through edge route handlers (form posts), the edge middleware
 * guarding an edge route handler.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, launchChromium } from './chromium.js';
import { buildOnce, edgeMiddlewareApp, loggedErrors, startNext, startSessionService, type NextServer, type SessionService } from './next-harness.js';

const COOKIE = 'session';
const suite = chromiumPath === null ? describe.skip : describe;

suite.each(['sealed', 'remote'] as const)('the Next.js edge middleware example in %s mode through next build and next start (headless Chromium)', (mode) => {
  let server: NextServer | null = null;
  let service: SessionService | null = null;
  let browser: Browser | undefined;
  let base = '';
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    buildOnce(edgeMiddlewareApp);
    const extra: Record<string, string> = { LATCHKEY_MODE: mode };
    if (mode === 'remote') {
      service = await startSessionService();
      Object.assign(extra, { LATCHKEY_URL: service.url, LATCHKEY_API_KEY: service.apiKey });
    }
    server = await startNext(edgeMiddlewareApp, extra);
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

  /** Signs in with the page's form, which posts to an edge route handler and is redirected back. */
  async function signIn(page: Page, user: string): Promise<void> {
    await page.goto(`${base}/`);
    await page.fill('input[name=username]', user);
    await Promise.all([page.waitForResponse((r) => r.url() === `${base}/api/signin`), page.click('#signin')]);
    await page.waitForURL(`${base}/`);
  }

  const sessionCookie = async (context: BrowserContext) => (await context.cookies(base)).find((c) => c.name === COOKIE);

  it('refuses the API in the edge middleware without a session (401), checked on the edge runtime', async () => {
    const { page } = await newPage();
    await page.goto(`${base}/`);
    const api = await page.request.get(`${base}/api/me`);
    expect(api.status()).toBe(401);
    expect(api.headers()['x-refused-by']).toBe('middleware');
    expect(api.headers()['x-checked-on']).toBe('edge');
  });

  it('signs in through an edge route handler: an HttpOnly cookie, and the edge middleware lets the edge route handler answer the user', async () => {
    const { context, page } = await newPage();
    await signIn(page, 'ada');
    const cookie = await sessionCookie(context);
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Lax');
    const api = await page.request.get(`${base}/api/me`);
    expect(api.status()).toBe(200);
    expect(api.headers()['x-checked-on']).toBe('edge');
    expect(await api.json()).toEqual({ user: 'ada', runtime: 'edge' });
    // Remote mode: the session lives in the session service.
    if (mode === 'remote') expect(await service!.service.ctx.sessions.list('ada')).toHaveLength(1);
  });

  it('refuses a tampered session cookie in the edge middleware', async () => {
    const { context, page } = await newPage();
    await signIn(page, 'mallory');
    const cookie = (await sessionCookie(context))!;
    const last = cookie.value.at(-1) === 'A' ? 'B' : 'A';
    await context.addCookies([{ ...cookie, value: cookie.value.slice(0, -1) + last }]);
    const api = await page.request.get(`${base}/api/me`);
    expect(api.status()).toBe(401);
    expect(api.headers()['x-refused-by']).toBe('middleware');
  });

  it('ends the session on sign-out through an edge route handler: the cookie is cleared and the middleware refuses again', async () => {
    const { context, page } = await newPage();
    await signIn(page, 'linus');
    const cookie = (await sessionCookie(context))!;
    await Promise.all([page.waitForResponse((r) => r.url() === `${base}/api/signout`), page.click('#signout')]);
    expect(await sessionCookie(context)).toBeUndefined();
    expect((await page.request.get(`${base}/api/me`)).status()).toBe(401);
    if (mode === 'remote') {
      // The service ended it: a copy of the cookie kept from before is refused too.
      expect(await service!.service.ctx.sessions.list('linus')).toEqual([]);
      await context.addCookies([cookie]);
      expect((await page.request.get(`${base}/api/me`)).status()).toBe(401);
    }
  });

  // Last: everything above ran (refusals included), and neither Next.js nor latchkey logged an error for it.
  it('logs no error while it ran', () => {
    expect(loggedErrors(server!.output())).toEqual([]);
  });
});
