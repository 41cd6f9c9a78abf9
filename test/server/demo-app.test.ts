/**
 * The demo's single-page section from the server's side, over real HTTP:
 * its JSON sign-in and token endpoints with the section's short deadlines,
 * its tokens honoured nowhere else in the service (not as a demo cookie,
 * not by `/v1`), and the built `latchkey/browser` served as same-origin
 * modules and nothing else.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { loadConfig } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';
import { ensureBuilt } from '../cli/built.js';

describe('the demo\'s single-page section', () => {
  let dir = '';
  let service: Service;
  let base = '';

  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'latchkey-demo-app-'));
    const config = loadConfig({ flags: { port: '0', store: 'memory:', dataDir: join(dir, 'data'), adminPassword: 'demo app admin', logLevel: 'silent' }, env: {} });
    service = await createService(config);
    base = await service.listen();
  }, 200_000);
  afterAll(async () => {
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  it('signs a demo user in over JSON with its short deadlines, refreshes, and refuses a wrong password', async () => {
    const wrong = await post('/demo/app/auth/login', { user: 'alice', password: 'nope' });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: 'invalid_credentials' });
    expect((await post('/demo/app/auth/login', { user: 'mallory', password: 'demo' })).status).toBe(401);

    const signIn = await post('/demo/app/auth/login', { user: 'alice', password: 'demo' });
    expect(signIn.status).toBe(200);
    // 2 minutes idle, 15 minutes in all (the section's defaults), and 1-minute access tokens.
    expect(signIn.headers.get('latchkey-deadlines')).toBe('idle=120, absolute=900');
    const pair = (await signIn.json()) as { access_token: string; refresh_token: string; expires_in: number };
    expect(pair.expires_in).toBe(60);

    const me = await fetch(`${base}/demo/app/api/me`, { headers: { authorization: `Bearer ${pair.access_token}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ user: 'alice' });
    const refreshed = await post('/demo/app/auth/refresh', { refresh_token: pair.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(refreshed.headers.get('latchkey-deadlines')).toMatch(/^idle=1(19|20), absolute=(899|900)$/);
  });

  it('honours its tokens nowhere else: not as the demo\'s session cookie, not at /v1', async () => {
    const pair = (await (await post('/demo/app/auth/login', { user: 'bob', password: 'demo' })).json()) as { access_token: string; refresh_token: string };
    // The refresh token presented as the demo's cookie is no session of the demo.
    const home = await fetch(`${base}/demo`, { headers: { cookie: `__Host-demo=${pair.refresh_token}` }, redirect: 'manual' });
    expect(home.status).toBe(303);
    expect(home.headers.get('location')).toMatch(/^\/demo\/login/);
    // Nor a token family of the service's token mode.
    const { key } = await service.ctx.apiKeys.create('demo-app-test');
    const v1 = await post('/v1/tokens/refresh', { refreshToken: pair.refresh_token }, { authorization: `Bearer ${key}` });
    expect(v1.status).toBe(401);
    // And its access tokens are for its own audience only.
    expect((await service.ctx.tokens.verify(pair.access_token)).ok).toBe(false);
  });

  it('refuses an unknown option of the section\'s deadlines at construction', async () => {
    const config = loadConfig({ flags: { port: '0', store: 'memory:', dataDir: join(dir, 'other'), adminPassword: 'demo app admin', logLevel: 'silent' }, env: {} });
    await expect(createService(config, { demoApp: { idle: '1m' } as never })).rejects.toThrow(ConfigError);
    await expect(createService(config, { demoApp: { idle: '1m' } as never })).rejects.toThrow(/demoApp\.idle/);
  });

  it('serves the page under a policy without inline script, and the built module\'s files (its import closure) as same-origin scripts, nothing else', async () => {
    const page = await fetch(`${base}/demo/app`);
    expect(page.status).toBe(200);
    const policy = page.headers.get('content-security-policy') ?? '';
    expect(policy.split('; ')).toEqual(expect.arrayContaining(["script-src 'self'", "require-trusted-types-for 'script'", "default-src 'none'"]));
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/demo/app/app.js"></script>');
    expect(html).not.toMatch(/<script>|<script type="module">| on[a-z]+="/);

    for (const path of ['/demo/app/app.js', '/demo/app/lib/browser/index.js', '/demo/app/lib/browser/session.js', '/demo/app/lib/core/errors.js']) {
      const r = await fetch(`${base}${path}`);
      expect(r.status, path).toBe(200);
      expect(r.headers.get('content-type'), path).toBe('text/javascript; charset=utf-8');
      expect(r.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
    for (const path of [
      '/demo/app/lib/browser/index.js.map',
      '/demo/app/lib/browser/index.d.ts',
      '/demo/app/lib/core/sessions.js',
      '/demo/app/lib/server/service.js',
      '/demo/app/lib/browser/..%2F..%2Fserver%2Fservice.js',
      '/demo/app/lib/browser/nothing.js',
    ]) {
      expect((await fetch(`${base}${path}`)).status, path).toBe(404);
    }
  });
});
