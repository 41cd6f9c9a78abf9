/**
 * Idle and absolute deadlines on the client, in real headless Chromium
 * (10 min idle, `warnBefore` 1 min): the deadlines the tabs hold are the
 * server's; `expiring` fires in every tab at the warning time before the
 * idle deadline, while the session still lives on the server, and not
 * before; `expired` fires at the deadline and signs the tabs out; activity
 * in one tab moves the deadline of every tab. Token mode and cookie
 * sessions.
 *
 * Time: the browser's clock is Playwright's and the server's follows the
 * system clock; both run as the real one while the tabs open (however long
 * a loaded machine takes: the deadlines are minutes away) and jump together
 * to the moments the tests are about, firing the tabs' timers due by then.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { chromiumPath } from '../e2e/chromium.js';
import { chromiumFixtures } from '../helpers/chromium-fixtures.js';
import { jumpingClock, jumpingSystemClock, jumpTo, type JumpingClock } from '../helpers/clocks.js';
import { startSessionApp, startTokenApp, type SessionApp, type TokenApp } from './support/apps.js';
import { events, fetchIn, openTab, signIn, state, type PageEvent } from './support/tabs.js';

const suite = chromiumPath === null ? describe.skip : describe;
const IDLE_MS = 10 * 60_000;
const WARN_MS = 60_000;
/** The activity comes 4 min after the sign-in, well before the first deadline's warning (9 min). */
const ACTIVITY_AT = 4 * 60_000;
/** How far short of a moment the tests look for what must not have happened yet. */
const SHORT = 1_000;

suite('deadlines on the client (headless Chromium)', () => {
  const chromium = chromiumFixtures();

  async function tokenApp(clock: JumpingClock): Promise<TokenApp> {
    const a = await startTokenApp({ carrier: 'bearer', accessTtl: '1m', idleTimeout: `${IDLE_MS / 1000}s`, absoluteTimeout: '1h', clock });
    chromium.closeAfter(a);
    return a;
  }

  async function sessionApp(clock: JumpingClock | null): Promise<SessionApp> {
    const a = await startSessionApp({ idleTimeout: `${IDLE_MS / 1000}s`, absoluteTimeout: '1h', ...(clock === null ? {} : { clock }) });
    chromium.closeAfter(a);
    return a;
  }

  async function tabs(url: string, login: string, count: number): Promise<{ context: BrowserContext; pages: Page[] }> {
    const context = await chromium.context();
    await context.clock.install();
    const first = await openTab(context, `${url}/?warnBefore=${WARN_MS}`);
    expect(await signIn(first, login, 'alice')).toBe(200);
    const pages = [first];
    for (let i = 1; i < count; i++) pages.push(await openTab(context, `${url}/?warnBefore=${WARN_MS}`));
    return { context, pages };
  }

  async function first(page: Page, type: string): Promise<PageEvent> {
    await page.waitForFunction(`window.events.some((e) => e.type === ${JSON.stringify(type)})`, undefined, { timeout: 5_000 });
    return (await events(page, type))[0]!;
  }

  it('token mode: expiring fires in every tab at the warning time before the idle deadline the server holds, then expired signs them out at it', async () => {
    const clock = jumpingClock();
    const a = await tokenApp(clock);
    const { context, pages } = await tabs(a.url, '/auth/login?user=alice', 2);
    const sid = (await fetchIn(pages[0]!, '/api/me')).body.sid as string;
    const family = await a.tokens.refreshTokens.session(sid);
    const deadline = (await state(pages[0]!)).idleDeadline as number;
    // The server's deadline, as the tabs hold it (rounded down to the second, minus the latency).
    expect(family!.idleExpiresAt - deadline).toBeGreaterThanOrEqual(0);
    expect(family!.idleExpiresAt - deadline).toBeLessThan(1_500);
    for (const page of pages) expect((await state(page)).idleDeadline).toBe(deadline);

    // Not before the warning time.
    await jumpTo(context, clock, deadline - WARN_MS - SHORT);
    for (const page of pages) expect(await events(page, 'expiring')).toEqual([]);
    await jumpTo(context, clock, deadline - WARN_MS + 10);
    for (const page of pages) {
      const expiring = await first(page, 'expiring');
      expect(expiring.event).toMatchObject({ kind: 'idle', deadline });
      expect(expiring.at).toBeLessThan(deadline);
      expect(expiring.at).toBeGreaterThanOrEqual(deadline - WARN_MS);
      expect(expiring.event.remaining).toBeGreaterThan(0);
    }
    // Still alive on the server when the warning shows: "stay signed in?" would have saved it.
    expect(await a.tokens.refreshTokens.session(sid)).not.toBeNull();

    await jumpTo(context, clock, deadline - SHORT);
    for (const page of pages) expect(await events(page, 'expired')).toEqual([]);
    await jumpTo(context, clock, deadline + 10);
    for (const page of pages) {
      const expired = await first(page, 'expired');
      expect(expired.event).toMatchObject({ kind: 'idle', deadline });
      expect(expired.at).toBeGreaterThanOrEqual(deadline);
      expect(await state(page)).toMatchObject({ status: 'signed-out', reason: 'expired', idleDeadline: null });
      expect((await events(page, 'signed-out'))[0]?.event).toMatchObject({ reason: 'expired' });
    }
    // And over on the server.
    clock.jump(Math.max(0, family!.idleExpiresAt + 50 - clock.now()));
    expect(await a.tokens.refreshTokens.session(sid)).toBeNull();
  }, 30_000);

  it('token mode: extend() in one tab moves the deadline of every tab, and the warning with it', async () => {
    const clock = jumpingClock();
    const a = await tokenApp(clock);
    const { context, pages } = await tabs(a.url, '/auth/login?user=alice', 2);
    const before = (await state(pages[0]!)).idleDeadline as number;
    await jumpTo(context, clock, before - IDLE_MS + ACTIVITY_AT);
    await pages[1]!.evaluate('window.lk.extend()');
    await pages[0]!.waitForFunction(`window.lk.getState().idleDeadline > ${before + ACTIVITY_AT / 2}`, undefined, { timeout: 5_000 });
    const after = (await state(pages[0]!)).idleDeadline as number;
    expect((await state(pages[1]!)).idleDeadline).toBe(after);

    // Past the old deadline's warning time: no warning.
    await jumpTo(context, clock, before - WARN_MS + 10);
    expect(await events(pages[0]!, 'expiring')).toEqual([]);
    // At the new one's.
    await jumpTo(context, clock, after - WARN_MS + 10);
    const expiring = await first(pages[0]!, 'expiring');
    expect(expiring.event.deadline).toBe(after);
    expect(expiring.at).toBeGreaterThanOrEqual(after - WARN_MS);
    expect(expiring.at).toBeLessThan(after);
    expect(await events(pages[0]!, 'expired')).toEqual([]);
  }, 30_000);

  it('cookie sessions: expiring fires before the idle deadline the server holds, and a request in one tab extends the session for all', async () => {
    // The server on the system clock, moved with the browser's: the HTTP layer counts the deadlines it sends by it.
    const clock = jumpingSystemClock();
    try {
      const a = await sessionApp(null);
      const { context, pages } = await tabs(a.url, '/login?user=alice', 2);
      const serverDeadline = async () => (await a.sessions.list('alice'))[0]!.expiresAt;
      const before = (await state(pages[0]!)).idleDeadline as number;
      const signedIn = await serverDeadline();
      // The server's deadline, as the tabs hold it (rounded down to the second, minus the latency).
      expect(signedIn - before).toBeGreaterThanOrEqual(0);
      expect(signedIn - before).toBeLessThan(1_500);

      // Activity in the second tab, 4 min later: its request touches the session on the server, and the answer says so.
      await jumpTo(context, clock, before - IDLE_MS + ACTIVITY_AT);
      expect((await fetchIn(pages[1]!, '/api/me')).status).toBe(200);
      await pages[0]!.waitForFunction(`window.lk.getState().idleDeadline > ${before + ACTIVITY_AT / 2}`, undefined, { timeout: 5_000 });
      const after = (await state(pages[0]!)).idleDeadline as number;
      expect((await state(pages[1]!)).idleDeadline).toBe(after);
      const touched = await serverDeadline();
      expect(touched - signedIn).toBeGreaterThanOrEqual(ACTIVITY_AT - 1_000);
      expect(touched - after).toBeGreaterThanOrEqual(0);
      expect(touched - after).toBeLessThan(1_500);

      await jumpTo(context, clock, before - WARN_MS + 10);
      expect(await events(pages[0]!, 'expiring')).toEqual([]);
      await jumpTo(context, clock, after - WARN_MS + 10);
      const expiring = await first(pages[0]!, 'expiring');
      expect(expiring.event).toMatchObject({ kind: 'idle', deadline: after });
      expect(expiring.at).toBeGreaterThanOrEqual(after - WARN_MS);
      expect(expiring.at).toBeLessThan(after);
      // The session still lives on the server when the warning shows.
      expect((await fetchIn(pages[0]!, '/api/me')).status).toBe(200);
    } finally {
      clock.restore();
    }
  }, 30_000);
});
