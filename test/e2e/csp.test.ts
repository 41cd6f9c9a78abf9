/**
 * The Content-Security-Policy of the service's HTML pages, in real headless
 * Chromium: no page allows `'unsafe-inline'` script, every page (the
 * dashboard's overview with its refreshing counters included) works without
 * a single CSP violation or console error, and markup injected into a page
 * could run nothing.
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

const ADMIN_PASSWORD = 'csp admin password';

const suite = chromiumPath === null ? describe.skip : describe;

/** Every CSP violation a page reports, as the browser saw it. */
const RECORD_VIOLATIONS = `
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__violations.push({ directive: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample });
  });
`;

interface Watched {
  readonly page: Page;
  readonly errors: string[];
  readonly policies: Array<{ url: string; policy: string | null }>;
}

suite('the HTML pages under their Content-Security-Policy (headless Chromium)', () => {
  let dir = '';
  let service: Service | undefined;
  let base = '';
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    // /demo/app serves the built latchkey/browser.
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'latchkey-csp-'));
    const config = loadConfig({
      flags: { host: '127.0.0.1', port: '0', store: 'memory:', dataDir: join(dir, 'data'), adminPassword: ADMIN_PASSWORD, logLevel: 'warn' },
      env: {},
    });
    service = await createService(config);
    base = await service.listen();
    browser = await launchChromium();
  }, 200_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await service?.close();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  /** A page in a browser context of its own, watched for console errors and the policies it was served. */
  async function watched(): Promise<Watched> {
    const context = await (browser as Browser).newContext();
    contexts.push(context);
    context.setDefaultTimeout(10_000);
    await context.addInitScript(RECORD_VIOLATIONS);
    const page = await context.newPage();
    const errors: string[] = [];
    const policies: Watched['policies'] = [];
    page.on('console', (m) => {
      // The browser asks for /favicon.ico by itself; the service has none (404), which is no page's doing.
      if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) errors.push(`${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('response', (r) => {
      // Pages, not the 303s between them (which carry no body to protect).
      if (r.request().resourceType() === 'document' && r.status() < 300) policies.push({ url: r.url(), policy: r.headers()['content-security-policy'] ?? null });
    });
    return { page, errors, policies };
  }

  async function violations(page: Page): Promise<unknown[]> {
    return (await page.evaluate('window.__violations')) as unknown[];
  }

  function scriptSrc(policy: string | null): string[] {
    const directive = (policy ?? '').split(';').map((d) => d.trim().split(/\s+/)).find((d) => d[0] === 'script-src');
    return directive?.slice(1) ?? [];
  }

  it('serves every page without unsafe-inline script, and each works with no violation or console error', async () => {
    const w = await watched();
    const { page } = w;
    const visited: string[] = [];
    const visit = async (path: string): Promise<void> => {
      await page.goto(`${base}${path}`);
      visited.push(path);
      expect(await violations(page), path).toEqual([]);
    };

    await visit('/');
    // The demo: sign in (a form post), the devices page, the sensitive page.
    await visit('/demo/login');
    await page.getByTestId('login-password').fill('demo');
    await page.getByTestId('login-submit').click();
    await page.waitForURL(`${base}/demo`);
    expect(await violations(page)).toEqual([]);
    await visit('/demo');
    await visit('/demo/sensitive');
    // The single-page section: its module scripts load and run under the policy.
    await visit('/demo/app');
    await page.getByTestId('app-signed-out').waitFor();
    expect(await violations(page)).toEqual([]);

    // The dashboard: sign in, then every page.
    await visit('/admin/login');
    await page.getByTestId('login-username').fill('admin');
    await page.getByTestId('login-password').fill(ADMIN_PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.waitForURL(`${base}/admin`);
    await visit('/admin/events');
    await visit('/admin/users?user=alice');
    expect(await page.getByTestId('device-row').count()).toBe(1);

    // The overview's script runs under the policy: it fetches the counters (after 5 s) and writes them in.
    const polled = page.waitForResponse((r) => r.url() === `${base}/admin/stats.json`, { timeout: 9_000 });
    await visit('/admin');
    const before = Number(await page.locator('[data-stat="requests"]').textContent());
    expect((await polled).status()).toBe(200);
    await page.waitForFunction(`Number(document.querySelector('[data-stat="requests"]')?.textContent) > ${before}`, undefined, { timeout: 3_000 });
    expect(await violations(page)).toEqual([]);

    expect(w.errors).toEqual([]);
    expect(w.policies.length).toBeGreaterThanOrEqual(visited.length);
    for (const { url, policy } of w.policies) {
      expect(policy, url).toContain("default-src 'none'");
      expect(scriptSrc(policy), url).not.toContain("'unsafe-inline'");
      expect(scriptSrc(policy).length, url).toBe(1);
    }
    await page.close();
  }, 60_000);

  it('blocks and reports an inline event handler or script injected into a page', async () => {
    const { page } = await watched();
    await page.goto(`${base}/admin/login`);
    await page.getByTestId('login-username').fill('admin');
    await page.getByTestId('login-password').fill(ADMIN_PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.waitForURL(`${base}/admin`);
    for (const path of ['/admin', '/demo/login']) {
      await page.goto(`${base}${path}`);
      await page.evaluate(`
        document.body.insertAdjacentHTML('beforeend', '<img src="data:," onerror="window.__ran = true">');
        const s = document.createElement('script');
        s.textContent = 'window.__ran = true';
        document.body.append(s);
      `);
      await page.waitForFunction('window.__violations.length >= 2');
      expect(await page.evaluate('window.__ran === true'), path).toBe(false);
      const seen = (await violations(page)) as Array<{ directive: string }>;
      expect(seen.map((v) => v.directive).sort(), path).toEqual(['script-src-attr', 'script-src-elem']);
    }
    await page.close();
  }, 30_000);
});
