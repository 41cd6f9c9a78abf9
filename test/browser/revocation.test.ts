/**
 * Revocation and theft reach every tab, in real headless Chromium: when the
 * server ends the token family (revoked by an administrator or a sign-out
 * elsewhere, or revoked by theft detection because a stolen refresh token
 * was used first), the refresh that follows fails with `invalid_grant`, and
 * every tab of the browser signs out with the server's reason.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { chromiumPath } from '../e2e/chromium.js';
import { chromiumFixtures } from '../helpers/chromium-fixtures.js';
import { startTokenApp, type TokenApp } from './support/apps.js';
import { jumpingClock, type JumpingClock } from '../helpers/clocks.js';
import { events, fetchIn, openTab, state, until } from './support/tabs.js';

const suite = chromiumPath === null ? describe.skip : describe;

suite('revocation and theft across tabs (headless Chromium)', () => {
  const chromium = chromiumFixtures();

  async function start(carrier: 'bearer' | 'cookie', clock?: JumpingClock): Promise<TokenApp> {
    const a = await startTokenApp({ carrier, accessTtl: '5m', idleTimeout: '30m', absoluteTimeout: '12h', graceWindow: '1s', ...(clock === undefined ? {} : { clock }) });
    chromium.closeAfter(a);
    return a;
  }

  /** Three signed-in tabs; resolves them and the sign-in answer's body (the bearer pair). */
  async function tabs(a: TokenApp): Promise<{ pages: Page[]; pair: Record<string, unknown> }> {
    const context = await chromium.context();
    const first = await openTab(context, `${a.url}/`);
    const answer = first.waitForResponse((r) => r.url().endsWith('/auth/login?user=alice'));
    await first.evaluate(`window.lk.signIn('/auth/login?user=alice', {}, 'alice')`);
    const pair = (await (await answer).json()) as Record<string, unknown>;
    const pages = [first, await openTab(context, `${a.url}/`), await openTab(context, `${a.url}/`)];
    for (const page of pages) expect((await state(page)).status).toBe('signed-in');
    return { pages, pair };
  }

  it.each(['bearer', 'cookie'] as const)('a family revoked on the server (%s carrier) signs every tab out at the next request of any of them', async (carrier) => {
    const a = await start(carrier);
    const { pages } = await tabs(a);
    const sid = (await fetchIn(pages[0]!, '/api/me')).body.sid as string;
    expect(await a.tokens.revokeFamily(sid)).toBe(true);

    // One tab's request is refused (invalid_token, revoked); its refresh is refused (invalid_grant, revoked).
    const before = a.counts.refresh;
    expect((await fetchIn(pages[2]!, '/api/me')).status).toBe(401);
    expect(a.counts.refresh - before).toBe(1);
    for (const page of pages) {
      await until(page, 'signed-out');
      expect(await state(page)).toMatchObject({ status: 'signed-out', reason: 'revoked' });
    }
    expect((await events(pages[2]!, 'signed-out'))[0]?.event).toEqual({ reason: 'revoked', here: true });
    expect((await events(pages[0]!, 'signed-out'))[0]?.event).toEqual({ reason: 'revoked', here: false });
  }, 60_000);

  it('a stolen refresh token used first makes the tabs\' next refresh a reuse: the family is revoked and every tab signs out', async () => {
    const clock = jumpingClock();
    const a = await start('bearer', clock);
    const { pages, pair } = await tabs(a);
    // The thief refreshes with the tabs' refresh token, and gets a pair of their own.
    const stolen = await a.tokens.refresh(pair.refresh_token);
    expect(stolen.ok).toBe(true);
    clock.jump(1_100); // past the server's grace window (1 s)

    // "Stay signed in" in one tab: a refresh with what is now an old token.
    await pages[1]!.evaluate('window.lk.extend()');
    for (const page of pages) {
      await until(page, 'signed-out');
      expect(await state(page)).toMatchObject({ status: 'signed-out', reason: 'reused' });
    }
    // The thief's tokens died with the family.
    if (!stolen.ok) throw new Error('unreachable');
    expect(await a.tokens.verify(stolen.accessToken)).toEqual({ ok: false, reason: 'revoked' });
    expect((await a.tokens.refresh(stolen.refreshToken)).ok).toBe(false);
  }, 60_000);
});
