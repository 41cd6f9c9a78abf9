/**
 * The dashboard on a phone, in real headless Chromium at 390 × 844 CSS px
 * with touch: no page scrolls sideways, every button is a thumb's size
 * (44 px high at least), and the whole revoke flow (search, revoke,
 * confirm) works by tapping.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';
import { chromiumPath, launchChromium } from './chromium.js';

const PASSWORD = 'phone admin password';
const WIDTH = 390;
const LONG_UA = `Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 ${'ExtraToken/1.0 '.repeat(12)}`;
const suite = chromiumPath === null ? describe.skip : describe;

suite('the dashboard on a phone (headless Chromium, 390 px)', () => {
  let dir = '';
  let service: Service | undefined;
  let base = '';
  let browser: Browser | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-phone-'));
    const config = loadConfig({ flags: { port: '0', host: '127.0.0.1', store: `sqlite:${dir}/sessions.db`, dataDir: dir, adminPassword: PASSWORD, logLevel: 'silent' }, env: {} });
    service = await createService(config);
    base = await service.listen();
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Fails with the page and its widest element when anything makes the page wider than the screen. */
  async function expectNoSidewaysScroll(page: Page): Promise<void> {
    const widths = (await page.evaluate('({ doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, view: window.innerWidth })')) as { doc: number; body: number; view: number };
    expect(widths.view, page.url()).toBe(WIDTH);
    expect(widths.doc, page.url()).toBeLessThanOrEqual(WIDTH);
    expect(widths.body, page.url()).toBeLessThanOrEqual(WIDTH);
  }

  async function expectThumbSizedButtons(page: Page): Promise<void> {
    const small = await page.evaluate(
      "[...document.querySelectorAll('button, a.button')].map((el) => ({ text: (el.textContent || '').trim(), h: el.getBoundingClientRect().height })).filter((b) => b.h < 44)",
    );
    expect(small, page.url()).toEqual([]);
  }

  it('fits every page to the screen and works by touch, from sign-in to a confirmed revocation', async () => {
    const victim = await service!.ctx.sessions.create({ userId: 'phone-user-with-a-rather-long-identifier@example.com', client: { ip: '2001:db8:ffff:ffff:ffff:ffff:ffff:1', userAgent: LONG_UA } });
    await service!.ctx.sessions.create({ userId: 'phone-user-with-a-rather-long-identifier@example.com', client: { ip: '203.0.113.50', userAgent: LONG_UA } });
    const context = await browser!.newContext({ viewport: { width: WIDTH, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2 });
    const page = await context.newPage();
    try {
      await page.goto(`${base}/admin/login`);
      await expectNoSidewaysScroll(page);
      await expectThumbSizedButtons(page);
      await page.getByTestId('login-username').tap();
      await page.getByTestId('login-username').fill('admin');
      await page.getByTestId('login-password').fill(PASSWORD);
      await page.getByTestId('login-submit').tap();
      await page.waitForURL(`${base}/admin`);
      await page.getByTestId('charts').waitFor();
      await expectNoSidewaysScroll(page);
      await expectThumbSizedButtons(page);

      // The charts scale down with the screen.
      const chartWidth = await page.getByTestId('chart-validations').evaluate((el) => el.getBoundingClientRect().width);
      expect(chartWidth).toBeLessThanOrEqual(WIDTH);

      await page.getByTestId('prefix-search').fill('phone-');
      await page.getByTestId('prefix-search-submit').tap();
      await page.waitForURL((u) => u.pathname === '/admin/users' && u.searchParams.get('prefix') === 'phone-');
      await expectNoSidewaysScroll(page);
      await page.locator('[data-testid=user-row] a').first().tap();
      await page.waitForURL((u) => u.searchParams.get('user') !== null);
      await expectNoSidewaysScroll(page);
      await expectThumbSizedButtons(page);

      // The revoke button sits in a table that scrolls by itself; a tap reaches it.
      await page.locator(`tr[data-handle="${victim.session.handle}"]`).getByTestId('revoke-session').tap();
      await page.getByTestId('confirm').waitFor();
      await expectNoSidewaysScroll(page);
      await expectThumbSizedButtons(page);
      await page.getByTestId('confirm-submit').tap();
      await page.waitForURL((u) => u.searchParams.get('notice') === 'revoked');
      expect(await service!.ctx.sessions.validate(victim.token)).toEqual({ ok: false, reason: 'revoked' });

      await page.goto(`${base}/admin/events`);
      await expectNoSidewaysScroll(page);
      expect(await page.locator('[data-kind="admin-revoke"]').count()).toBe(1);
    } finally {
      await context.close();
    }
  }, 60_000);
});
