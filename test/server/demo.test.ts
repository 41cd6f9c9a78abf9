import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Duration } from '../../src/core/duration.js';
import type { Sessions } from '../../src/core/sessions.js';
import { loadConfig } from '../../src/server/config.js';
import type { Service } from '../../src/server/service.js';
import { createService } from '../../src/server/service.js';

const COOKIE = '__Host-demo';
const CHROME_LINUX = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';
const FIREFOX_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0';

interface Answer {
  readonly status: number;
  readonly location: string | null;
  readonly setCookies: string[];
  readonly headers: Headers;
  readonly body: string;
}

/** A browser stand-in: a cookie jar that honours expiry, manual redirects, a user agent. */
class Browser {
  readonly jar = new Map<string, string>();
  constructor(
    readonly base: string,
    readonly userAgent = CHROME_LINUX,
  ) {}

  get token(): string | undefined {
    return this.jar.get(COOKIE);
  }

  get handle(): string | undefined {
    return this.token?.split('.')[0];
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Answer> {
    return this.request('GET', path, undefined, headers);
  }

  post(path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> {
    return this.request('POST', path, new URLSearchParams(form), headers);
  }

  /** GETs `path` and posts to `action` with the page's CSRF token. */
  async submit(path: string, action: string, form: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<Answer> {
    const before = await this.get(path);
    expect(before.status).toBe(200);
    return this.post(action, { _csrf: csrfOf(before.body), ...form }, headers);
  }

  async request(method: string, path: string, body: URLSearchParams | undefined, headers: Record<string, string>): Promise<Answer> {
    const cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(new URL(path, this.base), {
      method,
      body,
      redirect: 'manual',
      headers: { 'user-agent': this.userAgent, ...(cookie === '' ? {} : { cookie }), ...headers },
    });
    const setCookies = res.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair = '', ...attrs] = line.split(';').map((p) => p.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const gone = value === '' || attrs.some((a) => /^max-age=0$/i.test(a) || (/^expires=/i.test(a) && Date.parse(a.slice(8)) <= Date.now()));
      if (gone) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return { status: res.status, location: res.headers.get('location'), setCookies, headers: res.headers, body: await res.text() };
  }

  async login(user = 'alice', password = 'demo'): Promise<Answer> {
    const page = await this.get('/demo/login');
    expect(page.status).toBe(200);
    const token = csrfOrNull(page.body);
    return this.post('/demo/login', { user, password, ...(token === null ? {} : { _csrf: token }) });
  }
}

function csrfOrNull(body: string): string | null {
  return /name="_csrf" value="([^"]+)"/.exec(body)?.[1] ?? null;
}

function csrfOf(body: string): string {
  const token = csrfOrNull(body);
  expect(token).not.toBeNull();
  return token as string;
}

/** `[handle, current]` of every device row of the home page. */
function deviceRows(body: string): Array<[string, boolean]> {
  return [...body.matchAll(/<tr data-testid="device-row" data-handle="([^"]+)" data-current="(true|false)"/g)].map((m) => [m[1] as string, m[2] === 'true']);
}

const dirs: string[] = [];

/** An engine of the demo's kind over the service's store, to check from outside what the demo's own engine holds. */
const inspectors = new WeakMap<Service, Sessions>();
function inspector(service: Service): Sessions {
  let engine = inspectors.get(service);
  if (engine === undefined) {
    engine = service.ctx.engine({ kind: 'demo' });
    inspectors.set(service, engine);
  }
  return engine;
}

async function start(demoFreshFor?: Duration): Promise<{ service: Service; base: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-demo-'));
  dirs.push(dataDir);
  const config = loadConfig({ flags: { port: '0', store: 'memory:', dataDir, adminPassword: 'correct horse battery', logLevel: 'silent' }, env: {} });
  const service = await createService(config, demoFreshFor === undefined ? {} : { demoFreshFor });
  return { service, base: await service.listen() };
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('the demo site', () => {
  let service: Service;
  let base: string;

  beforeAll(async () => {
    ({ service, base } = await start());
  });
  afterAll(async () => {
    await service.close();
  });

  const valid = async (token: string | undefined) => (await inspector(service).validate(token)).ok;

  it('sends a signed-out visitor to the sign-in page, which shows the demo users and password', async () => {
    const b = new Browser(base);
    const home = await b.get('/demo');
    expect(home.status).toBe(303);
    expect(home.location).toBe('/demo/login');
    const sensitive = await b.get('/demo/sensitive');
    expect(sensitive.status).toBe(303);
    expect(sensitive.location).toBe('/demo/login');
    const login = await b.get('/demo/login');
    expect(login.status).toBe(200);
    expect(login.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(login.headers.get('content-security-policy')).toContain("default-src 'none'");
    // The demo runs no script at all.
    expect(login.headers.get('content-security-policy')).toMatch(/(^|;\s*)script-src 'none'(;|$)/);
    expect(login.headers.get('cache-control')).toBe('no-store');
    expect(login.body).toContain('data-testid="login-form"');
    for (const user of ['alice', 'bob', 'carol']) expect(login.body).toContain(`<option value="${user}"`);
    expect(login.body).toContain('<code>demo</code>');
    expect(login.setCookies).toEqual([]);
  });

  it('refuses a wrong password or an unknown user with 401 and no session', async () => {
    const b = new Browser(base);
    const wrong = await b.login('alice', 'not-demo');
    expect(wrong.status).toBe(401);
    expect(wrong.body).toContain('data-testid="login-error"');
    expect(wrong.setCookies).toEqual([]);
    const unknown = await b.login('mallory', 'demo');
    expect(unknown.status).toBe(401);
    expect(unknown.body).not.toContain('mallory');
    expect(b.token).toBeUndefined();
  });

  it('signs in with a __Host-demo browser-session cookie that is Secure, HttpOnly, SameSite=Lax, Path=/ and has no Domain, on an uncacheable redirect', async () => {
    const b = new Browser(base);
    const r = await b.login('alice');
    expect(r.status).toBe(303);
    expect(r.location).toBe('/demo');
    expect(r.headers.get('cache-control')).toBe('no-store');
    const line = r.setCookies.find((c) => c.startsWith(`${COOKIE}=`));
    expect(line).toBeDefined();
    const attrs = (line as string).split(';').map((a) => a.trim().toLowerCase());
    expect(attrs).toContain('secure');
    expect(attrs).toContain('httponly');
    expect(attrs).toContain('samesite=lax');
    expect(attrs).toContain('path=/');
    expect(attrs.some((a) => a.startsWith('domain='))).toBe(false);
    expect(attrs.some((a) => a.startsWith('max-age=') || a.startsWith('expires='))).toBe(false);
    expect(r.body).not.toContain(b.token as string);
    const session = await inspector(service).validate(b.token);
    expect(session.ok && session.session.userId).toBe('alice');
    expect(session.ok && session.session.kind).toBe('demo');
    const home = await b.get('/demo');
    expect(home.status).toBe(200);
    expect(home.body).toMatch(/Hello <span data-testid="user-name">alice<\/span>/);
    expect(home.body).toContain('data-testid="sensitive-link"');
    expect(home.body).not.toContain(b.token as string);
  });

  it('issues a new token at sign-in and kills any token the browser held before (no fixation)', async () => {
    // A token planted in advance (an attacker's anonymous demo session).
    const planted = await inspector(service).create({});
    const b = new Browser(base);
    b.jar.set(COOKIE, planted.token);
    const r = await b.login('alice');
    expect(r.status).toBe(303);
    expect(b.token).toBeDefined();
    expect(b.token).not.toBe(planted.token);
    expect(b.handle).not.toBe(planted.session.handle);
    expect(await valid(planted.token)).toBe(false);
    expect(await valid(b.token)).toBe(true);

    // A made-up token is never adopted: it is cleared, and sign-in makes a fresh one.
    const c = new Browser(base);
    c.jar.set(COOKIE, 'madeupmadeupmadeupmadeup.secretsecretsecretsecretsecretsecretsecre');
    const login = await c.get('/demo/login');
    expect(login.setCookies.some((l) => l.startsWith(`${COOKIE}=;`))).toBe(true);
    expect(c.token).toBeUndefined();
    expect((await c.login('alice')).status).toBe(303);
    expect(c.token?.startsWith('madeup')).toBe(false);
  });

  it("lists the user's devices with the current one flagged, and signs another device out", async () => {
    const a = new Browser(base, CHROME_LINUX);
    const b = new Browser(base, FIREFOX_WINDOWS);
    await a.login('bob');
    await b.login('bob');
    const pageA = await a.get('/demo');
    expect(pageA.status).toBe(200);
    const rows = deviceRows(pageA.body);
    expect(rows).toHaveLength(2);
    expect(rows).toContainEqual([a.handle, true]);
    expect(rows).toContainEqual([b.handle, false]);
    expect(pageA.body).toContain('Chrome on Linux');
    expect(pageA.body).toContain('Firefox on Windows');
    expect(pageA.body).toContain('data-testid="current-badge"');
    expect(deviceRows((await b.get('/demo')).body)).toContainEqual([b.handle, true]);

    const revoke = await a.post(`/demo/devices/${b.handle}/revoke`, { _csrf: csrfOf(pageA.body) });
    expect(revoke.status).toBe(303);
    expect(revoke.location).toBe('/demo?done=device-revoked');
    expect(await valid(b.token)).toBe(false);
    const after = await a.get(revoke.location as string);
    expect(deviceRows(after.body)).toEqual([[a.handle, true]]);
    expect(after.body).toContain('data-notice="device-revoked"');
    const bounced = await b.get('/demo');
    expect(bounced.status).toBe(303);
    expect(bounced.location).toBe('/demo/login?reason=revoked');
  });

  it("refuses to sign out another user's session", async () => {
    const alice = new Browser(base);
    const carol = new Browser(base);
    await alice.login('alice');
    await carol.login('carol');
    const r = await alice.submit('/demo', `/demo/devices/${carol.handle}/revoke`);
    expect(r.status).toBe(404);
    expect(await valid(carol.token)).toBe(true);
  });

  it('signs out: the session is revoked on the server and the cookie expired', async () => {
    const b = new Browser(base);
    await b.login('alice');
    const token = b.token;
    const r = await b.submit('/demo', '/demo/logout');
    expect(r.status).toBe(303);
    expect(r.location).toBe('/demo/login?done=signed-out');
    expect(r.setCookies.some((l) => l.startsWith(`${COOKIE}=;`))).toBe(true);
    expect(r.headers.get('clear-site-data')).toBe('"cache"');
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(b.token).toBeUndefined();
    expect(await valid(token)).toBe(false);
    expect((await b.get('/demo')).location).toBe('/demo/login');
    expect((await b.get('/demo/login?done=signed-out')).body).toContain('data-notice="signed-out"');
  });

  it("signs out everywhere: every session of the user ends, other users' sessions live on", async () => {
    const a = new Browser(base, CHROME_LINUX);
    const b = new Browser(base, FIREFOX_WINDOWS);
    const other = new Browser(base);
    await a.login('carol');
    await b.login('carol');
    await other.login('bob');
    const tokenA = a.token;
    const r = await a.submit('/demo', '/demo/logout-everywhere');
    expect(r.status).toBe(303);
    expect(r.location).toBe('/demo/login?done=signed-out-everywhere');
    expect(r.headers.get('clear-site-data')).toBe('"cache"');
    expect(a.token).toBeUndefined();
    expect(await valid(tokenA)).toBe(false);
    expect(await valid(b.token)).toBe(false);
    expect(await valid(other.token)).toBe(true);
    expect(await service.ctx.sessions.list('carol', { kinds: ['demo'] })).toEqual([]);
  });

  it('shows, evicts and signs out only demo sessions: the application’s user of the same name keeps hers', async () => {
    // The application's carol (a /v1 session, kind 'session') and the demo's carol (kind 'demo') share a user id.
    const app = [await service.ctx.sessions.create({ userId: 'carol' }), await service.ctx.sessions.create({ userId: 'carol' })];
    const a = new Browser(base, CHROME_LINUX);
    await a.login('carol');
    const home = await a.get('/demo');
    expect(deviceRows(home.body).map(([h]) => h)).toEqual([a.handle]);
    for (const s of app) expect(home.body).not.toContain(s.session.handle);
    // A device "of hers" that is the application's is not hers to revoke here.
    expect((await a.submit('/demo', `/demo/devices/${app[0]?.session.handle}/revoke`)).status).toBe(404);
    // Ten more demo sign-ins: the demo's limit evicts demo sessions only.
    for (let i = 0; i < 10; i++) await new Browser(base).login('carol');
    expect(await valid(a.token)).toBe(false);
    const b = new Browser(base);
    await b.login('carol');
    expect((await b.submit('/demo', '/demo/logout-everywhere')).location).toBe('/demo/login?done=signed-out-everywhere');
    expect(await service.ctx.sessions.list('carol', { kinds: ['demo'] })).toEqual([]);
    for (const s of app) expect((await service.ctx.sessions.validate(s.token)).ok).toBe(true);
    expect((await service.ctx.sessions.list('carol')).map((d) => [d.handle, d.kind])).toEqual(app.map((s) => [s.session.handle, 'session']));
  });

  it('bounces a session revoked elsewhere (the dashboard) to the sign-in page on the next navigation', async () => {
    const b = new Browser(base);
    await b.login('alice');
    expect((await b.get('/demo')).status).toBe(200);
    expect(await service.ctx.sessions.revoke(b.handle as string)).toBe(true);
    const r = await b.get('/demo');
    expect(r.status).toBe(303);
    expect(r.location).toBe('/demo/login?reason=revoked');
    expect(b.token).toBeUndefined();
    const login = await b.get(r.location as string);
    expect(login.status).toBe(200);
    expect(login.body).toContain('data-notice="revoked"');
  });

  it('lets a fresh sign-in change the email kept in the session data', async () => {
    const b = new Browser(base);
    await b.login('bob');
    const page = await b.get('/demo/sensitive');
    expect(page.status).toBe(200);
    expect(page.body).toContain('data-testid="sensitive-form"');
    expect(page.body).toContain('bob@example.com');
    const r = await b.post('/demo/sensitive', { _csrf: csrfOf(page.body), email: 'bob@elsewhere.example' });
    expect(r.status).toBe(303);
    expect(r.location).toBe('/demo/sensitive?done=email-changed');
    const done = await b.get(r.location as string);
    expect(done.body).toContain('data-testid="sensitive-confirmation"');
    expect(done.body).toContain('bob@elsewhere.example');
    const stored = await inspector(service).validate(b.token);
    expect(stored.ok && stored.session.data.email).toBe('bob@elsewhere.example');
    const bad = await b.post('/demo/sensitive', { _csrf: csrfOf(done.body), email: 'not an email' });
    expect(bad.status).toBe(400);
  });

  it('escapes what users control: an email and a user agent', async () => {
    const b = new Browser(base, 'Mozilla/5.0 "><script>alert(1)</script> (X11; Linux x86_64) Firefox/1.0');
    await b.login('carol');
    const page = await b.get('/demo/sensitive');
    await b.post('/demo/sensitive', { _csrf: csrfOf(page.body), email: '<script>alert(2)</script>@x.example' });
    const after = await b.get('/demo/sensitive');
    expect(after.body).toContain('&lt;script&gt;alert(2)&lt;/script&gt;@x.example');
    expect(after.body).not.toContain('<script>');
    const home = await b.get('/demo');
    expect(home.body).toContain('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(home.body).not.toContain('<script>');
  });

  it('refuses a POST without the CSRF token, or from another site, and changes nothing', async () => {
    const b = new Browser(base);
    await b.login('alice');
    const token = b.token;
    const page = await b.get('/demo');
    const refused = (r: Answer, reason: string) => {
      expect(r.status).toBe(403);
      expect(JSON.parse(r.body)).toMatchObject({ error: reason });
    };
    refused(await b.post('/demo/logout', {}), 'csrf-token-missing');
    refused(await b.post('/demo/logout', { _csrf: 'A'.repeat(43) }), 'csrf-token-invalid');
    refused(await b.post('/demo/logout', { _csrf: csrfOf(page.body) }, { origin: 'https://evil.example' }), 'csrf-origin-mismatch');
    refused(await b.post('/demo/logout-everywhere', { _csrf: csrfOf(page.body) }, { 'sec-fetch-site': 'cross-site' }), 'csrf-cross-site');
    const other = (deviceRows(page.body)[0] as [string, boolean])[0];
    refused(await b.post(`/demo/devices/${other}/revoke`, {}), 'csrf-token-missing');
    const sensitive = await b.get('/demo/sensitive');
    refused(await b.post('/demo/sensitive', { email: 'evil@evil.example' }), 'csrf-token-missing');
    refused(await b.post('/demo/reauth', { password: 'demo', return: '/demo' }), 'csrf-token-missing');
    expect(csrfOf(sensitive.body)).toBe(csrfOf(page.body));
    expect(b.token).toBe(token);
    expect(await valid(token)).toBe(true);
    const s = await inspector(service).validate(token);
    expect(s.ok && s.session.data.email).toBeUndefined();
    // A same-origin browser request passes on Fetch Metadata alone (with the token too, as the forms send it).
    const ok = await b.post('/demo/logout', { _csrf: csrfOf(page.body) }, { 'sec-fetch-site': 'same-origin' });
    expect(ok.status).toBe(303);
  });

  it('signs this browser out when its own row is chosen in the devices table', async () => {
    const b = new Browser(base);
    await b.login('carol');
    const token = b.token;
    const r = await b.submit('/demo', `/demo/devices/${b.handle}/revoke`);
    expect(r.status).toBe(303);
    expect(r.location).toBe('/demo/login?done=signed-out');
    expect(b.token).toBeUndefined();
    expect(await valid(token)).toBe(false);
  });

  it('keeps demo users apart from real users of the same name created through the API', async () => {
    const real = await service.ctx.sessions.create({ userId: 'alice', client: { ip: '203.0.113.9', userAgent: FIREFOX_WINDOWS } });
    const b = new Browser(base);
    await b.login('alice');
    const home = await b.get('/demo');
    expect(deviceRows(home.body).map(([h]) => h)).not.toContain(real.session.handle);
    expect(home.body).not.toContain('203.0.113.9');
    // A real user's token in the demo cookie is no demo sign-in.
    const planted = new Browser(base);
    planted.jar.set(COOKIE, real.token);
    expect((await planted.get('/demo')).location).toBe('/demo/login');
    expect((await service.ctx.sessions.validate(real.token)).ok).toBe(true);
  });

  it('answers 404 for a device handle that is no session at all', async () => {
    const b = new Browser(base);
    await b.login('alice');
    const r = await b.submit('/demo', '/demo/devices/nosuchhandle/revoke');
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
  });
});

describe('the demo site when the sign-in is not fresh', () => {
  let service: Service;
  let base: string;

  beforeAll(async () => {
    ({ service, base } = await start('1s'));
  });
  afterAll(async () => {
    await service.close();
  });

  const valid = async (token: string | undefined) => (await inspector(service).validate(token)).ok;

  const stale = async (user: string): Promise<Browser> => {
    const b = new Browser(base);
    await b.login(user);
    await new Promise((r) => setTimeout(r, 1100));
    return b;
  };

  it('asks for the password again, refuses a wrong one, and lets the right one through with a new token', async () => {
    const b = await stale('alice');
    const prompt = await b.get('/demo/sensitive');
    expect(prompt.status).toBe(200);
    expect(prompt.body).toContain("Confirm it&#39;s you");
    expect(prompt.body).toContain('data-testid="reauth-form"');
    expect(prompt.body).not.toContain('data-testid="sensitive-form"');
    expect(prompt.body).toContain('name="return" value="/demo/sensitive"');

    const blocked = await b.post('/demo/sensitive', { _csrf: csrfOf(prompt.body), email: 'alice@new.example' });
    expect(blocked.status).toBe(401);
    expect(blocked.body).toContain('data-testid="reauth-form"');

    const wrong = await b.post('/demo/reauth', { _csrf: csrfOf(prompt.body), password: 'nope', return: '/demo/sensitive' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toContain('data-testid="reauth-error"');

    const before = b.token;
    const right = await b.post('/demo/reauth', { _csrf: csrfOf(prompt.body), password: 'demo', return: '/demo/sensitive' });
    expect(right.status).toBe(303);
    expect(right.location).toBe('/demo/sensitive?done=reauthenticated');
    expect(b.token).not.toBe(before);
    expect(await inspector(service).validate(before).then((r) => r.ok)).toBe(false);

    const page = await b.get(right.location as string);
    expect(page.body).toContain('data-testid="sensitive-form"');
    const change = await b.post('/demo/sensitive', { _csrf: csrfOf(page.body), email: 'alice@new.example' });
    expect(change.status).toBe(303);
    const s = await inspector(service).validate(b.token);
    expect(s.ok && s.session.data.email).toBe('alice@new.example');
  });

  it('asks for the password again before signing out another device or everywhere, and signs out only after it', async () => {
    const a = await stale('carol');
    const b = new Browser(base, FIREFOX_WINDOWS);
    await b.login('carol');
    const home = await a.get('/demo');
    expect(home.body).toContain('data-testid="sign-out-everywhere"');

    // Another device: refused with the confirmation page, nothing revoked.
    const device = await a.post(`/demo/devices/${b.handle}/revoke`, { _csrf: csrfOf(home.body) });
    expect(device.status).toBe(401);
    expect(device.body).toContain('data-testid="reauth-form"');
    expect(device.body).toContain('data-action="sign out another device"');
    expect(device.body).toContain('name="return" value="/demo"');
    expect(await valid(b.token)).toBe(true);

    // Everywhere: the same, and every session of the user lives on.
    const everywhere = await a.post('/demo/logout-everywhere', { _csrf: csrfOf(home.body) });
    expect(everywhere.status).toBe(401);
    expect(everywhere.body).toContain('data-action="sign out everywhere"');
    expect(await valid(a.token)).toBe(true);
    expect(await valid(b.token)).toBe(true);

    // A wrong password keeps the prompt for the same action; the right one rotates the token and returns home.
    const wrong = await a.post('/demo/reauth', { _csrf: csrfOf(everywhere.body), password: 'nope', return: '/demo', action: 'device' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toContain('data-action="sign out another device"');
    const c = new Browser(base);
    await c.login('carol');
    const before = a.token;
    const right = await a.post('/demo/reauth', { _csrf: csrfOf(everywhere.body), password: 'demo', return: '/demo', action: 'device' });
    expect(right.status).toBe(303);
    expect(right.location).toBe('/demo?done=reauthenticated');
    expect(a.token).not.toBe(before);

    // Fresh now: the same two actions go through.
    const revoked = await a.submit('/demo', `/demo/devices/${b.handle}/revoke`);
    expect(revoked.status).toBe(303);
    expect(revoked.location).toBe('/demo?done=device-revoked');
    expect(await valid(b.token)).toBe(false);
    const out = await a.submit('/demo', '/demo/logout-everywhere');
    expect(out.location).toBe('/demo/login?done=signed-out-everywhere');
    expect(await valid(c.token)).toBe(false);
    expect(await service.ctx.sessions.list('carol', { kinds: ['demo'] })).toEqual([]);
  });

  it('signs this device out without asking for the password again', async () => {
    const a = await stale('alice');
    const token = a.token;
    const own = await a.submit('/demo', `/demo/devices/${a.handle}/revoke`);
    expect(own.location).toBe('/demo/login?done=signed-out');
    expect(await valid(token)).toBe(false);
    const b = await stale('alice');
    const out = await b.submit('/demo', '/demo/logout');
    expect(out.location).toBe('/demo/login?done=signed-out');
    expect(await valid(b.token)).toBe(false);
  });

  it('returns only to paths under /demo after re-authentication (no open redirect)', async () => {
    const b = await stale('bob');
    const prompt = await b.get('/demo/sensitive');
    expect(prompt.body).toContain('data-testid="reauth-form"');
    const targets: Array<[string, string]> = [
      ['https://evil.example/', '/demo'],
      ['//evil.example/demo', '/demo'],
      ['/\\evil.example', '/demo'],
      ['/demo/../admin', '/demo'],
      ['/demo//evil.example', '/demo'],
      ['/admin', '/demo'],
      ['javascript:alert(1)', '/demo'],
      ['/demo/sensitive', '/demo/sensitive'],
    ];
    for (const [target, expected] of targets) {
      const page = await b.get('/demo');
      const r = await b.post('/demo/reauth', { _csrf: csrfOf(page.body), password: 'demo', return: target });
      expect(r.status, target).toBe(303);
      expect(r.location, target).toBe(`${expected}?done=reauthenticated`);
    }
  });
});
