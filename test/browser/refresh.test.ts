/**
 * One refresh across tabs, in real headless Chromium: five tabs of one
 * browser context whose access token goes stale at the same moment (or is
 * refused by the server at the same moment) make exactly one request to the
 * refresh endpoint, counted on the server, and every tab's request goes
 * through with the new token, replayed at most once. With Web Locks, and
 * with each fallback.
 */
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import { chromiumPath } from '../e2e/chromium.js';
import { chromiumFixtures } from '../helpers/chromium-fixtures.js';
import { startTokenApp, type TokenApp } from './support/apps.js';
import { fetchIn, type newContext, openTab, signIn, state } from './support/tabs.js';

const suite = chromiumPath === null ? describe.skip : describe;
const TABS = 5;
/**
 * Access tokens of 8 s are replaced a fifth of their life early, 6.4 s after
 * they were issued. The browser's clock is Playwright's: it runs as the real
 * one while the tabs open (however long a loaded machine takes), then jumps
 * past the stale point in every tab at once.
 */
const ACCESS_MS = 8_000;
const STALE_MS = ACCESS_MS - ACCESS_MS / 5;

suite('one refresh across tabs (headless Chromium)', () => {
  const chromium = chromiumFixtures();

  async function app(carrier: 'bearer' | 'cookie', clock?: ReturnType<typeof manualClock>): Promise<TokenApp> {
    const a = await startTokenApp({ carrier, accessTtl: clock === undefined ? `${ACCESS_MS / 1000}s` : '5m', idleTimeout: '10m', absoluteTimeout: '1h', ...(clock === undefined ? {} : { clock }) });
    chromium.closeAfter(a);
    return a;
  }

  /** Signs in in a first tab, then opens the others: they take the session from the first, without a refresh. */
  async function tabs(a: TokenApp, without: Parameters<typeof newContext>[0] = {}) {
    const context = await chromium.context(without);
    // Installed before any page: every tab of the context reads the one clock the test moves.
    await context.clock.install();
    const first = await openTab(context, `${a.url}/`);
    const signedInAt = (await first.evaluate('Date.now()')) as number;
    expect(await signIn(first, '/auth/login?user=alice', { name: 'alice' })).toBe(200);
    const sid = (await fetchIn(first, '/api/me')).body.sid;
    expect(sid).toEqual(expect.any(String));
    const refreshes = a.counts.refresh;
    const pages = [first];
    for (let i = 1; i < TABS; i++) pages.push(await openTab(context, `${a.url}/`));
    for (const page of pages) expect((await state(page)).status).toBe('signed-in');
    // The new tabs asked the first one, not the server.
    expect(a.counts.refresh).toBe(refreshes);
    return { context, pages, signedInAt, sid };
  }

  const cases = [
    ['bearer', {}],
    ['cookie', {}],
    ['bearer', { locks: true }],
    ['cookie', { locks: true, broadcastChannel: true }],
  ] as const;

  it.each(cases)('five tabs (%s carrier, without %j) whose access token goes stale at once make exactly one refresh request, and every request goes through', async (carrier, without) => {
    const a = await app(carrier);
    const { context, pages, signedInAt, sid } = await tabs(a, without);
    // Every tab still holds the fresh token: on the browser's clock the stale point is ahead.
    for (const page of pages) expect(await page.evaluate('Date.now()')).toBeLessThan(signedInAt + STALE_MS);

    // Past the stale point every tab holds a token to replace (no timer fires: the next request finds it stale).
    await context.clock.setSystemTime(signedInAt + STALE_MS + 300);
    const before = { ...a.counts };
    const answers = await Promise.all(pages.map((page) => fetchIn(page, '/api/me')));

    expect(answers.map((r) => r.status)).toEqual(pages.map(() => 200));
    expect(a.counts.refresh - before.refresh).toBe(1);
    // Held until the refresh, then sent once each with the new token.
    expect(a.counts.api - before.api).toBe(TABS);
    // Every tab holds the one new token (its sid names the family's new record): no theft detected, nobody signed out.
    const sids = new Set(answers.map((r) => r.body.sid));
    expect(sids.size).toBe(1);
    expect(sids.has(sid)).toBe(false);
    for (const page of pages) expect((await state(page)).status).toBe('signed-in');
  }, 60_000);

  it.each(['bearer', 'cookie'] as const)('five tabs whose requests the server refuses at once (401 invalid_token, %s carrier) refresh once and replay each request once', async (carrier) => {
    // The server's clock runs ahead of the browser's: the tokens the tabs hold are fresh to them, expired to the server.
    const clock = manualClock(Date.now());
    const a = await app(carrier, clock);
    const { pages } = await tabs(a);
    expect((await fetchIn(pages[0]!, '/api/me')).status).toBe(200);
    clock.advance('6m');

    const before = { ...a.counts };
    // Every tab's first request reaches the server before any is answered: all five carry the old token.
    a.holdApi(TABS);
    const answers = await Promise.all(pages.map((page) => fetchIn(page, '/api/me')));
    expect(answers.map((r) => r.status)).toEqual(pages.map(() => 200));
    expect(a.counts.refresh - before.refresh).toBe(1);
    // Each request refused once, replayed once.
    expect(a.counts.api - before.api).toBe(2 * TABS);
    for (const page of pages) expect((await state(page)).status).toBe('signed-in');
  }, 60_000);
});
