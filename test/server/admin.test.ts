import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loginThrottle } from '../../src/server/login-throttle.js';
import { relative, span, utc } from '../../src/server/admin/views.js';
import { loadConfig } from '../../src/server/config.js';
import { createService } from '../../src/server/service.js';
import type { Service } from '../../src/server/service.js';

const PASSWORD = 'correct horse battery';
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0';

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly setCookies: string[];
  readonly location: string | null;
}

/** A tiny browser: keeps its cookies, follows no redirect by itself, sends one user agent. */
class Client {
  readonly cookies = new Map<string, string>();
  constructor(
    readonly base: string,
    readonly userAgent = CHROME,
  ) {}

  async request(path: string, init: { method?: string; form?: Record<string, string>; json?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
    const headers: Record<string, string> = { 'user-agent': this.userAgent, ...init.headers };
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (init.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    } else if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    }
    const res = await fetch(new URL(path, this.base), { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, redirect: 'manual' });
    const setCookies = res.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair] = line.split(';');
      const eq = (pair as string).indexOf('=');
      const name = (pair as string).slice(0, eq).trim();
      const value = (pair as string).slice(eq + 1).trim();
      if (value === '' || /;\s*max-age=0\b/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: res.status, headers: res.headers, text: await res.text(), setCookies, location: res.headers.get('location') };
  }

  get(path: string, headers?: Record<string, string>): Promise<Answer> {
    return this.request(path, { headers });
  }

  post(path: string, form: Record<string, string>, headers?: Record<string, string>): Promise<Answer> {
    return this.request(path, { form, headers });
  }
}

function csrfOf(page: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(page);
  if (m === null) throw new Error('no CSRF field on the page');
  return m[1] as string;
}

/** The sources of the policy's script-src directive. */
function scriptSrcOf(policy: string | null): string[] {
  const directive = (policy ?? '').split(';').map((d) => d.trim().split(/\s+/)).find((d) => d[0] === 'script-src');
  return directive?.slice(1) ?? [];
}

function statOf(page: string, key: string): number {
  const m = new RegExp(`data-stat="${key}">(\\d+)<`).exec(page);
  if (m === null) throw new Error(`no counter ${key}`);
  return Number(m[1]);
}

function expectHtmlHeaders(a: Answer): void {
  expect(a.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(a.headers.get('cache-control')).toBe('no-store');
  expect(a.headers.get('x-frame-options')).toBe('DENY');
  expect(a.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  expect(scriptSrcOf(a.headers.get('content-security-policy'))).not.toContain("'unsafe-inline'");
  // No inline event handler anywhere: the policy would block it, and nothing may need one.
  expect(a.text).not.toMatch(/<[^>]*\son[a-z]+\s*=/i);
}

describe('the admin dashboard', () => {
  let dir: string;
  let service: Service;
  let base: string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-admin-'));
    const config = loadConfig({ flags: { port: '0', store: 'memory:', dataDir: dir, adminPassword: PASSWORD, logLevel: 'silent' }, env: {} });
    service = await createService(config);
    base = await service.listen();
  });

  afterEach(async () => {
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function signIn(client = new Client(base)): Promise<{ client: Client; overview: Answer }> {
    const form = await client.get('/admin/login');
    expect(form.status).toBe(200);
    const done = await client.post('/admin/login', { username: 'admin', password: PASSWORD });
    expect(done.status).toBe(303);
    expect(done.location).toBe('/admin');
    const overview = await client.get('/admin');
    expect(overview.status).toBe(200);
    return { client, overview };
  }

  it('sends visitors without an admin session to the sign-in page', async () => {
    const client = new Client(base);
    for (const path of ['/admin', '/admin/', '/admin/users?user=alice', '/admin/events']) {
      const a = await client.get(path);
      expect(a.status, path).toBe(303);
      expect(a.location, path).toBe('/admin/login');
    }
    expect((await client.post('/admin/users/revoke-all', { user: 'alice' })).location).toBe('/admin/login');
    expect((await client.get('/admin/stats.json')).status).toBe(401);
    const login = await client.get('/admin/login');
    expect(login.status).toBe(200);
    expectHtmlHeaders(login);
    expect(login.text).toContain('data-testid="login-form"');
    expect(login.setCookies).toEqual([]);
  });

  it('refuses a wrong password with 401 and sets no cookie', async () => {
    const client = new Client(base);
    const a = await client.post('/admin/login', { username: 'admin', password: 'wrong' });
    expect(a.status).toBe(401);
    expectHtmlHeaders(a);
    expect(a.text).toContain('data-testid="login-error"');
    expect(a.text).not.toContain('wrong"');
    expect(a.setCookies).toEqual([]);
    expect((await client.post('/admin/login', { username: 'root', password: PASSWORD })).status).toBe(401);
    expect((await client.post('/admin/login', {})).status).toBe(401);
  });

  it('refuses every sign-in with 429 after 10 failures within a minute, even a right one', async () => {
    const client = new Client(base);
    for (let i = 0; i < 10; i++) expect((await client.post('/admin/login', { username: 'admin', password: `guess ${i}` })).status).toBe(401);
    const refused = await client.post('/admin/login', { username: 'admin', password: PASSWORD });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.text).toContain('Too many failed sign-ins');
    expect(refused.setCookies).toEqual([]);
  });

  it('signs the admin in with a __Host-admin browser-session cookie that is Secure, HttpOnly, SameSite=Lax and Path=/', async () => {
    const client = new Client(base);
    const a = await client.post('/admin/login', { username: 'admin', password: PASSWORD });
    expect(a.status).toBe(303);
    expect(a.location).toBe('/admin');
    const line = a.setCookies.find((c) => c.startsWith('__Host-admin='));
    expect(line).toBeDefined();
    const attributes = (line as string)
      .split(';')
      .slice(1)
      .map((s) => s.trim().toLowerCase());
    expect(attributes).toEqual(expect.arrayContaining(['secure', 'httponly', 'samesite=lax', 'path=/']));
    expect(attributes.some((x) => x.startsWith('domain='))).toBe(false);
    expect(attributes.some((x) => x.startsWith('max-age=') || x.startsWith('expires='))).toBe(false);
    expect(a.headers.get('cache-control')).toBe('no-store');
    // The admin's session is a session of the dashboard's own kind, of user admin.
    const handle = (client.cookies.get('__Host-admin') as string).split('.')[0] as string;
    const own = await service.ctx.sessions.get(handle);
    expect([own?.kind, own?.userId]).toEqual(['admin', 'admin']);
    // Signed in, the sign-in page sends the admin on.
    expect((await client.get('/admin/login')).location).toBe('/admin');
  });

  it('shows live counts, the store and its readiness on the overview', async () => {
    const { ctx } = service;
    await ctx.sessions.create({ userId: 'alice', client: { ip: '203.0.113.7', userAgent: FIREFOX } });
    await ctx.sessions.create({ userId: 'bob' });
    ctx.metrics.validated.inc({ result: 'valid' }, 5);
    ctx.metrics.validated.inc({ result: 'expired-idle' }, 2);
    const { client, overview } = await signIn();
    expectHtmlHeaders(overview);
    // The one inline script runs by its hash: no 'unsafe-inline', and nothing else could run.
    const scripts = [...overview.text.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] as string);
    expect(scripts).toHaveLength(1);
    const scriptSrc = scriptSrcOf(overview.headers.get('content-security-policy'));
    expect(scriptSrc).toEqual([`'sha256-${createHash('sha256').update(scripts[0] as string).digest('base64')}'`]);
    const snap = ctx.metrics.snapshot();
    expect(snap.sessionsCreated).toBeGreaterThanOrEqual(3); // alice, bob and the admin's own
    expect(statOf(overview.text, 'sessionsCreated')).toBe(snap.sessionsCreated);
    expect(statOf(overview.text, 'validations')).toBe(7);
    expect(statOf(overview.text, 'rejected')).toBe(2);
    expect(statOf(overview.text, 'storeErrors')).toBe(0);
    expect(overview.text).toMatch(/<tr data-reason="expired-idle">.*?data-testid="rejected-count">2</s);
    expect(overview.text).toContain('<code data-testid="store-url">memory:</code>');
    expect(overview.text).toMatch(/data-testid="store-ready">ready</);
    expect(overview.text).toContain('data-testid="user-search"');
    // alice's first sign-in is a new device in the feed
    expect(overview.text).toMatch(/data-testid="event" data-event-id="\d+" data-kind="new-device"/);

    // Each counter says what it counts, and the lifecycle ones add up the engines' rows.
    expect(overview.text).toMatch(/data-stat="sessionsCreated">\d+<\/b><span>sessions created, every kind</);
    expect(overview.text).toMatch(/data-stat="validations">\d+<\/b><span>\/v1 validations</);
    const created = [...overview.text.matchAll(/data-stat="kind-([a-z-]+)-created">(\d+)</g)].map((m) => [m[1], Number(m[2])] as const);
    expect(created.map(([k]) => k)).toEqual(expect.arrayContaining(['session', 'admin']));
    expect(created.reduce((sum, [, n]) => sum + n, 0)).toBe(statOf(overview.text, 'sessionsCreated'));

    await ctx.sessions.create({ userId: 'carol' });
    const stats = await client.get('/admin/stats.json');
    expect(stats.status).toBe(200);
    const json = JSON.parse(stats.text) as { counts: { sessionsCreated: number; byKind: Record<string, { created: number }> }; ready: boolean; uptime: string };
    expect(json.counts.sessionsCreated).toBe(snap.sessionsCreated + 1);
    expect(json.counts.byKind.session?.created).toBe((snap.byKind.session?.created ?? 0) + 1);
    expect(json.ready).toBe(true);
    expect(json.uptime).toMatch(/^\d+ s$/);
  });

  it("lists a user's devices with their parsed user agent, IP and times, and never a token", async () => {
    const { ctx } = service;
    const a = await ctx.sessions.create({ userId: 'alice', client: { ip: '203.0.113.7', userAgent: FIREFOX } });
    const b = await ctx.sessions.create({ userId: 'alice', client: { ip: '198.51.100.2', userAgent: CHROME } });
    await ctx.sessions.create({ userId: 'bob' });
    const { client } = await signIn();
    const page = await client.get('/admin/users?user=alice');
    expect(page.status).toBe(200);
    expectHtmlHeaders(page);
    const rows = [...page.text.matchAll(/<tr data-testid="device-row" data-handle="([^"]+)" data-current="(true|false)"/g)].map((m) => [m[1], m[2]]);
    expect(rows).toEqual([
      [a.session.handle, 'false'],
      [b.session.handle, 'false'],
    ]);
    expect(page.text).toContain('<b>Firefox</b> on Windows</span><br><span class="badge">desktop</span>');
    expect(page.text).toContain('<b>Chrome</b> on Linux');
    expect(page.text).toContain('203.0.113.7');
    const times = [...page.text.matchAll(/<time datetime="([^"]+)">(.*?)<\/time><br><span class="muted">(.*?)<\/span>/g)];
    expect(times).toHaveLength(6); // created, last seen, expires of 2 sessions
    for (const [, iso, text] of times) expect((text as string).replace(/<[^>]+>/g, '')).toBe(`${(iso as string).slice(0, 10)} ${(iso as string).slice(11, 19)} UTC`);
    expect(times.map((m) => m[3])).toEqual(['just now', 'just now', expect.stringMatching(/^in (29|30) min$/), 'just now', 'just now', expect.stringMatching(/^in (29|30) min$/)]);
    expect(page.text).toContain('data-testid="revoke-all"');
    expect(page.text.match(/data-testid="revoke-session"/g)).toHaveLength(2);
    for (const token of [a.token, b.token]) expect(page.text).not.toContain(token.split('.')[1]);
    expect(page.text).not.toContain('current-badge');

    const none = await client.get('/admin/users?user=nobody');
    expect(none.text).toContain('data-testid="no-sessions"');
  });

  it("marks the admin's own session as current", async () => {
    const { client } = await signIn();
    const handle = (client.cookies.get('__Host-admin') as string).split('.')[0] as string;
    const page = await client.get('/admin/users?user=admin');
    expect(page.text).toContain(`<tr data-testid="device-row" data-handle="${handle}" data-current="true">`);
    expect(page.text.match(/data-current="true"/g)).toHaveLength(1);
    expect(page.text).toContain('data-testid="current-badge"');
  });

  it('revokes one session: its token is refused as revoked, the others live on', async () => {
    const { ctx } = service;
    const a = await ctx.sessions.create({ userId: 'alice', client: { ip: '203.0.113.7', userAgent: FIREFOX } });
    const b = await ctx.sessions.create({ userId: 'alice', client: { ip: '198.51.100.2', userAgent: CHROME } });
    const { client } = await signIn();
    const page = await client.get('/admin/users?user=alice');
    const done = await client.post(`/admin/sessions/${a.session.handle}/revoke`, { _csrf: csrfOf(page.text), user: 'alice', confirm: 'yes' });
    expect(done.status).toBe(303);
    expect(done.location).toBe('/admin/users?user=alice&notice=revoked');
    expect(await ctx.sessions.validate(a.token)).toEqual({ ok: false, reason: 'revoked' });
    expect((await ctx.sessions.validate(b.token)).ok).toBe(true);
    const after = await client.get(done.location as string);
    expect(after.text).toContain('Session revoked.');
    expect(after.text).not.toContain(`data-handle="${a.session.handle}"`);
    expect(after.text).toContain(`data-handle="${b.session.handle}"`);

    // A session that is gone already: back to the page with a notice.
    const again = await client.post(`/admin/sessions/${a.session.handle}/revoke`, { _csrf: csrfOf(after.text), user: 'alice', confirm: 'yes' });
    expect(again.location).toBe('/admin/users?user=alice&notice=not-found');
    const odd = await client.post(`/admin/sessions/${encodeURIComponent('../x')}/revoke`, { _csrf: csrfOf(after.text), user: 'alice' });
    expect(odd.location).toBe('/admin/users?user=alice&notice=not-found');
  });

  it('revokes every session of a user and reports it in the security feed', async () => {
    const { ctx } = service;
    const a = await ctx.sessions.create({ userId: 'alice', client: { ip: '203.0.113.7', userAgent: FIREFOX } });
    const b = await ctx.sessions.create({ userId: 'alice', client: { ip: '198.51.100.2', userAgent: CHROME } });
    const c = await ctx.sessions.create({ userId: 'bob' });
    const { client } = await signIn();
    const page = await client.get('/admin/users?user=alice');
    const done = await client.post('/admin/users/revoke-all', { _csrf: csrfOf(page.text), user: 'alice', confirm: 'yes' });
    expect(done.status).toBe(303);
    expect(done.location).toBe('/admin/users?user=alice&notice=revoked-all&n=2');
    for (const t of [a.token, b.token]) expect(await ctx.sessions.validate(t)).toEqual({ ok: false, reason: 'revoked' });
    expect((await ctx.sessions.validate(c.token)).ok).toBe(true);
    const after = await client.get(done.location as string);
    expect(after.text).toContain('Revoked 2 sessions.');
    expect(after.text).toContain('data-testid="no-sessions"');
    expect(ctx.feed.recent(1)[0]).toMatchObject({ kind: 'admin-revoke-all', userId: 'alice', ip: '127.0.0.1', detail: 'admin revoked 2 sessions from the dashboard' });
    const events = await client.get('/admin/events');
    expect(events.status).toBe(200);
    expect(events.text).toMatch(/data-kind="admin-revoke-all">/);
  });

  it('refuses POSTs without the CSRF token or from another site with 403, and changes nothing', async () => {
    const { ctx } = service;
    const a = await ctx.sessions.create({ userId: 'alice' });
    const { client } = await signIn();
    const csrf = csrfOf((await client.get('/admin/users?user=alice')).text);
    const path = `/admin/sessions/${a.session.handle}/revoke`;
    const missing = await client.post(path, { user: 'alice' });
    expect(missing.status).toBe(403);
    expect(JSON.parse(missing.text)).toMatchObject({ error: 'csrf-token-missing' });
    const wrong = await client.post(path, { user: 'alice', _csrf: 'A'.repeat(43) });
    expect(wrong.status).toBe(403);
    const crossSite = await client.post(path, { user: 'alice', _csrf: csrf }, { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    const foreignOrigin = await client.post('/admin/users/revoke-all', { user: 'alice', _csrf: csrf }, { origin: 'https://evil.example' });
    expect(foreignOrigin.status).toBe(403);
    const asPage = await client.post(path, { user: 'alice' }, { accept: 'text/html' });
    expect(asPage.status).toBe(403);
    expectHtmlHeaders(asPage);
    expect(asPage.text).toContain('data-testid="error"');
    expect((await ctx.sessions.validate(a.token)).ok).toBe(true);
    // The sign-in form of a same-origin browser passes on Fetch Metadata alone.
    const browser = new Client(base);
    const ok = await browser.post('/admin/login', { username: 'admin', password: PASSWORD }, { 'sec-fetch-site': 'same-origin', origin: base.replace(/\/$/, '') });
    expect(ok.status).toBe(303);
    const forged = await new Client(base).post('/admin/login', { username: 'admin', password: PASSWORD }, { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' });
    expect(forged.status).toBe(403);
  });

  it('escapes a hostile user id and user agent everywhere it shows them', async () => {
    const { ctx } = service;
    const user = '<script>alert("u")</script>';
    const ua = '"><img src=x onerror=alert(1)>';
    await ctx.sessions.create({ userId: user, client: { ip: '203.0.113.9', userAgent: ua } });
    const { client } = await signIn();
    const page = await client.get(`/admin/users?user=${encodeURIComponent(user)}`);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain(user);
    expect(page.text).not.toContain('<img src=x');
    expect(page.text).toContain('&lt;script&gt;alert(&quot;u&quot;)&lt;/script&gt;');
    expect(page.text).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    const done = await client.post('/admin/users/revoke-all', { _csrf: csrfOf(page.text), user, confirm: 'yes' });
    expect(done.location).toBe(`/admin/users?user=${encodeURIComponent(user)}&notice=revoked-all&n=1`);
    for (const path of ['/admin', '/admin/events', done.location as string]) {
      const p = await client.get(path);
      expect(p.text, path).not.toContain(user);
      expect(p.text, path).toContain('&lt;script&gt;');
    }
  });

  it('never shows or revokes API keys, which are no sessions (the CLI manages them)', async () => {
    const { ctx } = service;
    const key = await ctx.apiKeys.create('ci');
    const { client } = await signIn();
    const page = await client.get('/admin/users?user=latchkey%3Aapikeys');
    expect(page.status).toBe(200);
    expect(page.text).toContain('data-testid="no-sessions"');
    expect(page.text).not.toContain(key.info.id);
    const csrf = csrfOf(page.text);
    // An API key's id is no session handle: the engine does not know it.
    expect((await client.post(`/admin/sessions/${key.info.id}/revoke`, { _csrf: csrf, user: 'latchkey:apikeys' })).location).toBe('/admin/users?user=latchkey%3Aapikeys&notice=not-found');
    expect((await client.post('/admin/users/revoke-all', { _csrf: csrf, user: 'latchkey:apikeys', confirm: 'yes' })).location).toBe('/admin/users?user=latchkey%3Aapikeys&notice=revoked-all&n=0');
    expect((await ctx.apiKeys.verify(key.key)).ok).toBe(true);
  });

  it('shows a user’s sessions of every kind, each labelled, the demo’s users as they typed them', async () => {
    const { ctx } = service;
    const app = await ctx.sessions.create({ userId: 'dora' });
    const family = await ctx.tokens.issue({ userId: 'dora' });
    const demo = await ctx.engine({ kind: 'demo' }).create({ userId: 'dora' });
    const { client } = await signIn();
    const page = await client.get('/admin/users?user=dora');
    const kinds = [...page.text.matchAll(/<tr data-testid="device-row" data-handle="([^"]+)"[\s\S]*?data-testid="session-kind" data-kind="([a-z-]+)"/g)].map((m) => [m[1], m[2]]);
    const familyHandle = (await ctx.tokens.verify(family.accessToken)).ok ? ((await ctx.tokens.verify(family.accessToken)) as { claims: { sid: string } }).claims.sid : '';
    expect(kinds).toEqual([
      [app.session.handle, 'session'],
      [familyHandle, 'refresh'],
      [demo.session.handle, 'demo'],
    ]);
    expect(page.text).toContain('data-testid="user-id">dora</span>');
  });

  it('signs out: the cookie is cleared, the browser asked to forget, and the old token no longer opens the dashboard', async () => {
    const { client, overview } = await signIn();
    const token = client.cookies.get('__Host-admin') as string;
    const out = await client.post('/admin/logout', { _csrf: csrfOf(overview.text) });
    expect(out.status).toBe(303);
    expect(out.location).toBe('/admin/login?notice=signed-out');
    expect(out.headers.get('clear-site-data')).toBe('"cache"');
    expect(out.headers.get('cache-control')).toBe('no-store');
    expect(out.setCookies.some((c) => c.startsWith('__Host-admin=;') && /max-age=0/i.test(c))).toBe(true);
    expect(client.cookies.has('__Host-admin')).toBe(false);
    expect((await client.get(out.location as string)).text).toContain('Signed out.');
    expect(await service.ctx.sessions.validate(token)).toEqual({ ok: false, reason: 'revoked' });
    const replay = new Client(base);
    replay.cookies.set('__Host-admin', token);
    expect((await replay.get('/admin')).location).toBe('/admin/login');
  });

  it('binds the admin session to its user agent', async () => {
    const { client } = await signIn();
    const thief = new Client(base, FIREFOX);
    thief.cookies.set('__Host-admin', client.cookies.get('__Host-admin') as string);
    expect((await thief.get('/admin')).location).toBe('/admin/login');
    expect((await client.get('/admin')).status).toBe(200);
    // The refusal is a security event on the feed.
    const events = await client.get('/admin/events');
    expect(events.text).toMatch(/data-kind="binding-mismatch">[\s\S]*?user agent changed; request refused \(re-authentication\)/);
  });

  it("does not take a session of the main engine's users for an admin", async () => {
    const { token } = await service.ctx.sessions.create({ userId: 'mallory', client: { userAgent: CHROME } });
    const client = new Client(base);
    client.cookies.set('__Host-admin', token);
    expect((await client.get('/admin')).location).toBe('/admin/login');
  });

  it('leaves the routes outside /admin alone: no session plugin, no CSRF check, no admin cookie', async () => {
    const { client } = await signIn();
    const health = await client.get('/healthz');
    expect(health.status).toBe(200);
    expect(health.setCookies).toEqual([]);
    // The API is for backends: a cross-site POST with an API key and the admin's cookie is no CSRF case there.
    const { key } = await service.ctx.apiKeys.create('test');
    const created = await client.request('/v1/sessions', {
      method: 'POST',
      json: { userId: 'alice' },
      headers: { authorization: `Bearer ${key}`, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
    });
    expect(created.status).toBe(201);
    expect(created.setCookies).toEqual([]);
    const { token } = JSON.parse(created.text) as { token: string };
    expect((await service.ctx.sessions.validate(token)).ok).toBe(true);
  });
});

describe("the dashboard's logs", () => {
  it('record sign-ins, failures and revocations without a token, a CSRF token or the password', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-admin-'));
    const lines: string[] = [];
    const config = loadConfig({ flags: { port: '0', store: 'memory:', dataDir: dir, adminPassword: PASSWORD, logLevel: 'trace' }, env: {} });
    const service = await createService(config, { logStream: { write: (line: string) => void lines.push(line) } });
    try {
      const base = await service.listen();
      const a = await service.ctx.sessions.create({ userId: 'alice' });
      const client = new Client(base);
      expect((await client.post('/admin/login', { username: 'admin', password: `${PASSWORD}!` })).status).toBe(401);
      expect((await client.post('/admin/login', { username: 'admin', password: PASSWORD })).status).toBe(303);
      const page = await client.get('/admin/users?user=alice');
      const csrf = csrfOf(page.text);
      expect((await client.post(`/admin/sessions/${a.session.handle}/revoke`, { _csrf: csrf, user: 'alice', confirm: 'yes' })).status).toBe(303);
      expect((await client.post('/admin/users/revoke-all', { _csrf: csrf, user: 'alice', confirm: 'yes' })).status).toBe(303);
      expect((await client.post('/admin/logout', { _csrf: csrf })).status).toBe(303);
      const log = lines.join('');
      expect(log).toContain('admin sign-in failed');
      expect(log).toContain('admin signed in');
      expect(log).toContain(a.session.handle); // handles are public and make the log useful
      for (const line of lines) {
        expect(line).not.toMatch(/[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}/);
        expect(line).not.toContain(csrf);
        expect(line).not.toContain(PASSWORD);
      }
    } finally {
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the dashboard's sign-in brake", () => {
  it('refuses an IP after 10 failures within a minute, and lets it in again when they age out', () => {
    const brake = loginThrottle();
    const t0 = 1_000_000;
    for (let i = 0; i < 10; i++) {
      expect(brake.retryAfter('203.0.113.1', t0 + i * 1000)).toBe(0);
      brake.failed('203.0.113.1', t0 + i * 1000);
    }
    expect(brake.retryAfter('203.0.113.1', t0 + 10_000)).toBe(50);
    expect(brake.retryAfter('203.0.113.2', t0 + 10_000)).toBe(0);
    expect(brake.retryAfter('203.0.113.1', t0 + 60_000)).toBe(0); // the first failure left the window
    brake.failed('203.0.113.1', t0 + 60_000);
    expect(brake.retryAfter('203.0.113.1', t0 + 60_500)).toBeGreaterThan(0);
    brake.succeeded('203.0.113.1');
    expect(brake.retryAfter('203.0.113.1', t0 + 60_500)).toBe(0);
  });

  it('forgets the stalest IP first when its table is full', () => {
    const brake = loginThrottle({ limit: 1, maxClients: 2 });
    brake.failed('a', 1);
    brake.failed('b', 2);
    brake.failed('c', 3);
    expect([brake.retryAfter('a', 4), brake.retryAfter('b', 4) > 0, brake.retryAfter('c', 4) > 0]).toEqual([0, true, true]);
  });
});

describe("the dashboard's times", () => {
  it('shows UTC times to the second and how long ago or until', () => {
    const now = Date.UTC(2026, 10, 26, 7, 12, 3, 456);
    expect(utc(now)).toBe('2026-11-26 07:12:03 UTC');
    expect(relative(now - 2000, now)).toBe('just now');
    expect(relative(now - 42_000, now)).toBe('42 s ago');
    expect(relative(now - 3 * 60_000 - 10_000, now)).toBe('3 min ago');
    expect(relative(now + 29 * 60_000 + 59_000, now)).toBe('in 29 min');
    expect(relative(now - 5 * 3_600_000, now)).toBe('5 h ago');
    expect(relative(now - 3 * 86_400_000, now)).toBe('3 d ago');
    expect(span(3 * 86_400_000 + 4 * 3_600_000 + 5)).toBe('3 d 4 h');
    expect(span(7 * 60_000 + 3000)).toBe('7 min 3 s');
  });
});
