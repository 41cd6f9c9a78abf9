/**
 * The Next.js example (examples/next) as users run it: `next build`, then
 * `next start` on 127.0.0.1, importing the built package (dist/), driven in
 * real headless Chromium. Covers latchkey/next in a server component (the
 * protected page), server actions (sign-in, a note written to the session,
 * sign-out, sign-out everywhere), a route handler (/api/me) and proxy.js.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, launchChromium } from './chromium.js';

const root = join(import.meta.dirname, '..', '..');
const app = join(root, 'examples', 'next');
const nextBin = join(root, 'node_modules', 'next', 'dist', 'bin', 'next');
const COOKIE = 'session';
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', LATCHKEY_INSECURE_COOKIES: '1' };
const SECRET = 'a Next.js example secret of at least thirty-two bytes';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

const suite = chromiumPath === null ? describe.skip : describe;

let built = false;
/** `next build` once for both modes (the mode is read when the server starts). */
function buildOnce(): void {
  if (built) return;
  // The example imports latchkey/next from dist/: build it when stale, then the app.
  execFileSync(process.execPath, [join(root, 'scripts', 'build.js'), '--if-stale'], { cwd: root, stdio: 'ignore' });
  const started = Date.now();
  execFileSync(process.execPath, [nextBin, 'build', app], { cwd: root, env, stdio: 'pipe', timeout: 240_000 });
  console.log(`next build of examples/next: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  built = true;
}

suite.each(['stateful', 'sealed'] as const)('the Next.js example in %s mode through next build and next start (headless Chromium)', (mode) => {
  let server: ChildProcess | null = null;
  let browser: Browser | undefined;
  let base = '';
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    buildOnce();
    const port = await freePort();
    server = spawn(process.execPath, [nextBin, 'start', app, '-H', '127.0.0.1', '-p', String(port)], {
      cwd: root,
      env: { ...env, LATCHKEY_MODE: mode, SESSION_SECRET: SECRET },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`next start did not get ready: ${out}`)), 60_000);
      const seen = (d: Buffer) => {
        out += d.toString();
        if (/ready|Ready/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      server?.stdout?.on('data', seen);
      server?.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      server?.on('exit', (code) => reject(new Error(`next start exited with ${code}: ${out}`)));
    });
    base = `http://127.0.0.1:${port}`;
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    server?.kill();
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
    for (const note of ['first', 'second']) {
      await page.fill('input[name=note]', note);
      await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('#add')]);
      await expect.poll(() => page.locator('#notes li').allTextContents()).toContain(note);
    }
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
  });

  it('ends the session on sign-out: the old cookie, presented again, is refused', async () => {
    const { context, page } = await newPage();
    await signIn(page, 'linus');
    const cookie = (await sessionCookie(context))!;
    await Promise.all([page.waitForURL(`${base}/login`), page.click('#signout')]);
    expect(await sessionCookie(context)).toBeUndefined();
    await context.addCookies([cookie]);
    await page.goto(`${base}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    expect((await page.request.get(`${base}/api/me`)).status()).toBe(401);
  });

  it("ends every session of the user on sign-out everywhere, in the other browser too", async () => {
    const laptop = await newPage();
    const phone = await newPage();
    await signIn(laptop.page, 'barbara');
    await signIn(phone.page, 'barbara');
    await laptop.page.reload();
    // Stateful mode counts the user's sessions in the store; sealed mode has no such list.
    if (mode === 'stateful') expect(await laptop.page.textContent('#devices')).toBe('2');
    else expect(await laptop.page.locator('#devices').count()).toBe(0);
    await Promise.all([phone.page.waitForURL(`${base}/login`), phone.page.click('#everywhere')]);
    await laptop.page.goto(`${base}/`);
    expect(new URL(laptop.page.url()).pathname).toBe('/login');
  });
});
