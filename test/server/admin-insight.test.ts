/**
 * The dashboard for people who would rather look than read, through real
 * listening services: charts drawn from counts kept in the store (every
 * instance over one SQLite file adds in, and a restart loses nothing), the
 * users with most sessions and a search by prefix, confirmation before
 * every revocation, and the dashboard's own actions as an audit trail in
 * the security feed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';

const PASSWORD = 'correct horse battery';
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** A browser of one: its cookies, no redirects followed. */
class Browser {
  readonly cookies = new Map<string, string>();
  constructor(readonly base: string) {}
  async send(path: string, form?: Record<string, string>): Promise<{ status: number; text: string; location: string | null }> {
    const headers: Record<string, string> = { 'user-agent': UA };
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(new URL(path, this.base), { method: form === undefined ? 'GET' : 'POST', headers, body: form === undefined ? undefined : new URLSearchParams(form).toString(), redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';')[0] as string;
      const eq = pair.indexOf('=');
      const value = pair.slice(eq + 1);
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(pair.slice(0, eq));
      else this.cookies.set(pair.slice(0, eq), value);
    }
    return { status: res.status, text: await res.text(), location: res.headers.get('location') };
  }
  async signIn(password = PASSWORD): Promise<number> {
    await this.send('/admin/login');
    return (await this.send('/admin/login', { username: 'admin', password })).status;
  }
}

function csrfOf(page: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(page);
  if (m === null) throw new Error('no CSRF field on the page');
  return m[1] as string;
}

/** The `data-*` attributes of the elements of `page` that carry `marker`. */
function elements(page: string, marker: RegExp): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  for (const m of page.matchAll(/<(?:g|rect|circle|tr)\s([^>]*)>/g)) {
    const attrs = m[1] as string;
    if (!marker.test(attrs)) continue;
    const o: Record<string, string> = {};
    for (const a of attrs.matchAll(/([a-z-]+)="([^"]*)"/g)) o[a[1] as string] = a[2] as string;
    out.push(o);
  }
  return out;
}

describe('the dashboard, for people who would rather look than read', () => {
  const dirs: string[] = [];
  const services: Service[] = [];
  afterEach(async () => {
    for (const s of services.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function start(store = 'memory:', dir?: string): Promise<{ service: Service; base: string; dir: string }> {
    const dataDir = dir ?? mkdtempSync(join(tmpdir(), 'latchkey-insight-'));
    if (dir === undefined) dirs.push(dataDir);
    const config = loadConfig({ flags: { port: '0', store: store.replace('<dir>', dataDir), dataDir, adminPassword: PASSWORD, logLevel: 'silent' }, env: {} });
    const service = await createService(config, { historyFlushMs: 60_000 });
    services.push(service);
    return { service, base: await service.listen(), dir: dataDir };
  }

  async function validate(base: string, key: string, token: string): Promise<number> {
    const res = await fetch(new URL('/v1/sessions/validate', base), { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    await res.text();
    return res.status;
  }

  it('charts the validations of every instance over one store, and keeps them across a restart', async () => {
    const a = await start('sqlite:<dir>/sessions.db');
    const b = await start(`sqlite:${a.dir}/sessions.db`, a.dir);
    const key = (await a.service.ctx.apiKeys.create('insight')).key;
    const s = await a.service.ctx.sessions.create({ userId: 'alice' });
    for (let i = 0; i < 3; i++) expect(await validate(a.base, key, s.token)).toBe(200);
    for (let i = 0; i < 2; i++) expect(await validate(b.base, key, s.token)).toBe(200);
    // Two rejected, on the second instance: a token that was never issued.
    const unknown = `${'A'.repeat(22)}.${'B'.repeat(43)}`;
    for (let i = 0; i < 2; i++) expect(await validate(b.base, key, unknown)).toBe(200);
    await a.service.ctx.history.flush();
    await b.service.ctx.history.flush();

    const browser = new Browser(a.base);
    expect(await browser.signIn()).toBe(303);
    const overview = (await browser.send('/admin')).text;
    for (const name of ['live', 'validations', 'rejections', 'new-devices']) expect(overview).toContain(`data-testid="chart-${name}"`);
    const minutes = elements(overview, /data-valid=/);
    expect(minutes).toHaveLength(60);
    // Every validation of both instances, in the current minute (the last bar), or the one before if a minute turned.
    const valid = minutes.reduce((n, m) => n + Number(m['data-valid']), 0);
    const rejected = minutes.reduce((n, m) => n + Number(m['data-rejected']), 0);
    expect(valid).toBe(5);
    expect(rejected).toBe(2);
    const reasons = elements(overview, /data-reason=/).filter((e) => e['data-value'] !== undefined);
    expect(reasons).toEqual([expect.objectContaining({ 'data-reason': 'unknown', 'data-value': '2' })]);
    // The signed-in sessions, sampled from the store at the flush: alice's (the admin signed in after it).
    const live = elements(overview, /data-value=/).filter((e) => e.cx !== undefined);
    expect(live.length).toBeGreaterThanOrEqual(1);
    expect(Number(live.at(-1)?.['data-value'])).toBe(1);

    // A restart of both: the counts were written to the file, and come back.
    await b.service.close();
    await a.service.close();
    services.length = 0;
    const again = await start(`sqlite:${a.dir}/sessions.db`, a.dir);
    const second = new Browser(again.base);
    expect(await second.signIn()).toBe(303);
    const after = elements((await second.send('/admin')).text, /data-valid=/);
    expect(after.reduce((n, m) => n + Number(m['data-valid']), 0)).toBe(5);
    expect(after.reduce((n, m) => n + Number(m['data-rejected']), 0)).toBe(2);
  });

  it('counts new devices per day in the chart', async () => {
    const { service, base } = await start();
    // New-device detection runs for engines that someone listens to: the service's feed does.
    await service.ctx.sessions.create({ userId: 'carol', client: { ip: '203.0.113.1', userAgent: UA } });
    await service.ctx.sessions.create({ userId: 'carol', client: { ip: '203.0.113.2', userAgent: 'curl/8.5.0' } });
    await service.ctx.history.flush();
    const browser = new Browser(base);
    expect(await browser.signIn()).toBe(303);
    const days = elements((await browser.send('/admin')).text, /data-value=/).filter((e) => e.height !== undefined && e['data-at'] !== undefined && e['data-valid'] === undefined);
    expect(days).toHaveLength(14);
    // carol's two devices, counted at the flush.
    expect(Number(days.at(-1)?.['data-value'])).toBe(2);
  });

  it('lists the users with most sessions and finds users by prefix', async () => {
    const { service, base } = await start();
    for (const [user, n] of [['alice', 3], ['alicia', 1], ['bob', 2]] as const) {
      for (let i = 0; i < n; i++) await service.ctx.sessions.create({ userId: user });
    }
    const browser = new Browser(base);
    expect(await browser.signIn()).toBe(303);
    const overview = (await browser.send('/admin')).text;
    const top = elements(overview, /data-testid="user-row"/).map((r) => r['data-user']);
    expect(top).toEqual(['alice', 'bob', 'admin', 'alicia']);
    const found = await browser.send('/admin/users?prefix=ali');
    expect(found.status).toBe(200);
    const rows = elements(found.text, /data-testid="user-row"/).map((r) => r['data-user']);
    expect(rows).toEqual(['alice', 'alicia']);
    expect(found.text).toMatch(/data-testid="prefix-count">2 users/);
    expect((await browser.send(`/admin/users?prefix=${'x'.repeat(300)}`)).status).toBe(400);
  });

  it('asks before it revokes one session or all of them, and changes nothing until confirmed', async () => {
    const { service, base } = await start();
    const one = await service.ctx.sessions.create({ userId: 'dave', client: { ip: '203.0.113.9', userAgent: UA } });
    const two = await service.ctx.sessions.create({ userId: 'dave' });
    const browser = new Browser(base);
    expect(await browser.signIn()).toBe(303);
    const csrf = csrfOf((await browser.send('/admin/users?user=dave')).text);

    const ask = await browser.send(`/admin/sessions/${one.session.handle}/revoke`, { _csrf: csrf, user: 'dave' });
    expect(ask.status).toBe(200);
    expect(ask.text).toContain('data-testid="confirm"');
    expect(ask.text).toContain('Revoke this session?');
    expect(ask.text).toContain('name="confirm" value="yes"');
    expect((await service.ctx.sessions.validate(one.token)).ok).toBe(true);
    const done = await browser.send(`/admin/sessions/${one.session.handle}/revoke`, { _csrf: csrfOf(ask.text), user: 'dave', confirm: 'yes' });
    expect(done.status).toBe(303);
    expect(await service.ctx.sessions.validate(one.token)).toEqual({ ok: false, reason: 'revoked' });

    const askAll = await browser.send('/admin/users/revoke-all', { _csrf: csrf, user: 'dave' });
    expect(askAll.status).toBe(200);
    expect(askAll.text).toContain('Revoke all 1 live session of <b>dave</b>');
    expect((await service.ctx.sessions.validate(two.token)).ok).toBe(true);
    expect((await browser.send('/admin/users/revoke-all', { _csrf: csrf, user: 'dave', confirm: 'no' })).status).toBe(200);
    expect((await service.ctx.sessions.validate(two.token)).ok).toBe(true);
    expect((await browser.send('/admin/users/revoke-all', { _csrf: csrf, user: 'dave', confirm: 'yes' })).status).toBe(303);
    expect(await service.ctx.sessions.validate(two.token)).toEqual({ ok: false, reason: 'revoked' });
  });

  it("puts the dashboard's own actions in the security feed: who, what, when, from where, and never a password", async () => {
    const { service, base } = await start();
    const target = await service.ctx.sessions.create({ userId: 'erin' });
    await service.ctx.sessions.create({ userId: 'erin' });
    const browser = new Browser(base);
    const t0 = Date.now();
    expect(await browser.signIn('wrong horse')).toBe(401);
    // A password typed into the user-name field stays out of the feed.
    await browser.send('/admin/login', { username: PASSWORD, password: 'x' });
    expect(await browser.signIn()).toBe(303);
    const csrf = csrfOf((await browser.send('/admin/users?user=erin')).text);
    await browser.send(`/admin/sessions/${target.session.handle}/revoke`, { _csrf: csrf, user: 'erin', confirm: 'yes' });
    await browser.send('/admin/users/revoke-all', { _csrf: csrf, user: 'erin', confirm: 'yes' });
    await browser.send('/admin/logout', { _csrf: csrf });

    const trail = service.ctx.feed
      .recent(50)
      .filter((e) => e.kind.startsWith('admin-'))
      .reverse();
    expect(trail.map((e) => e.kind)).toEqual(['admin-sign-in-failed', 'admin-sign-in-failed', 'admin-sign-in', 'admin-revoke', 'admin-revoke-all', 'admin-sign-out']);
    for (const e of trail) {
      expect(e.ip).toBe('127.0.0.1');
      expect(e.at).toBeGreaterThanOrEqual(t0);
      expect(JSON.stringify(e)).not.toContain(PASSWORD);
    }
    expect(trail[0]?.detail).toBe('dashboard sign-in refused for admin');
    expect(trail[1]?.detail).toBe('dashboard sign-in refused (unknown user name)');
    expect(trail[3]).toMatchObject({ userId: 'erin', handle: target.session.handle, sessionKind: 'session', detail: 'admin revoked this session from the dashboard' });
    expect(trail[4]).toMatchObject({ userId: 'erin', detail: 'admin revoked 1 session from the dashboard' });

    // And on the page, for the next admin.
    const next = new Browser(base);
    expect(await next.signIn()).toBe(303);
    const events = (await next.send('/admin/events')).text;
    for (const kind of ['admin-sign-in-failed', 'admin-sign-in', 'admin-revoke', 'admin-revoke-all', 'admin-sign-out']) expect(events).toContain(`data-kind="${kind}"`);
  });
});
