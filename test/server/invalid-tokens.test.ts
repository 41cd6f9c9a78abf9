/**
 * The service shows invalid tokens below the burst threshold: the
 * `invalid-token` reports of its engines reach the dashboard's security
 * feed and `/metrics`, by carrier and reason, without the tokens.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';

const PASSWORD = 'correct horse battery';
const WINDOW_MS = 1000;
const NEVER_ISSUED = `${'R'.repeat(22)}.${'T'.repeat(43)}`;
const MADE_UP = 'not-a-session-token-at-all';

let dir: string;
let service: Service;
let base: string;
let apiKey: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-invalid-'));
  const config = loadConfig({ flags: { port: '0', store: 'memory:', dataDir: dir, adminPassword: PASSWORD, logLevel: 'silent' }, env: {} });
  service = await createService(config, { guessingWindow: `${WINDOW_MS}ms` });
  base = await service.listen();
  apiKey = (await service.ctx.apiKeys.create('test')).key;
});
afterAll(async () => {
  await service?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A cookie jar that follows no redirect: enough for the demo and the dashboard. */
async function browse(jar: Map<string, string>, path: string, form?: Record<string, string>): Promise<{ status: number; text: string; setCookies: string[] }> {
  const headers: Record<string, string> = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0' };
  if (jar.size > 0) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  if (form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  const res = await fetch(base + path, { method: form === undefined ? 'GET' : 'POST', headers, body: form === undefined ? undefined : new URLSearchParams(form), redirect: 'manual' });
  const setCookies = res.headers.getSetCookie();
  for (const line of setCookies) {
    const pair = line.slice(0, line.indexOf(';'));
    const [name, value] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
    if (value === '') jar.delete(name);
    else jar.set(name, value);
  }
  return { status: res.status, text: await res.text(), setCookies };
}

function csrfOf(page: string): string {
  return /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
}

async function validate(token: string, ip: string): Promise<number> {
  const res = await fetch(`${base}/v1/sessions/validate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ token, client: { ip } }),
  });
  await res.text();
  return res.status;
}

describe('invalid tokens in the service', () => {
  it('reaches the security feed and /metrics by carrier and reason, once per client window, without the tokens', async () => {
    // The demo's cookie, by the name the demo gives it.
    const demo = new Map<string, string>();
    const form = await browse(demo, '/demo/login');
    const signedIn = await browse(demo, '/demo/login', { user: 'alice', password: 'demo', _csrf: csrfOf(form.text) });
    expect(signedIn.status).toBe(303);
    const [cookieName] = [...demo.keys()];
    demo.set(cookieName as string, MADE_UP);
    expect((await browse(demo, '/demo')).status).toBe(303);

    for (let i = 0; i < 3; i++) expect(await validate(NEVER_ISSUED, '192.0.2.44')).toBe(200);
    // The reports go out when each client's window ends (a timer): wait until both are in the feed, not a fixed pause past the window.
    const reported = async () => (await service.ctx.feed.read(50)).filter((e) => e.kind === 'invalid-token').length;
    for (const until = Date.now() + WINDOW_MS + 5_000; (await reported()) < 2 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('# TYPE latchkey_invalid_tokens_total counter');
    expect(metrics).toMatch(/^latchkey_invalid_tokens_total\{carrier="api",reason="unknown"\} 3$/m);
    expect(metrics).toMatch(/^latchkey_invalid_tokens_total\{carrier="cookie",reason="malformed"\} 1$/m);

    const admin = new Map<string, string>();
    const login = await browse(admin, '/admin/login');
    expect((await browse(admin, '/admin/login', { username: 'admin', password: PASSWORD, _csrf: csrfOf(login.text) })).status).toBe(303);
    const events = await browse(admin, '/admin/events');
    expect(events.status).toBe(200);
    const rows = [...events.text.matchAll(/<tr data-testid="event" data-event-id="\d+" data-kind="invalid-token">([\s\S]*?)<\/tr>/g)].map((m) => m[1] as string);
    expect(rows).toHaveLength(2);
    expect(rows.some((r) => r.includes('192.0.2.44') && r.includes('3 unknown tokens through the API'))).toBe(true);
    expect(rows.some((r) => r.includes('127.0.0.1') && r.includes('1 malformed token in the cookie'))).toBe(true);
    const overview = await browse(admin, '/admin');
    expect(overview.text).toMatch(/data-stat="invalidTokens">4</);
    for (const page of [events.text, overview.text, metrics]) {
      expect(page).not.toContain(NEVER_ISSUED.slice(0, 22));
      expect(page).not.toContain(MADE_UP);
    }
  });
});
