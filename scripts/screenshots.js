// Takes the README's screenshots of the demo site (its single-page section included) and the admin dashboard:
// starts `latchkey serve` from dist/ (run `npm run build` first, or use
// `npm run screenshots`) on a temporary SQLite store, fills it with a few
// realistic sessions and security events, and saves 1280x800 PNGs into
// docs/screenshots/ with headless Chromium (Debian's `chromium`, or
// CHROMIUM_PATH) driven by playwright-core.
/* global fetch */
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'docs', 'screenshots');
const VIEWPORT = { width: 1280, height: 800 };
const ADMIN_PASSWORD = 'screenshot admin password';
const FRESH_MS = 1_000;
const MIN = 60_000;
const HOUR = 60 * MIN;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The browser taking the pictures passes for a desktop Chrome on macOS.
const BROWSER_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const UA = {
  iphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  windowsFirefox: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0',
  windowsEdge: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  android: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  macSafari: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  linuxChrome: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  ipad: 'Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
};

function chromiumPath() {
  const path = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    throw new Error(`no Chromium at ${path}: apt-get install chromium, or set CHROMIUM_PATH`);
  }
}

let server;
try {
  server = await import('../dist/server/index.js');
} catch (err) {
  throw new Error(`cannot load dist/server/index.js (run npm run build first): ${err.message}`);
}
const { createService, loadConfig } = server;

const dir = mkdtempSync(join(tmpdir(), 'latchkey-screenshots-'));
const config = loadConfig({
  flags: { host: '127.0.0.1', port: '0', store: `sqlite:${join(dir, 'latchkey.db')}`, dataDir: join(dir, 'data'), adminPassword: ADMIN_PASSWORD, logLevel: 'warn' },
  env: {},
});
// The single-page section warns 3 s after the sign-in (2 min idle, warned 117 s ahead), so that its picture shows the warning.
const service = await createService(config, { demoFreshFor: FRESH_MS, demoApp: { idleTimeout: '2m', absoluteTimeout: '15m', accessTtl: '1m', warnBefore: '117s' } });
const { ctx } = service;
let browser;

/**
 * Makes a seeded session look as if it had been signed in `createdAgo` ms ago
 * and last seen `seenAgo` ms ago (the engine would say "just now" for all of
 * them otherwise). Same handle and secret hash: the token stays valid.
 */
async function age(handle, createdAgo, seenAgo) {
  const r = await ctx.store.get(handle);
  if (r === null) throw new Error(`seeded session ${handle} is gone`);
  const now = Date.now();
  const createdAt = now - createdAgo;
  const lastSeenAt = now - seenAgo;
  const idleExpiresAt = lastSeenAt + 30 * MIN;
  const absoluteExpiresAt = createdAt + 12 * HOUR;
  await ctx.store.delete(handle);
  const ok = await ctx.store.create({
    ...r,
    createdAt,
    issuedAt: createdAt,
    authTime: createdAt,
    lastSeenAt,
    idleExpiresAt,
    absoluteExpiresAt,
    expiresAt: Math.min(idleExpiresAt, absoluteExpiresAt),
  });
  if (!ok) throw new Error(`could not re-create seeded session ${handle}`);
}

/** Calls the service's `/v1` API as a backend would. */
async function api(base, key, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}

/**
 * Sessions, traffic and security events. Demo users' devices are made on an engine of the demo's
 * kind over the service's store (as the demo's sign-in makes them); the traffic goes through the
 * `/v1` API like a real backend's, so that the counters move too.
 */
async function seed(base) {
  const { key } = await ctx.apiKeys.create('screenshots');
  const engine = ctx.engine({ kind: 'demo' });
  const devices = [
    ['alice', '203.0.113.24', UA.iphone, 9 * HOUR, 12 * MIN],
    ['alice', '198.51.100.7', UA.windowsFirefox, 4 * HOUR, 26 * MIN],
    ['alice', '2001:db8:4f2a::17', UA.ipad, 2 * HOUR, 3 * MIN],
    ['bob', '192.0.2.88', UA.android, 6 * HOUR, 8 * MIN],
    ['bob', '192.0.2.88', UA.windowsEdge, 3 * HOUR, 21 * MIN],
    ['carol', '198.51.100.152', UA.macSafari, 5 * HOUR, 2 * MIN],
    ['carol', '203.0.113.201', UA.linuxChrome, 50 * MIN, 17 * MIN],
  ];
  const seeded = [];
  for (const [userId, ip, userAgent, createdAgo, seenAgo] of devices) {
    const r = await engine.create({ userId, client: { ip, userAgent } });
    seeded.push({ token: r.token, handle: r.session.handle, client: { ip, userAgent }, createdAgo, seenAgo });
  }
  // A backend's users, through the API.
  const users = [];
  for (const [userId, ip, userAgent] of [
    ['u-1042', '198.51.100.20', UA.macSafari],
    ['u-2291', '203.0.113.140', UA.windowsEdge],
    ['u-3178', '192.0.2.61', UA.android],
  ]) {
    const r = await api(base, key, 'POST', '/v1/sessions', { userId, client: { ip, userAgent } });
    if (r.status !== 201) throw new Error(`POST /v1/sessions answered ${r.status}: ${JSON.stringify(r.body)}`);
    users.push({ token: r.body.token, client: { ip, userAgent } });
  }

  // Traffic: validations, a few refused tokens (malformed, revoked).
  for (let i = 0; i < 120; i++) {
    const s = users[i % users.length];
    await api(base, key, 'POST', '/v1/sessions/validate', { token: s.token, client: s.client });
  }
  for (let i = 0; i < 5; i++) await api(base, key, 'POST', '/v1/sessions/validate', { token: `forged-token-${i}` });
  const gone = await api(base, key, 'POST', '/v1/sessions', { userId: 'u-2291', client: { ip: '192.0.2.14', userAgent: UA.linuxChrome } });
  await api(base, key, 'DELETE', `/v1/sessions/${gone.body.session.handle}`);
  for (let i = 0; i < 3; i++) await api(base, key, 'POST', '/v1/sessions/validate', { token: gone.body.token });

  // Backdate the devices (the engine would say "just now" for all of them), after the traffic touched them.
  for (const s of seeded) await age(s.handle, s.createdAgo, s.seenAgo);

  // Events the demo's engine does not raise by itself (it binds nothing), in time order.
  ctx.feed.push({ at: Date.now(), kind: 'invalid-token-burst', userId: null, sessionKind: 'session', handle: null, ip: '192.0.2.250', detail: '50 invalid tokens in the window; client throttled' });
  ctx.feed.push({
    at: Date.now(),
    kind: 'binding-mismatch',
    userId: 'alice',
    sessionKind: 'demo',
    handle: seeded[1].handle,
    ip: '203.0.113.90',
    detail: 'user agent changed; request refused (re-authentication)',
  });

  // Token mode: a refresh token replayed after its rotation's grace window (10 s) is a theft: the whole family is revoked.
  const client = { ip: '198.51.100.33', userAgent: UA.android };
  const pair = await api(base, key, 'POST', '/v1/tokens', { userId: 'u-3178', scope: 'read', client });
  await api(base, key, 'POST', '/v1/tokens/refresh', { refreshToken: pair.body.refreshToken, client });
  await sleep(10_500);
  await api(base, key, 'POST', '/v1/tokens/refresh', { refreshToken: pair.body.refreshToken, client: { ip: '203.0.113.66', userAgent: UA.linuxChrome } });
  if (!ctx.feed.recent(200).some((e) => e.kind === 'token-theft')) throw new Error('the replayed refresh token raised no token-theft event');
}

/**
 * An hour of earlier traffic and two weeks of sign-ins for the charts, written where the service's
 * history keeps them (src/server/history.ts: one key per minute and per day of a made-up instance), since
 * a fresh store has only the last minute. Only the screenshots' temporary store gets them.
 */
async function seedHistory() {
  const MINUTE = 60_000;
  const DAY = 24 * 60 * MINUTE;
  const now = Date.now();
  const minute = now - (now % MINUTE);
  for (let i = 1; i < 60; i++) {
    const m = minute - i * MINUTE;
    const wave = Math.round(90 + 35 * Math.sin(i / 7) + (i % 5) * 4);
    const rejected = i % 9 === 0 ? { unknown: 6, expired: 2 } : i % 4 === 0 ? { expired: 1 } : {};
    await ctx.store.kv.set(`stats.m.${m - (m % (60 * MINUTE))}`, `${m}:screenshots`, { value: JSON.stringify({ v: wave, r: rejected, d: i % 11 === 0 ? 1 : 0 }), expiresAt: m + 2 * 60 * MINUTE }, now);
    await ctx.store.kv.set('stats.live', String(m), { value: String(Math.round(12 + 4 * Math.sin(i / 6))), expiresAt: m + 2 * 60 * MINUTE }, now);
  }
  const day = now - (now % DAY);
  for (let i = 1; i < 14; i++) {
    const d = day - i * DAY;
    await ctx.store.kv.set('stats.d', `${d}:screenshots`, { value: JSON.stringify({ d: 6 + ((i * 7) % 11), c: 40 + i }), expiresAt: d + 15 * DAY }, now);
  }
  await ctx.history.flush();
}

async function shoot(page, name) {
  await page.evaluate('document.fonts.ready');
  await page.screenshot({ path: join(OUT, name), fullPage: false });
  console.log(`  docs/screenshots/${name}`);
}

try {
  const base = await service.listen();
  await seed(base);
  await seedHistory();
  mkdirSync(OUT, { recursive: true });
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars'],
  });
  console.log(`latchkey on ${base}; screenshots:`);

  // The demo, as alice on this (Chrome on macOS) browser.
  const demo = await browser.newContext({ viewport: VIEWPORT, userAgent: BROWSER_UA, colorScheme: 'light' });
  const page = await demo.newPage();
  await page.goto(`${base}/demo/login`);
  await shoot(page, 'demo-login.png');
  await page.getByTestId('login-user').selectOption('alice');
  await page.getByTestId('login-password').fill('demo');
  await page.getByTestId('login-submit').click();
  await page.waitForURL(`${base}/demo`);
  await shoot(page, 'demo-devices.png');
  await sleep(FRESH_MS + 200);
  await page.goto(`${base}/demo/sensitive`);
  await page.getByTestId('reauth-heading').waitFor();
  await shoot(page, 'demo-reauth.png');

  // The single-page section (latchkey/browser in token mode), with its expiry warning showing.
  const spa = await browser.newContext({ viewport: VIEWPORT, userAgent: BROWSER_UA, colorScheme: 'light' });
  const app = await spa.newPage();
  await app.goto(`${base}/demo/app`);
  await app.getByTestId('app-signed-out').waitFor();
  await app.getByTestId('app-login-user').selectOption('alice');
  await app.getByTestId('app-login-password').fill('demo');
  await app.getByTestId('app-login-submit').click();
  await app.getByTestId('app-signed-in').waitFor();
  await app.getByTestId('app-call').click();
  await app.getByTestId('app-result').filter({ hasText: '200' }).waitFor();
  await app.getByTestId('app-expiring').waitFor({ timeout: 10_000 });
  await shoot(app, 'demo-app.png');

  // The dashboard.
  const admin = await browser.newContext({ viewport: VIEWPORT, userAgent: BROWSER_UA, colorScheme: 'light' });
  const adminPage = await admin.newPage();
  await adminPage.goto(`${base}/admin/login`);
  await shoot(adminPage, 'admin-login.png');
  await adminPage.getByTestId('login-username').fill('admin');
  await adminPage.getByTestId('login-password').fill(ADMIN_PASSWORD);
  await adminPage.getByTestId('login-submit').click();
  await adminPage.waitForURL(`${base}/admin`);
  await shoot(adminPage, 'admin-overview.png');
  await adminPage.getByTestId('charts').screenshot({ path: join(OUT, 'admin-charts.png') });
  console.log('  docs/screenshots/admin-charts.png');
  await adminPage.goto(`${base}/admin/users?user=alice`);
  await adminPage.getByTestId('devices').waitFor();
  await shoot(adminPage, 'admin-user.png');
  await adminPage.goto(`${base}/admin/events`);
  await shoot(adminPage, 'admin-events.png');

  // The same dashboard on a phone.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, userAgent: UA.iphone, colorScheme: 'light' });
  const phonePage = await phone.newPage();
  await phonePage.goto(`${base}/admin/login`);
  await phonePage.getByTestId('login-username').fill('admin');
  await phonePage.getByTestId('login-password').fill(ADMIN_PASSWORD);
  await phonePage.getByTestId('login-submit').tap();
  await phonePage.waitForURL(`${base}/admin`);
  await shoot(phonePage, 'admin-phone.png');
} finally {
  await browser?.close();
  await service.close();
  rmSync(dir, { recursive: true, force: true });
}
