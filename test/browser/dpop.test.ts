/**
 * DPoP in real headless Chromium: `dpopProofs()` makes a non-extractable
 * ECDSA P-256 key, keeps it in IndexedDB, shares it between the tabs of the
 * origin and signs a proof for every request, so that the server (token
 * mode with DPoP) binds the tokens to it; sign-in, API calls and refreshes
 * go through with proofs, and a server nonce challenge is answered with one
 * retry.
 */
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import { chromiumPath } from '../e2e/chromium.js';
import { chromiumFixtures } from '../helpers/chromium-fixtures.js';
import { startTokenApp } from './support/apps.js';
import { jumpingClock, jumpTo } from '../helpers/clocks.js';
import { fetchIn, openTab, signIn } from './support/tabs.js';

const suite = chromiumPath === null ? describe.skip : describe;

/** What the page's IndexedDB holds for the DPoP key, and whether its private half can be exported. */
const STORED_KEY = `(async () => {
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open('latchkey-dpop');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const key = await new Promise((resolve, reject) => {
    const get = db.transaction('keys').objectStore('keys').get('dpop');
    get.onsuccess = () => resolve(get.result);
    get.onerror = () => reject(get.error);
  });
  db.close();
  if (key === undefined) return null;
  const exported = await crypto.subtle.exportKey('pkcs8', key.privateKey).then(() => 'exported', (e) => e.name);
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', key.publicKey);
  return { extractable: key.privateKey.extractable, algorithm: key.privateKey.algorithm, usages: key.privateKey.usages, exported, jwk: { kty, crv, x, y } };
})()`;

interface StoredKey {
  extractable: boolean;
  algorithm: { name: string; namedCurve: string };
  usages: string[];
  exported: string;
  jwk: JWK;
}

suite('DPoP in the browser (headless Chromium)', () => {
  const chromium = chromiumFixtures();

  async function context(): Promise<BrowserContext> {
    const c = await chromium.context();
    return c;
  }

  it('binds the tokens to a non-extractable key kept in IndexedDB, shared by every tab, and refreshes with proofs of it', async () => {
    const clock = jumpingClock();
    const a = await startTokenApp({ carrier: 'bearer', accessTtl: '5m', idleTimeout: '30m', absoluteTimeout: '12h', dpop: {}, clock });
    chromium.closeAfter(a);
    const ctx = await context();
    await ctx.clock.install();
    const page: Page = await openTab(ctx, `${a.url}/`);
    expect(await signIn(page, '/auth/login?user=alice', 'alice')).toBe(200);
    const me = await fetchIn(page, '/api/me');
    expect(me.status).toBe(200);

    const key = (await page.evaluate(STORED_KEY)) as StoredKey;
    expect(key).toMatchObject({ extractable: false, algorithm: { name: 'ECDSA', namedCurve: 'P-256' }, usages: ['sign'], exported: 'InvalidAccessError' });
    // The server bound the token to this very key: its thumbprint, computed here from the stored public half.
    expect(me.body.jkt).toBe(await calculateJwkThumbprint(key.jwk));

    // Another tab of the origin loads the same key and its calls are accepted with the family's tokens.
    const second = await openTab(ctx, `${a.url}/`);
    const there = await fetchIn(second, '/api/me');
    expect(there.status).toBe(200);
    expect(there.body.jkt).toBe(me.body.jkt);

    // Once the access token expires, the refresh goes with a proof of the bound key (else the family would be revoked as stolen).
    const before = a.counts.refresh;
    await jumpTo(ctx, clock, ((await page.evaluate('Date.now()')) as number) + 5 * 60_000 + 1_000);
    const later = await fetchIn(page, '/api/me');
    expect(later.status).toBe(200);
    expect(later.body.jkt).toBe(me.body.jkt);
    expect(a.counts.refresh - before).toBeGreaterThanOrEqual(1);
    // The session handle rotates with every refresh; the user and the key stay.
    expect(later.body.sid).not.toBe(me.body.sid);
    expect(later.body.user).toBe('alice');
  }, 90_000);

  it('answers the server nonce challenge of sign-in and of the API with one retry carrying DPoP-Nonce', async () => {
    const a = await startTokenApp({ carrier: 'bearer', accessTtl: '5m', idleTimeout: '30m', absoluteTimeout: '12h', dpop: { nonce: true } });
    chromium.closeAfter(a);
    const page = await openTab(await context(), `${a.url}/`);
    expect(await signIn(page, '/auth/login?user=bob', 'bob')).toBe(200);
    const me = await fetchIn(page, '/api/me');
    expect(me.status).toBe(200);
    expect(me.body.user).toBe('bob');
    expect(me.body.jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
  }, 90_000);

  it('takes the next server nonce from a successful answer, so no API call is refused when the nonce rotates', async () => {
    // The server's clock moves at the test's command; the page's proofs keep the real time, well within their 1-minute age.
    const clock = manualClock(Date.now());
    const a = await startTokenApp({ carrier: 'bearer', accessTtl: '5m', idleTimeout: '30m', absoluteTimeout: '12h', dpop: { nonce: true, nonceStep: '10s' }, clock });
    chromium.closeAfter(a);
    const page = await openTab(await chromium.context(), `${a.url}/`);
    expect(await signIn(page, '/auth/login?user=erin', 'erin')).toBe(200);
    expect((await fetchIn(page, '/api/me')).status).toBe(200);
    for (let step = 0; step < 3; step++) {
      clock.advance('10s');
      const before = a.counts.api;
      expect((await fetchIn(page, '/api/me')).status).toBe(200);
      // One request each: never a use_dpop_nonce refusal and its retry.
      expect(a.counts.api - before).toBe(1);
    }
  }, 90_000);
});
