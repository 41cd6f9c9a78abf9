/**
 * Idle and absolute deadlines on the client, in real headless Chromium, on
 * a short configuration (6 or 8 s idle, `warnBefore` 3 s): the deadlines the tabs
 * hold are the server's; `expiring` fires in every tab before the idle
 * deadline, while the session still lives on the server; `expired` fires at
 * the deadline and signs the tabs out; activity in one tab moves the
 * deadline of every tab. Token mode and cookie sessions.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../cli/built.js';
import { chromiumPath } from '../e2e/chromium.js';
import { startSessionApp, startTokenApp, type SessionApp, type TokenApp } from './support/apps.js';
import { closeBrowser, events, fetchIn, newContext, openTab, signIn, sleep, state, type PageEvent } from './support/tabs.js';

const suite = chromiumPath === null ? describe.skip : describe;
const IDLE_MS = 6_000;
const WARN_MS = 3_000;
/**
 * For the tests that act in between: the warning comes 7 s after the sign-in, the activity 4 s after it
 * (counted from the server's own deadline, not from when the test started, so that a slow tab opening on a
 * loaded machine does not shrink the move below what the test asserts).
 */
const LONGER_IDLE_MS = 10_000;
const ACTIVITY_AT = 4_000;

suite('deadlines on the client (headless Chromium)', () => {
  const closers: Array<{ close(): Promise<void> }> = [];
  const contexts: BrowserContext[] = [];

  beforeAll(() => ensureBuilt(), 200_000);
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await closeBrowser();
    for (const c of closers) await c.close();
  });

  async function tokenApp(idle = IDLE_MS): Promise<TokenApp> {
    const a = await startTokenApp({ carrier: 'bearer', accessTtl: '1m', idleTimeout: `${idle / 1000}s`, absoluteTimeout: '1m' });
    closers.push(a);
    return a;
  }

  async function sessionApp(idle = IDLE_MS): Promise<SessionApp> {
    const a = await startSessionApp({ idleTimeout: `${idle / 1000}s`, absoluteTimeout: '1m' });
    closers.push(a);
    return a;
  }

  async function tabs(url: string, login: string, count: number): Promise<Page[]> {
    const context = await newContext();
    contexts.push(context);
    const first = await openTab(context, `${url}/?warnBefore=${WARN_MS}`);
    expect(await signIn(first, login, 'alice')).toBe(200);
    const pages = [first];
    for (let i = 1; i < count; i++) pages.push(await openTab(context, `${url}/?warnBefore=${WARN_MS}`));
    return pages;
  }

  async function first(page: Page, type: string, timeout: number): Promise<PageEvent> {
    await page.waitForFunction(`window.events.some((e) => e.type === ${JSON.stringify(type)})`, undefined, { timeout });
    return (await events(page, type))[0]!;
  }

  it('token mode: expiring fires in every tab before the idle deadline the server holds, then expired signs them out at it', async () => {
    const a = await tokenApp();
    const pages = await tabs(a.url, '/auth/login?user=alice', 2);
    const sid = (await fetchIn(pages[0]!, '/api/me')).body.sid as string;
    const family = await a.tokens.refreshTokens.session(sid);
    const deadline = (await state(pages[0]!)).idleDeadline as number;
    // The server's deadline, as the tabs hold it (rounded down to the second, minus the latency).
    expect(family!.idleExpiresAt - deadline).toBeGreaterThanOrEqual(0);
    expect(family!.idleExpiresAt - deadline).toBeLessThan(1_500);
    for (const page of pages) expect((await state(page)).idleDeadline).toBe(deadline);

    for (const page of pages) {
      const expiring = await first(page, 'expiring', IDLE_MS);
      expect(expiring.event).toMatchObject({ kind: 'idle', deadline });
      expect(expiring.at).toBeLessThan(deadline);
      expect(expiring.at).toBeGreaterThanOrEqual(deadline - WARN_MS - 50);
      expect(expiring.event.remaining).toBeGreaterThan(0);
    }
    // Still alive on the server when the warning shows: "stay signed in?" would have saved it.
    expect(await a.tokens.refreshTokens.session(sid)).not.toBeNull();

    for (const page of pages) {
      const expired = await first(page, 'expired', IDLE_MS);
      expect(expired.event).toMatchObject({ kind: 'idle', deadline });
      expect(expired.at).toBeGreaterThanOrEqual(deadline);
      expect(await state(page)).toMatchObject({ status: 'signed-out', reason: 'expired', idleDeadline: null });
      expect((await events(page, 'signed-out'))[0]?.event).toMatchObject({ reason: 'expired' });
    }
    // And over on the server.
    await sleep(Math.max(0, family!.idleExpiresAt + 50 - Date.now()));
    expect(await a.tokens.refreshTokens.session(sid)).toBeNull();
  }, 30_000);

  it('token mode: extend() in one tab moves the deadline of every tab, and the warning with it', async () => {
    const a = await tokenApp(LONGER_IDLE_MS);
    const pages = await tabs(a.url, '/auth/login?user=alice', 2);
    const before = (await state(pages[0]!)).idleDeadline as number;
    const activityAt = before - LONGER_IDLE_MS + ACTIVITY_AT;
    expect(Date.now(), 'the tabs took longer than the test allows to open').toBeLessThan(activityAt);
    await sleep(activityAt - Date.now());
    await pages[1]!.evaluate('window.lk.extend()');
    await pages[0]!.waitForFunction(`window.lk.getState().idleDeadline > ${before + 1_500}`, undefined, { timeout: 5_000 });
    const after = (await state(pages[0]!)).idleDeadline as number;
    expect((await state(pages[1]!)).idleDeadline).toBe(after);

    const expiring = await first(pages[0]!, 'expiring', LONGER_IDLE_MS);
    // Not at the old deadline's warning time: at the new one's.
    expect(expiring.event.deadline).toBe(after);
    expect(expiring.at).toBeGreaterThanOrEqual(after - WARN_MS - 50);
    expect(expiring.at).toBeLessThan(after);
    expect(await events(pages[0]!, 'expired')).toEqual([]);
  }, 30_000);

  it('cookie sessions: expiring fires before the idle deadline, and a request in one tab extends the session for all', async () => {
    const a = await sessionApp(LONGER_IDLE_MS);
    const t0 = Date.now();
    const pages = await tabs(a.url, '/login?user=alice', 2);
    const before = (await state(pages[0]!)).idleDeadline as number;
    expect(before).toBeGreaterThanOrEqual(t0 + LONGER_IDLE_MS - 1_000);
    const activityAt = before - LONGER_IDLE_MS + ACTIVITY_AT;
    expect(Date.now(), 'the tabs took longer than the test allows to open').toBeLessThan(activityAt);

    // Activity in the second tab: its request touches the session on the server, and the answer says so.
    await sleep(activityAt - Date.now());
    expect((await fetchIn(pages[1]!, '/api/me')).status).toBe(200);
    await pages[0]!.waitForFunction(`window.lk.getState().idleDeadline > ${before + 1_500}`, undefined, { timeout: 5_000 });
    const after = (await state(pages[0]!)).idleDeadline as number;

    const expiring = await first(pages[0]!, 'expiring', LONGER_IDLE_MS);
    expect(expiring.event).toMatchObject({ kind: 'idle', deadline: after });
    expect(expiring.at).toBeGreaterThanOrEqual(after - WARN_MS - 50);
    expect(expiring.at).toBeLessThan(after);
    // The session still lives on the server when the warning shows.
    expect((await fetchIn(pages[0]!, '/api/me')).status).toBe(200);
  }, 30_000);
});
