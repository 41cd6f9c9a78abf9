/**
 * Where the tokens are, in real headless Chromium: never in localStorage,
 * sessionStorage, IndexedDB, the DOM or a script-readable cookie, in any
 * tab, at any moment of a session's life (sign-in, a new tab, a refresh,
 * sign-out), whether the tabs talk over BroadcastChannel or over storage
 * events; and never sent to another origin.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { listen, type Running } from '../adapters/support/apps.js';
import { chromiumPath } from '../e2e/chromium.js';
import { chromiumFixtures } from '../helpers/chromium-fixtures.js';
import { startTokenApp } from './support/apps.js';
import { fetchIn, openTab, until } from './support/tabs.js';

const suite = chromiumPath === null ? describe.skip : describe;

/** Records every value a script writes to Web Storage or IndexedDB, before any page script runs. */
const RECORD_WRITES = `
window.__writes = [];
for (const proto of [Storage.prototype]) {
  const setItem = proto.setItem;
  proto.setItem = function (key, value) { window.__writes.push(String(key) + '=' + String(value)); return setItem.call(this, key, value); };
}
for (const name of ['put', 'add']) {
  const original = IDBObjectStore.prototype[name];
  IDBObjectStore.prototype[name] = function (value, key) { try { window.__writes.push(JSON.stringify(value) + ' ' + String(key)); } catch { window.__writes.push(String(value)); } return original.apply(this, arguments); };
}`;

/** Everything a script could read back: both storages, every IndexedDB database, the DOM, document.cookie, and what was ever written. */
const EVERYTHING = `(async () => {
  const out = [...window.__writes, document.documentElement.outerHTML, document.cookie];
  for (const storage of [localStorage, sessionStorage]) for (let i = 0; i < storage.length; i++) out.push(storage.key(i) + '=' + storage.getItem(storage.key(i)));
  const dbs = await indexedDB.databases();
  for (const { name } of dbs) {
    const db = await new Promise((resolve, reject) => { const r = indexedDB.open(name); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
    for (const store of db.objectStoreNames) {
      out.push(JSON.stringify(await new Promise((resolve) => { const r = db.transaction(store).objectStore(store).getAll(); r.onsuccess = () => resolve(r.result); })));
    }
    db.close();
  }
  return { text: out.join('\\n'), databases: dbs.length, writes: window.__writes.length };
})()`;

suite('tokens stay out of storage, the DOM and other origins (headless Chromium)', () => {
  const chromium = chromiumFixtures();

  /**
   * The tokens every answer of the token endpoints handed out (JSON bodies and Set-Cookie values), as the
   * page received them; `pending` holds the reads still going on (await them before looking).
   */
  function collect(page: Page, into: Set<string>, pending: Array<Promise<void>>): void {
    page.on('response', (r) => {
      if (!/\/auth\/(login|refresh)/.test(r.url())) return;
      pending.push(
        (async () => {
          for (const { name, value } of await r.headersArray()) {
            if (name.toLowerCase() === 'set-cookie') {
              const token = /^[^=]+=([^;]+)/.exec(value)?.[1];
              if (token) into.add(token);
            }
          }
          const body = (await r.json().catch(() => ({}))) as Record<string, unknown>;
          for (const key of ['access_token', 'refresh_token']) if (typeof body[key] === 'string') into.add(body[key] as string);
        })(),
      );
    });
  }

  /** With DPoP, IndexedDB holds one database: the non-extractable key, and nothing else. */
  async function assertNowhere(pages: Page[], tokens: Set<string>, databases = 0): Promise<void> {
    for (const page of pages) {
      const seen = (await page.evaluate(EVERYTHING)) as { text: string; databases: number };
      for (const token of tokens) expect(seen.text.includes(token), 'a token is readable from the page').toBe(false);
      expect(seen.databases).toBe(databases);
    }
  }

  it.each([
    ['bearer', {}, false],
    ['cookie', {}, false],
    ['bearer', { broadcastChannel: true }, false],
    ['bearer', {}, true],
  ] as const)('no %s token reaches Web Storage, IndexedDB, the DOM or document.cookie (without %j; DPoP proofs: %s), from sign-in to sign-out', async (carrier, without, dpop) => {
    const a = await startTokenApp({ carrier, accessTtl: '5m', idleTimeout: '30m', absoluteTimeout: '12h', ...(dpop ? { dpop: {} } : {}) });
    chromium.closeAfter(a);
    const context = await chromium.context(without);
    await context.addInitScript(RECORD_WRITES);
    const tokens = new Set<string>();
    const pending: Array<Promise<void>> = [];
    const first = await openTab(context, `${a.url}/`);
    collect(first, tokens, pending);
    await first.evaluate(`window.lk.signIn('/auth/login?user=alice', {}, { name: 'alice' })`);
    const second = await openTab(context, `${a.url}/`);
    collect(second, tokens, pending);
    const pages = [first, second];
    await first.evaluate('window.lk.extend()');
    expect((await fetchIn(first, '/api/me')).status).toBe(200);
    await Promise.all(pending);
    // Sign-in and refresh: an access and a refresh token each.
    expect(tokens.size).toBe(4);
    await assertNowhere(pages, tokens, dpop ? 1 : 0);

    await first.evaluate('window.lk.signOut()');
    for (const page of pages) await until(page, 'signed-out');
    await assertNowhere(pages, tokens, dpop ? 1 : 0);
    // Without BroadcastChannel the tabs did write to localStorage (their messages): never a token.
    if ('broadcastChannel' in without) expect(((await first.evaluate('window.__writes')) as string[]).length).toBeGreaterThan(0);
  }, 60_000);

  it('keeps the fetch it was made with: a script that wraps window.fetch later sees none of its requests', async () => {
    const a = await startTokenApp({ carrier: 'bearer', accessTtl: '5m', idleTimeout: '30m', absoluteTimeout: '12h' });
    chromium.closeAfter(a);
    const context = await chromium.context();
    const page = await openTab(context, `${a.url}/`);
    await page.evaluate(`window.lk.signIn('/auth/login?user=alice', {}, 'alice')`);
    const seen = await page.evaluate(`(async () => {
      const seen = [];
      const original = window.fetch;
      window.fetch = (input, init) => { seen.push(String(input instanceof Request ? input.headers.get('authorization') : init?.headers)); return original(input, init); };
      const me = await window.lk.fetch('/api/me');
      await window.lk.extend();
      return { status: me.status, seen };
    })()`);
    expect(seen).toEqual({ status: 200, seen: [] });
  }, 60_000);

  it('sends the access token to the page\'s origin only, never to another', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const foreign: Running = await listen(
      createServer((req, res) => {
        seen.push(req.headers);
        res.writeHead(200, { 'access-control-allow-origin': '*' });
        res.end('{}');
      }),
    );
    chromium.closeAfter(foreign);
    const a = await startTokenApp({ carrier: 'bearer', accessTtl: '5m', idleTimeout: '30m', absoluteTimeout: '12h' });
    chromium.closeAfter(a);
    const context = await chromium.context();
    const page = await openTab(context, `${a.url}/`);
    await page.evaluate(`window.lk.signIn('/auth/login?user=alice', {}, 'alice')`);
    expect((await fetchIn(page, '/api/me')).status).toBe(200);
    // 127.0.0.1 and localhost are two origins.
    const other = foreign.url.replace('127.0.0.1', 'localhost');
    expect((await fetchIn(page, `${other}/steal`)).status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.authorization).toBeUndefined();
  }, 60_000);
});
