/**
 * The request pipeline, in real headless Chromium: the CSRF header cookie
 * sessions expect on unsafe requests; the interceptor driving an HTTP client
 * other than fetch (XMLHttpRequest) through a refused token, one refresh and
 * one replay; request hooks adding a per-request header to every request,
 * the token endpoints included, and answering a server nonce challenge with
 * one replay (where a DPoP proof plugs in); and options refused with
 * a `ConfigError` at construction.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import { chromiumPath } from '../e2e/chromium.js';
import { chromiumFixtures } from '../helpers/chromium-fixtures.js';
import { startSessionApp, startTokenApp } from './support/apps.js';
import { fetchIn, openTab, signIn } from './support/tabs.js';

const suite = chromiumPath === null ? describe.skip : describe;

suite('the request pipeline (headless Chromium)', () => {
  const chromium = chromiumFixtures();

  async function tab(url: string): Promise<Page> {
    const context = await chromium.context();
    return openTab(context, url);
  }

  it('sends the session\'s CSRF token in the header cookie sessions expect, on unsafe requests only', async () => {
    const a = await startSessionApp({ idleTimeout: '30m', absoluteTimeout: '12h' });
    chromium.closeAfter(a);
    const page = await tab(`${a.url}/`);
    expect(await signIn(page, '/login?user=alice', 'alice')).toBe(200);
    expect((await fetchIn(page, '/api/echo', 'POST')).status).toBe(200);
    expect((await fetchIn(page, '/api/echo', 'GET')).status).toBe(200);
    expect(a.csrf).toEqual([
      { header: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), matches: true },
      { header: null, matches: false },
    ]);
  }, 60_000);

  it('drives another HTTP client through the interceptor: a refused token, one refresh, one replay', async () => {
    const clock = manualClock(Date.now());
    const a = await startTokenApp({ carrier: 'bearer', accessTtl: '5m', idleTimeout: '30m', absoluteTimeout: '12h', clock });
    chromium.closeAfter(a);
    const page = await tab(`${a.url}/`);
    expect(await signIn(page, '/auth/login?user=alice', 'alice')).toBe(200);
    clock.advance('6m');
    const before = { ...a.counts };
    // A minimal XMLHttpRequest client with the interceptor, as one would wire axios or ky.
    const answer = await page.evaluate(`(async () => {
      const request = { url: '/api/me', method: 'GET' };
      const send = (headers) => new Promise((resolve) => {
        const xhr = new XMLHttpRequest();
        xhr.open(request.method, request.url);
        for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
        xhr.onload = () => resolve({ status: xhr.status, headers: { 'www-authenticate': xhr.getResponseHeader('www-authenticate') }, body: xhr.responseText });
        xhr.send();
      });
      let response = await send(await window.lk.interceptor.headers(request));
      const statuses = [response.status];
      while (await window.lk.interceptor.answer(request, response)) {
        response = await send(await window.lk.interceptor.headers(request));
        statuses.push(response.status);
      }
      return { statuses, body: JSON.parse(response.body) };
    })()`);
    expect(answer).toEqual({ statuses: [401, 200], body: { user: 'alice', sid: expect.any(String) } });
    expect(a.counts.refresh - before.refresh).toBe(1);
    expect(a.counts.api - before.api).toBe(2);
  }, 60_000);

  it('runs request hooks on every request, the token endpoints included, and replays once when a hook answers a nonce challenge', async () => {
    const a = await startTokenApp({ carrier: 'bearer', accessTtl: '5m', idleTimeout: '30m', absoluteTimeout: '12h' });
    chromium.closeAfter(a);
    const page = await tab(`${a.url}/`);
    // A second session in the page, with a hook standing in for a DPoP proof: a header per request, the server's nonce learnt from its challenge.
    const result = await page.evaluate(`(async () => {
      const { createBrowserSession } = await import('/dist/browser/index.js');
      let nonce = 'none';
      const seen = [];
      const proof = {
        headers: (r) => { seen.push(r.purpose + ' ' + r.method + ' ' + new URL(r.url).pathname + ' ' + (r.accessToken === null ? 'no-token' : 'token')); return { 'x-proof': 'nonce=' + nonce }; },
        response: (res) => { const next = res.headers.get('dpop-nonce'); if (res.status === 401 && next) { nonce = next; return true; } return false; },
      };
      const s = createBrowserSession({ mode: 'bearer', name: 'hooked', hooks: [proof] });
      await s.ready;
      await s.signIn('/auth/login?user=alice', {}, 'alice');
      await s.extend();
      const r = await s.fetch('/api/nonce');
      return { status: r.status, seen };
    })()`);
    expect(result).toEqual({
      status: 200,
      seen: ['sign-in POST /auth/login no-token', 'refresh POST /auth/refresh no-token', 'api GET /api/nonce token', 'api GET /api/nonce token'],
    });
    expect(a.proofs).toEqual([
      { path: '/auth/login', proof: 'nonce=none' },
      { path: '/auth/refresh', proof: 'nonce=none' },
      { path: '/api/nonce', proof: 'nonce=none' },
      { path: '/api/nonce', proof: 'nonce=n-42' },
    ]);
  }, 60_000);

  it('refuses unknown, missing and mistyped options with a ConfigError that says what to write', async () => {
    const a = await startTokenApp({ carrier: 'bearer', accessTtl: '5m', idleTimeout: '30m', absoluteTimeout: '12h' });
    chromium.closeAfter(a);
    const page = await tab(`${a.url}/`);
    const errors = await page.evaluate(`(async () => {
      const { createBrowserSession, ConfigError, LatchkeyError } = await import('/dist/browser/index.js');
      const attempt = (options) => {
        try { createBrowserSession(options); return 'accepted'; }
        catch (e) { return (e instanceof ConfigError && e instanceof LatchkeyError ? e.code : 'other') + ': ' + e.message; }
      };
      return [
        attempt({ mode: 'bearer', storage: 'localStorage' }),
        attempt({}),
        attempt({ mode: 'session', logoutUrl: '/logout' }),
        attempt({ mode: 'bearer', origins: ['https://api.example.com/v1'] }),
        attempt({ mode: 'cookie', refreshUrl: 'https://elsewhere.example/auth/refresh' }),
        attempt({ mode: 'bearer', warnBefore: '1m' }),
      ];
    })()`);
    expect(errors).toEqual([
      'ERR_CONFIG: storage is not an option of createBrowserSession(); known: mode, refreshUrl, logoutUrl, logoutEverywhereUrl, sessionUrl, csrf, origins, warnBefore, name, fetch, hooks',
      "ERR_CONFIG: mode must be 'bearer' or 'cookie' (token mode's carriers) or 'session' (cookie sessions)",
      "ERR_CONFIG: mode 'session' needs sessionUrl (GET, answers { user }) and logoutUrl (POST, calls session.logout())",
      'ERR_CONFIG: origins: "https://api.example.com/v1" is not an origin (scheme://host[:port], no path)',
      'ERR_CONFIG: refreshUrl is on an origin the session does not trust: add it to origins',
      'ERR_CONFIG: warnBefore must be a number of milliseconds (default 60000)',
    ]);
  }, 60_000);
});
