/**
 * The demo's single-page section, end to end in real headless Chromium: a
 * `latchkey serve` on 127.0.0.1 serving `/demo/app`, whose page runs the
 * built `latchkey/browser` as a same-origin module under the page's strict
 * policy (no inline script, Trusted Types) without a single violation or
 * console error. A person signs in, calls the API across a token refresh,
 * sees the expiry warning in every tab, stays signed in from another tab,
 * and signs out everywhere at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';
import { ensureBuilt } from '../cli/built.js';
import { chromiumPath, launchChromium } from './chromium.js';

const suite = chromiumPath === null ? describe.skip : describe;
/** Short deadlines: the warning shows 3 s after the last activity, the session ends 5 s later. */
const DEMO_APP = { idleTimeout: '8s', absoluteTimeout: '1m', accessTtl: '2s', warnBefore: '5s' } as const;

const RECORD_VIOLATIONS = `
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.effectiveDirective + ' ' + e.blockedURI));
`;

suite('the demo\'s single-page app (headless Chromium)', () => {
  let dir = '';
  let service: Service | undefined;
  let base = '';
  let browser: Browser | undefined;
  let context: BrowserContext;
  const errors: string[] = [];

  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'latchkey-demo-app-'));
    const config = loadConfig({ flags: { host: '127.0.0.1', port: '0', store: 'memory:', dataDir: join(dir, 'data'), adminPassword: 'demo app admin', logLevel: 'warn' }, env: {} });
    service = await createService(config, { demoApp: DEMO_APP });
    base = await service.listen();
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(10_000);
    await context.addInitScript(RECORD_VIOLATIONS);
  }, 200_000);

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close();
    await service?.close();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  async function tab(): Promise<Page> {
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) errors.push(`${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => errors.push(e.message));
    const response = await page.goto(`${base}/demo/app`);
    const policy = response?.headers()['content-security-policy'] ?? '';
    const directives = policy.split(';').map((d) => d.trim());
    expect(directives).toContain("script-src 'self'");
    expect(directives).toContain("require-trusted-types-for 'script'");
    await page.getByTestId('app-loading').waitFor({ state: 'hidden' });
    return page;
  }

  it('signs in, calls the API across a refresh, warns before the idle deadline in every tab, and signs out everywhere at once', async () => {
    const first = await tab();
    await first.getByTestId('app-signed-out').waitFor();
    await first.getByTestId('app-login-user').selectOption('bob');
    await first.getByTestId('app-login-password').fill('wrong');
    await first.getByTestId('app-login-submit').click();
    await first.getByTestId('app-login-error').waitFor();
    await first.getByTestId('app-login-password').fill('demo');
    await first.getByTestId('app-login-submit').click();
    await first.getByTestId('app-signed-in').waitFor();
    expect(await first.getByTestId('app-user').textContent()).toBe('bob');

    // A second tab is signed in at once, from the first (no refresh needed).
    const second = await tab();
    await second.getByTestId('app-signed-in').waitFor();
    expect(await second.getByTestId('app-user').textContent()).toBe('bob');

    // The 2 s access token has gone stale: the call refreshes it first, then goes through.
    await first.waitForTimeout(2_100);
    const refreshed = first.waitForResponse((r) => r.url() === `${base}/demo/app/auth/refresh`);
    await first.getByTestId('app-call').click();
    expect((await refreshed).status()).toBe(200);
    await first.getByTestId('app-result').filter({ hasText: '200' }).waitFor();
    expect(await first.getByTestId('app-result').textContent()).toContain('"user":"bob"');

    // No activity: the warning shows in both tabs, with a countdown.
    for (const page of [first, second]) {
      await page.getByTestId('app-expiring').waitFor({ timeout: 8_000 });
      expect(await page.getByTestId('app-countdown').textContent()).toMatch(/^0:0[0-5]$/);
    }
    // "Stay signed in" in one tab: the session is extended, the warning goes away in both.
    await second.getByTestId('app-stay').click();
    for (const page of [first, second]) await page.getByTestId('app-expiring').waitFor({ state: 'hidden', timeout: 2_000 });
    expect(await first.getByTestId('app-signed-in').isVisible()).toBe(true);

    // Sign out everywhere in the first tab: the second shows it within a second.
    await first.getByTestId('app-sign-out-everywhere').click();
    await second.getByTestId('app-signed-out').waitFor({ timeout: 1_000 });
    expect(await second.getByTestId('app-notice').getAttribute('data-reason')).toBe('signed-out-everywhere');
    expect(await service!.ctx.sessions.list('bob', { kinds: ['demo', 'demo-app'] })).toEqual([]);

    for (const page of [first, second]) expect(await page.evaluate('window.__violations')).toEqual([]);
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
  }, 60_000);

  it('signs the tabs out when the idle deadline passes without activity', async () => {
    const page = await tab();
    await page.getByTestId('app-login-user').selectOption('carol');
    await page.getByTestId('app-login-password').fill('demo');
    await page.getByTestId('app-login-submit').click();
    await page.getByTestId('app-signed-in').waitFor();
    await page.getByTestId('app-expiring').waitFor({ timeout: 8_000 });
    await page.getByTestId('app-signed-out').waitFor({ timeout: 8_000 });
    expect(await page.getByTestId('app-notice').getAttribute('data-reason')).toBe('expired');
  }, 30_000);
});
