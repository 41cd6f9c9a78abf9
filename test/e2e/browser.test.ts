/**
 * End to end, in real headless Chromium: a `latchkey serve` on 127.0.0.1 (SQLite
 * store in a temp folder), its demo site and admin dashboard, driven by
 * playwright-core like a person would. Covers what only a browser can show:
 * the cookie flags as the browser stored them, HttpOnly against scripts, a
 * revocation on the dashboard bouncing the demo to sign-in, the
 * re-authentication prompt, and forged cross-origin form posts refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Cookie, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sessions } from '../../src/core/sessions.js';
import { loadConfig } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';
import { jumpingSystemClock } from '../helpers/clocks.js';
import { chromiumPath, launchChromium } from './chromium.js';

const ADMIN_PASSWORD = 'e2e admin password';
const DEMO_COOKIE = '__Host-demo';
const ADMIN_COOKIE = '__Host-admin';
/**
 * The demo's freshness window for the sensitive action: minutes, so that a
 * fresh sign-in stays fresh however slowly a loaded machine drives the
 * browser; the tests move the server's clock past it instead of waiting.
 */
const FRESH_MS = 5 * 60_000;
/** Past the freshness window. */
const STALE_MS = FRESH_MS + 1_000;
const FIREFOX_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0';

const suite = chromiumPath === null ? describe.skip : describe;

suite('browser end to end (headless Chromium)', () => {
  let dir = '';
  let service: Service | undefined;
  let inspector: Sessions;
  let base = '';
  let browser: Browser | undefined;
  let attacker: Server | undefined;
  let attackerPort = 0;
  const contexts: BrowserContext[] = [];
  // The service (in this process) reads the system clock: the tests move it forward, never back, until the file ends.
  let clock: ReturnType<typeof jumpingSystemClock> | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-e2e-'));
    clock = jumpingSystemClock();
    const config = loadConfig({
      flags: { host: '127.0.0.1', port: '0', store: `sqlite:${join(dir, 'latchkey.db')}`, dataDir: join(dir, 'data'), adminPassword: ADMIN_PASSWORD, logLevel: 'warn' },
      env: {},
    });
    service = await createService(config, { demoFreshFor: FRESH_MS });
    base = await service.listen();
    // An engine of the demo's kind: checks from outside what the demo's own engine holds.
    inspector = service.ctx.engine({ kind: 'demo' });
    browser = await launchChromium();

    // The attacker's site: a page that posts a form to the demo as soon as it loads.
    attacker = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(`<!doctype html><title>Win a prize</title>
<form method="post" action="${base}/demo/logout-everywhere"><input type="hidden" name="prize" value="1"></form>
<script>document.forms[0].submit()</script>`);
    });
    await new Promise<void>((resolve) => attacker!.listen(0, '127.0.0.1', resolve));
    const address = attacker.address();
    attackerPort = typeof address === 'object' && address !== null ? address.port : 0;
  }, 60_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await service?.close();
    if (attacker !== undefined) await new Promise((resolve) => attacker!.close(resolve));
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
    clock?.restore();
  }, 30_000);

  async function newContext(userAgent?: string): Promise<BrowserContext> {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 800 }, ...(userAgent === undefined ? {} : { userAgent }) });
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    return context;
  }

  async function cookie(context: BrowserContext, name: string): Promise<Cookie | undefined> {
    return (await context.cookies(base)).find((c) => c.name === name);
  }

  /** Signs in on the demo; resolves the `Set-Cookie` header of the sign-in response. */
  async function demoSignIn(page: Page, user: string): Promise<string | null> {
    await page.goto(`${base}/demo/login`);
    await page.getByTestId('login-user').selectOption(user);
    await page.getByTestId('login-password').fill('demo');
    const response = page.waitForResponse((r) => r.url() === `${base}/demo/login` && r.request().method() === 'POST');
    await page.getByTestId('login-submit').click();
    const setCookie = await (await response).headerValue('set-cookie');
    await page.waitForURL(`${base}/demo`);
    expect(await page.getByTestId('user-name').textContent()).toBe(user);
    return setCookie;
  }

  async function currentHandle(page: Page): Promise<string> {
    const rows = page.locator('[data-testid=device-row][data-current=true]');
    expect(await rows.count()).toBe(1);
    const handle = await rows.getAttribute('data-handle');
    expect(handle).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    return handle as string;
  }

  it('signs in on the demo with a __Host-, Secure, HttpOnly, SameSite=Lax, host-only browser-session cookie that scripts cannot read', async () => {
    const context = await newContext();
    const page = await context.newPage();
    const setCookie = await demoSignIn(page, 'alice');

    // As the browser stored it.
    const c = await cookie(context, DEMO_COOKIE);
    expect(c).toBeDefined();
    expect(c!.secure).toBe(true);
    expect(c!.httpOnly).toBe(true);
    expect(c!.sameSite).toBe('Lax');
    expect(c!.path).toBe('/');
    expect(c!.domain).toBe('127.0.0.1'); // no leading dot: host-only
    expect(c!.expires).toBe(-1); // a browser-session cookie: the server's deadlines decide
    // As the server sent it: no Domain attribute at all.
    expect(setCookie).toMatch(new RegExp(`^${DEMO_COOKIE}=`));
    expect(setCookie!.toLowerCase()).not.toContain('domain=');
    expect(setCookie!.toLowerCase()).toMatch(/;\s*secure/);
    expect(setCookie!.toLowerCase()).toMatch(/;\s*httponly/);

    // HttpOnly: invisible to the page's scripts.
    const visible = String(await page.evaluate('document.cookie'));
    expect(visible).not.toContain(DEMO_COOKIE);
    expect(visible).not.toContain(c!.value);

    // The devices table shows this browser, flagged as the current device; its handle is the token's public half.
    const handle = await currentHandle(page);
    expect(c!.value.startsWith(`${handle}.`)).toBe(true);
    const row = page.locator(`[data-testid=device-row][data-handle="${handle}"]`);
    expect(await row.getByTestId('current-badge').count()).toBe(1);
    expect(await row.textContent()).toContain('Chrom');

    const result = await inspector.validate(c!.value);
    expect(result.ok && [result.session.kind, result.session.userId]).toEqual(['demo', 'alice']);
  }, 30_000);

  it('shows the demo session on the dashboard, revokes it there, and the demo bounces to sign-in on the next navigation', async () => {
    // Alice on two devices; the admin revokes one of them.
    const laptop = await newContext();
    const laptopPage = await laptop.newPage();
    await demoSignIn(laptopPage, 'alice');
    const target = await currentHandle(laptopPage);
    const targetToken = (await cookie(laptop, DEMO_COOKIE))!.value;

    const other = await newContext(FIREFOX_UA);
    const otherPage = await other.newPage();
    await demoSignIn(otherPage, 'alice');
    const kept = await currentHandle(otherPage);
    expect(kept).not.toBe(target);

    // The admin signs in to the dashboard (a latchkey cookie session of its own).
    const admin = await newContext();
    const adminPage = await admin.newPage();
    await adminPage.goto(`${base}/admin`);
    expect(new URL(adminPage.url()).pathname).toBe('/admin/login');
    await adminPage.getByTestId('login-username').fill('admin');
    await adminPage.getByTestId('login-password').fill(ADMIN_PASSWORD);
    await adminPage.getByTestId('login-submit').click();
    await adminPage.waitForURL(`${base}/admin`);
    const adminCookie = await cookie(admin, ADMIN_COOKIE);
    expect(adminCookie).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Lax', path: '/', domain: '127.0.0.1' });

    // Search the user as she typed her name, find both sessions, labelled as the demo's.
    await adminPage.getByTestId('user-search').fill('alice');
    await adminPage.getByTestId('user-search-submit').click();
    await adminPage.waitForURL((url) => url.pathname === '/admin/users' && url.searchParams.get('user') === 'alice');
    expect(await adminPage.getByTestId('user-id').textContent()).toBe('alice');
    const targetRow = adminPage.locator(`tr[data-testid=device-row][data-handle="${target}"]`);
    const keptRow = adminPage.locator(`tr[data-testid=device-row][data-handle="${kept}"]`);
    expect(await targetRow.count()).toBe(1);
    expect(await keptRow.count()).toBe(1);
    expect(await targetRow.getByTestId('session-kind').textContent()).toBe('demo');
    expect(await keptRow.textContent()).toContain('Firefox');

    // Revoke the laptop's session: the dashboard asks first.
    await targetRow.getByTestId('revoke-session').click();
    await adminPage.getByTestId('confirm').waitFor();
    expect(await adminPage.getByTestId('confirm').textContent()).toContain(target);
    await adminPage.getByTestId('confirm-submit').click();
    await adminPage.waitForURL((url) => url.pathname === '/admin/users' && url.searchParams.get('notice') === 'revoked');
    expect(await adminPage.locator('.notice.ok').textContent()).toContain('Session revoked');
    expect(await targetRow.count()).toBe(0);
    expect(await keptRow.count()).toBe(1);

    // The laptop's next navigation bounces to sign-in, with the reason.
    await laptopPage.goto(`${base}/demo`);
    const url = new URL(laptopPage.url());
    expect(url.pathname).toBe('/demo/login');
    expect(url.searchParams.get('reason')).toBe('revoked');
    expect(await laptopPage.getByTestId('notice').getAttribute('data-notice')).toBe('revoked');
    expect(await laptopPage.getByTestId('login-form').count()).toBe(1);
    expect(await inspector.validate(targetToken)).toEqual({ ok: false, reason: 'revoked' });
    expect(await cookie(laptop, DEMO_COOKIE)).toBeUndefined(); // the refused cookie was cleared

    // The other device is untouched, and the revoked one is gone from its list.
    await otherPage.goto(`${base}/demo`);
    expect(new URL(otherPage.url()).pathname).toBe('/demo');
    expect(await currentHandle(otherPage)).toBe(kept);
    expect(await otherPage.locator(`[data-testid=device-row][data-handle="${target}"]`).count()).toBe(0);
  }, 30_000);

  it('asks a stale sign-in to confirm the password before the sensitive action, then allows it', async () => {
    const context = await newContext();
    const page = await context.newPage();
    await demoSignIn(page, 'bob');

    // Fresh: the sensitive page opens directly.
    await page.getByTestId('sensitive-link').click();
    await page.waitForURL(`${base}/demo/sensitive`);
    expect(await page.getByTestId('sensitive-heading').count()).toBe(1);

    // Past the freshness window: "Confirm it's you".
    clock!.jump(STALE_MS);
    await page.goto(`${base}/demo`);
    await page.getByTestId('sensitive-link').click();
    await page.waitForURL(`${base}/demo/sensitive`);
    expect(await page.getByTestId('reauth-heading').textContent()).toBe("Confirm it's you");
    expect(await page.getByTestId('sensitive-form').count()).toBe(0);
    const staleToken = (await cookie(context, DEMO_COOKIE))!.value;

    // A wrong password is refused.
    await page.getByTestId('reauth-password').fill('not the password');
    const refused = page.waitForResponse((r) => r.url() === `${base}/demo/reauth`);
    await page.getByTestId('reauth-submit').click();
    expect((await refused).status()).toBe(401);
    await page.getByTestId('reauth-error').waitFor();
    expect(await page.getByTestId('reauth-heading').count()).toBe(1);
    expect(await page.getByTestId('sensitive-form').count()).toBe(0);

    // The right one leads to the form, with a new token (the old one is dead).
    await page.getByTestId('reauth-password').fill('demo');
    await page.getByTestId('reauth-submit').click();
    await page.waitForURL(`${base}/demo/sensitive?done=reauthenticated`);
    expect(await page.getByTestId('sensitive-heading').count()).toBe(1);
    expect(await page.getByTestId('notice').getAttribute('data-notice')).toBe('reauthenticated');
    const freshToken = (await cookie(context, DEMO_COOKIE))!.value;
    expect(freshToken).not.toBe(staleToken);
    expect((await inspector.validate(staleToken)).ok).toBe(false);

    // The change goes through.
    await page.getByTestId('sensitive-email').fill('bob@example.org');
    await page.getByTestId('sensitive-submit').click();
    await page.waitForURL(`${base}/demo/sensitive?done=email-changed`);
    expect(await page.getByTestId('sensitive-confirmation').textContent()).toContain('bob@example.org');
    expect(await page.getByTestId('current-email').textContent()).toBe('bob@example.org');
  }, 30_000);

  it('refuses a forged form post from another site, and from another origin of the same site', async () => {
    const context = await newContext();
    const page = await context.newPage();
    await demoSignIn(page, 'carol');
    const token = (await cookie(context, DEMO_COOKIE))!.value;
    const target = `${base}/demo/logout-everywhere`;

    // http://localhost:<port> is another site than http://127.0.0.1: SameSite=Lax keeps the cookie home,
    // and Fetch Metadata (Sec-Fetch-Site: cross-site) is refused outright.
    // http://127.0.0.1:<other port> is the same site: the cookie goes along, and the missing CSRF token is refused.
    for (const [origin, cookieSent] of [
      [`http://localhost:${attackerPort}`, false],
      [`http://127.0.0.1:${attackerPort}`, true],
    ] as const) {
      const attack = await context.newPage();
      const posted = attack.waitForResponse((r) => r.url() === target);
      await attack.goto(`${origin}/`);
      const response = await posted;
      const request = response.request();
      expect(request.method()).toBe('POST');
      expect(await request.headerValue('origin')).toBe(origin);
      expect((await request.headerValue('cookie'))?.includes(DEMO_COOKIE) ?? false).toBe(cookieSent);
      expect(response.status()).toBe(403);
      await attack.close();

      const result = await inspector.validate(token);
      expect(result.ok && result.session.userId).toBe('carol');
    }

    // Still signed in in the browser; and the genuine button, same endpoint, does sign out everywhere,
    // once the (by then stale) sign-in is confirmed with the password.
    clock!.jump(STALE_MS);
    await page.goto(`${base}/demo`);
    expect(await page.getByTestId('user-name').textContent()).toBe('carol');
    await page.getByTestId('sign-out-everywhere').click();
    await page.getByTestId('reauth-heading').waitFor();
    expect((await inspector.validate(token)).ok).toBe(true);
    await page.getByTestId('reauth-password').fill('demo');
    await page.getByTestId('reauth-submit').click();
    await page.waitForURL(`${base}/demo?done=reauthenticated`);
    const confirmed = (await cookie(context, DEMO_COOKIE))!.value;
    await page.getByTestId('sign-out-everywhere').click();
    await page.waitForURL(`${base}/demo/login?done=signed-out-everywhere`);
    expect((await inspector.validate(confirmed)).ok).toBe(false);
    expect((await inspector.validate(token)).ok).toBe(false);
  }, 30_000);

  it('asks a stale sign-in for the password before signing out another device or everywhere, and does it after', async () => {
    const laptop = await newContext();
    const laptopPage = await laptop.newPage();
    await demoSignIn(laptopPage, 'alice');
    const phone = await newContext(FIREFOX_UA);
    const phonePage = await phone.newPage();
    await demoSignIn(phonePage, 'alice');
    const phoneHandle = await currentHandle(phonePage);
    const phoneToken = (await cookie(phone, DEMO_COOKIE))!.value;

    // Past the freshness window, the laptop tries to sign the phone out: "Confirm it's you", nothing revoked.
    clock!.jump(STALE_MS);
    await laptopPage.goto(`${base}/demo`);
    const refused = laptopPage.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/demo/devices/${phoneHandle}/revoke`));
    await laptopPage.locator(`[data-testid=device-row][data-handle="${phoneHandle}"]`).getByTestId('device-revoke').click();
    expect((await refused).status()).toBe(401);
    expect(await laptopPage.getByTestId('reauth-heading').textContent()).toBe("Confirm it's you");
    expect(await laptopPage.getByTestId('reauth-action').getAttribute('data-action')).toBe('sign out another device');
    expect((await inspector.validate(phoneToken)).ok).toBe(true);

    // "Sign out everywhere" is held back the same way.
    await laptopPage.goto(`${base}/demo`);
    await laptopPage.getByTestId('sign-out-everywhere').click();
    await laptopPage.getByTestId('reauth-heading').waitFor();
    expect(await laptopPage.getByTestId('reauth-action').getAttribute('data-action')).toBe('sign out everywhere');
    expect((await inspector.validate(phoneToken)).ok).toBe(true);

    // The password, then the same button signs the phone out.
    await laptopPage.getByTestId('reauth-password').fill('demo');
    await laptopPage.getByTestId('reauth-submit').click();
    await laptopPage.waitForURL(`${base}/demo?done=reauthenticated`);
    await laptopPage.locator(`[data-testid=device-row][data-handle="${phoneHandle}"]`).getByTestId('device-revoke').click();
    await laptopPage.waitForURL(`${base}/demo?done=device-revoked`);
    expect(await inspector.validate(phoneToken)).toEqual({ ok: false, reason: 'revoked' });
    await phonePage.goto(`${base}/demo`);
    expect(new URL(phonePage.url()).searchParams.get('reason')).toBe('revoked');
  }, 30_000);
});
