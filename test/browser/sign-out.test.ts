/**
 * Sign-out across tabs, in real headless Chromium: `signOut()` or
 * `signOutEverywhere()` in one tab signs the other tabs of the browser out
 * within a second, the server gets exactly one request for it, and the
 * session is over on the server too. With BroadcastChannel, and with the
 * `storage` event where there is none.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { chromiumPath } from '../e2e/chromium.js';
import { chromiumFixtures } from '../helpers/chromium-fixtures.js';
import { startSessionApp, startTokenApp, type Counts } from './support/apps.js';
import { events, fetchIn, type newContext, openTab, signIn, state, until } from './support/tabs.js';

const suite = chromiumPath === null ? describe.skip : describe;

interface App {
  url: string;
  counts: Counts;
  close(): Promise<void>;
  /** The sign-in route of the app. */
  login: string;
}

suite('sign-out across tabs (headless Chromium)', () => {
  const chromium = chromiumFixtures();

  async function app(mode: 'bearer' | 'cookie' | 'session'): Promise<App> {
    const a =
      mode === 'session'
        ? { ...(await startSessionApp({ idleTimeout: '30m', absoluteTimeout: '12h' })), login: '/login?user=alice' }
        : { ...(await startTokenApp({ carrier: mode, accessTtl: '5m', idleTimeout: '30m', absoluteTimeout: '12h' })), login: '/auth/login?user=alice' };
    chromium.closeAfter(a);
    return a;
  }

  async function signedInTabs(a: App, count: number, without: Parameters<typeof newContext>[0] = {}): Promise<Page[]> {
    const context = await chromium.context(without);
    const first = await openTab(context, `${a.url}/`);
    expect(await signIn(first, a.login, 'alice')).toBe(200);
    const pages = [first];
    for (let i = 1; i < count; i++) pages.push(await openTab(context, `${a.url}/`));
    for (const page of pages) expect((await state(page)).status).toBe('signed-in');
    return pages;
  }

  /** Runs `action` in the first tab; resolves how long each other tab took to emit `signed-out`, by the pages' shared clock. */
  async function delays(pages: Page[], action: string): Promise<number[]> {
    const [first, ...others] = pages as [Page, ...Page[]];
    const started = (await first.evaluate(`(async () => { const t = Date.now(); await window.lk.${action}(); return t; })()`)) as number;
    for (const page of others) await until(page, 'signed-out', 2_000);
    const out: number[] = [];
    for (const page of others) out.push(((await events(page, 'signed-out'))[0]?.at ?? Infinity) - started);
    return out;
  }

  it.each(['bearer', 'cookie', 'session'] as const)('a sign-out in one tab (%s) signs the other tabs out within a second, with one request to the server', async (mode) => {
    const a = await app(mode);
    const pages = await signedInTabs(a, 3);
    const before = { ...a.counts };
    for (const d of await delays(pages, 'signOut')) expect(d).toBeLessThan(1_000);

    expect(a.counts.logout - before.logout).toBe(1);
    for (const page of pages) {
      expect(await state(page)).toMatchObject({ status: 'signed-out', reason: 'signed-out', user: null });
      // Ended on the server too: no tab gets in any more.
      expect((await fetchIn(page, '/api/me')).status).toBe(401);
    }
    expect((await events(pages[0]!, 'signed-out'))[0]?.event).toEqual({ reason: 'signed-out', here: true });
    expect((await events(pages[1]!, 'signed-out'))[0]?.event).toEqual({ reason: 'signed-out', here: false });
  }, 60_000);

  it.each(['bearer', 'cookie', 'session'] as const)('sign-out everywhere in one tab (%s) signs out every tab at once and every other device at its next request', async (mode) => {
    const a = await app(mode);
    const pages = await signedInTabs(a, 3);
    // Another browser (another device) of the same user.
    const laptop = (await signedInTabs(a, 1))[0]!;
    const before = { ...a.counts };
    for (const d of await delays(pages, 'signOutEverywhere')) expect(d).toBeLessThan(1_000);
    expect(a.counts.everywhere - before.everywhere).toBe(1);
    expect(a.counts.logout - before.logout).toBe(0);
    for (const page of pages) expect(await state(page)).toMatchObject({ status: 'signed-out', reason: 'signed-out-everywhere' });

    // The other device learns at its next request (its session ended on the server).
    expect((await fetchIn(laptop, '/api/me')).status).toBe(401);
    expect((await state(laptop)).status).toBe('signed-out');
    expect((await state(laptop)).reason).toBe(mode === 'session' ? 'ended' : 'revoked');
  }, 60_000);

  it('a sign-out made while a refresh is on its way stays a sign-out in every tab when the refresh answers', async () => {
    const a = await startTokenApp({ carrier: 'bearer', accessTtl: '5m', idleTimeout: '30m', absoluteTimeout: '12h', refreshDelayMs: 500 });
    chromium.closeAfter({ ...a, login: '/auth/login?user=alice' });
    const pages = await signedInTabs({ ...a, login: '/auth/login?user=alice' }, 2);
    // "Stay signed in", then "Sign out" while the refresh is on the wire.
    const sent = pages[0]!.waitForRequest((r) => r.url().endsWith('/auth/refresh'));
    await pages[0]!.evaluate('void (window.__extending = window.lk.extend())');
    await sent;
    await pages[0]!.evaluate('window.lk.signOut()');
    await pages[0]!.evaluate('window.__extending');
    expect(a.counts.refresh).toBe(1);
    for (const page of pages) {
      expect(await state(page)).toMatchObject({ status: 'signed-out', reason: 'signed-out' });
      expect(await events(page, 'signed-in')).toHaveLength(1);
    }
  }, 60_000);

  it('without BroadcastChannel, a sign-out still reaches the other tabs (the storage event) within a second', async () => {
    const a = await app('cookie');
    const pages = await signedInTabs(a, 3, { broadcastChannel: true });
    for (const d of await delays(pages, 'signOut')) expect(d).toBeLessThan(1_000);
    for (const page of pages) expect((await state(page)).status).toBe('signed-out');
    // The message was removed as soon as it was written: nothing stays in localStorage.
    expect(await pages[0]!.evaluate('localStorage.length')).toBe(0);
  }, 60_000);
});
