import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { fileKeyStorage } from '../../src/tokens/file-key-storage.js';
import { createKeySet } from '../../src/tokens/keys.js';
import { createService, type Service } from '../../src/server/service.js';
import { redisAvailable, startRedis, type RedisServer } from '../servers/redis.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'latchkey-service-'));

function configOf(flags: Record<string, string>) {
  return loadConfig({ flags: { port: '0', logLevel: 'warn', ...flags }, env: {} });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked field by field
type Json = any;

async function json(base: string, key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const r = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text === '' ? null : JSON.parse(text) };
}

describe('the service on SQLite, across a restart', () => {
  it('keeps its secrets private and stable: sessions, API keys, refresh tokens and signing keys survive', async () => {
    const dataDir = fresh();
    const flags = { store: `sqlite:${join(dataDir, 'latchkey.db')}`, dataDir };
    let service = await createService(configOf(flags));
    let base = await service.listen();
    const { key } = await service.ctx.apiKeys.create('restart');
    const created = await json(base, key, 'POST', '/v1/sessions', { userId: 'alice' });
    const pair = await json(base, key, 'POST', '/v1/tokens', { userId: 'bob' });
    expect(created.status).toBe(201);
    expect(pair.status).toBe(201);

    // Files of the data folder: private, and the generated admin password is where the service says.
    for (const name of ['refresh-secret', 'admin-password']) expect(statSync(join(dataDir, name)).mode & 0o777, name).toBe(0o600);
    expect(service.adminPasswordFile).toBe(join(dataDir, 'admin-password'));
    const password = readFileSync(join(dataDir, 'admin-password'), 'utf8').trim();
    expect(service.ctx.admin.verify('admin', password)).toBe(true);
    expect(service.ctx.admin.verify('admin', `${password}x`)).toBe(false);
    expect(service.ctx.admin.verify('root', password)).toBe(false);
    await service.close();

    service = await createService(configOf(flags));
    base = await service.listen();
    try {
      expect(service.ctx.admin.verify('admin', password)).toBe(true);
      const v = await json(base, key, 'POST', '/v1/sessions/validate', { token: created.body.token });
      expect(v.body).toMatchObject({ valid: true, session: { userId: 'alice' } });
      // The access token of the first run verifies with the second run's JWKS (same persisted key).
      const jwks = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as { keys: never[] };
      const { payload } = await jwtVerify(pair.body.accessToken, createLocalJWKSet(jwks), { issuer: 'latchkey', audience: 'latchkey' });
      expect(payload.sub).toBe('bob');
      // The refresh secret is the same, so the first run's refresh token rotates.
      const refreshed = await json(base, key, 'POST', '/v1/tokens/refresh', { refreshToken: pair.body.refreshToken });
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.refreshToken).not.toBe(pair.body.refreshToken);
    } finally {
      await service.close();
    }
  });
});

describe('signing keys', () => {
  it('follow a rotation in the key file (latchkey keys rotate) without a restart', async () => {
    const dataDir = fresh();
    const service = await createService(configOf({ store: 'memory:', dataDir, adminPassword: 'correct horse battery' }), { keyReloadMs: 100 });
    const base = await service.listen();
    try {
      const { key } = await service.ctx.apiKeys.create('keys');
      const kidOf = (jwt: string) => (JSON.parse(Buffer.from(jwt.split('.')[0] as string, 'base64url').toString()) as { kid: string }).kid;
      const before = kidOf((await json(base, key, 'POST', '/v1/tokens', { userId: 'u1' })).body.accessToken);
      const other = await createKeySet({ storage: fileKeyStorage(join(dataDir, 'keys.json')) });
      const rotated = await other.rotate();
      expect(rotated).not.toBe(before);
      // The service looks at the file every 100 ms: wait for the JWKS to show the new key (a fixed pause is overrun on a loaded machine).
      const published = async (): Promise<string[]> => ((await (await fetch(`${base}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
      let kids = await published();
      for (const until = Date.now() + 10_000; !kids.includes(rotated) && Date.now() < until; kids = await published()) await sleep(50);
      expect(kids.sort()).toEqual([before, rotated].sort());
      expect(kidOf((await json(base, key, 'POST', '/v1/tokens', { userId: 'u1' })).body.accessToken)).toBe(rotated);
    } finally {
      await service.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('lets a request in flight finish, refuses new connections, and closes the store', async () => {
    const service = await createService(configOf({ store: 'memory:', dataDir: fresh(), adminPassword: 'correct horse battery' }));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let arrived!: () => void;
    const inHandler = new Promise<void>((r) => (arrived = r));
    service.app.get('/test/slow', async () => {
      arrived();
      await gate;
      return { done: true };
    });
    const base = await service.listen();
    const inFlight = fetch(`${base}/test/slow`).then(async (r) => ({ status: r.status, body: await r.json() }));
    // The request is in the handler before the shutdown begins, however slowly it got there.
    await inHandler;
    const closed = service.close();
    // Shutdown stops the listener first (it gets there through a few hooks: wait for it, not a fixed pause).
    for (const until = Date.now() + 5_000; service.app.server.listening && Date.now() < until; ) await sleep(10);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    release();
    expect(await inFlight).toEqual({ status: 200, body: { done: true } });
    await closed;
    expect(await service.ctx.store.ping()).toBe(false); // the store is closed after the last request
    await expect(service.close()).resolves.toBeUndefined();
  });

  it('cuts requests that outlive shutdownTimeout', async () => {
    const service = await createService(configOf({ store: 'memory:', dataDir: fresh(), adminPassword: 'correct horse battery', shutdownTimeout: '300ms' }));
    let arrived!: () => void;
    const inHandler = new Promise<void>((r) => (arrived = r));
    service.app.get('/test/forever', () => {
      arrived();
      return new Promise(() => {});
    });
    const base = await service.listen();
    const inFlight = fetch(`${base}/test/forever`).then(
      () => 'answered',
      () => 'cut',
    );
    // In the handler before the shutdown begins: otherwise a refused connection would pass for a cut request.
    await inHandler;
    const started = Date.now();
    await service.close();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await inFlight).toBe('cut');
  });
});

describe('logs', () => {
  it('hold no token, API key or password, even for failures', async () => {
    const lines: string[] = [];
    const dataDir = fresh();
    const service = await createService(configOf({ store: 'memory:', dataDir, adminPassword: 'correct horse battery', logLevel: 'trace' }), {
      logStream: { write: (line: string) => void lines.push(line) },
    });
    service.app.get('/test/boom', async () => {
      throw new Error('boom');
    });
    const base = await service.listen();
    try {
      const { key } = await service.ctx.apiKeys.create('logs');
      const s = await json(base, key, 'POST', '/v1/sessions', { userId: 'alice' });
      const t = await json(base, key, 'POST', '/v1/tokens', { userId: 'alice' });
      await json(base, key, 'POST', '/v1/sessions/validate', { token: s.body.token, bogus: true });
      await json(base, key, 'POST', '/v1/sessions/rotate', { token: `${s.body.token.slice(0, -2)}xx` });
      await json(base, `${key}x`, 'GET', '/v1/users/alice/sessions');
      await fetch(`${base}/test/boom`, { headers: { authorization: `Bearer ${key}`, cookie: `__Host-demo=${s.body.token}` } });
      await json(base, key, 'POST', '/v1/tokens/refresh', { refreshToken: t.body.refreshToken });
      await json(base, key, 'POST', '/v1/tokens/refresh', { refreshToken: `${t.body.refreshToken}x` });
    } finally {
      await service.close();
    }
    const log = lines.join('');
    expect(log).toContain('boom'); // the unexpected error is logged...
    const secrets = [readFileSync(join(dataDir, 'refresh-secret'), 'utf8').trim(), 'correct horse battery'];
    for (const line of lines) {
      expect(line).not.toMatch(/lk_[0-9a-f]{24}_/); // ...but never an API key
      expect(line).not.toMatch(/[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}/); // nor a session token
      expect(line).not.toMatch(/eyJ[A-Za-z0-9_-]+\./); // nor a JWT
      for (const s of secrets) expect(line).not.toContain(s);
    }
  });
});

describe.skipIf(!redisAvailable)('a store outage', () => {
  const logLines: string[] = [];
  let redis: RedisServer;
  let service: Service;
  let base: string;
  let key: string;
  beforeAll(async () => {
    // Persisted before each answer, as a production Redis would be: the API key is still there after the crash
    // (a service that hears its store's channel again forgets the keys it trusted meanwhile, and reads them anew).
    redis = await startRedis({ appendOnly: true });
    service = await createService(configOf({ store: redis.url, dataDir: fresh(), adminPassword: 'correct horse battery', logLevel: 'warn' }), {
      apiKeyCacheMs: 60_000,
      logStream: { write: (line: string) => void logLines.push(line) },
    });
    base = await service.listen();
    key = (await service.ctx.apiKeys.create('outage')).key;
  }, 30_000);
  afterAll(async () => {
    await service?.close();
    await redis?.stop();
  });

  it('answers 503 store-unavailable and readyz 503 while Redis is down, and recovers by itself', async () => {
    const { body } = await json(base, key, 'POST', '/v1/sessions', { userId: 'alice' });
    await redis.kill();
    const during = await json(base, key, 'POST', '/v1/sessions/validate', { token: body.token });
    expect(during.status).toBe(503);
    expect(during.body.error.code).toBe('store-unavailable');
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/latchkey_store_errors_total [1-9]/);

    // Reconnection attempts are many; the log gets one warning per 10 s, not one per attempt.
    await sleep(1500);
    const warnings = logLines.filter((l) => l.includes('store connection error'));
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThanOrEqual(2);
    await redis.restart();
    let after: { status: number; body: Json } = { status: 0, body: null };
    for (let i = 0; i < 50 && after.status !== 201; i++) {
      await sleep(100);
      after = await json(base, key, 'POST', '/v1/sessions', { userId: 'alice' });
    }
    expect(after.status).toBe(201);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  }, 30_000);
});

describe('engines, tokens and abuse', () => {
  let service: Service;
  let base: string;
  let key: string;
  beforeAll(async () => {
    service = await createService(configOf({ store: 'memory:', dataDir: fresh(), adminPassword: 'correct horse battery', maxSessionsPerUser: '3' }));
    base = await service.listen();
    key = (await service.ctx.apiKeys.create('abuse')).key;
  });
  afterAll(async () => {
    await service?.close();
  });

  it('leaves a refresh token presented as a session token untouched (its 14-day deadline stays)', async () => {
    const pair = await json(base, key, 'POST', '/v1/tokens', { userId: 'u-refresh' });
    const handle = (pair.body.refreshToken as string).split('.')[0] as string;
    const before = await service.ctx.store.get(handle);
    await sleep(5);
    expect((await json(base, key, 'POST', '/v1/sessions/validate', { token: pair.body.refreshToken })).body).toEqual({ valid: false, reason: 'unknown' });
    expect(await service.ctx.store.get(handle)).toEqual(before);
  });

  it('never honours a demo or admin token on /v1, nor a /v1 token on the demo', async () => {
    for (const kind of ['demo', 'admin']) {
      const { token } = await service.ctx.engine({ kind }).create({ userId: 'alice' });
      expect((await json(base, key, 'POST', '/v1/sessions/validate', { token })).body).toEqual({ valid: false, reason: 'unknown' });
    }
    const api = await json(base, key, 'POST', '/v1/sessions', { userId: 'alice' });
    const demo = await fetch(`${base}/demo`, { headers: { cookie: `__Host-demo=${api.body.token}` }, redirect: 'manual' });
    expect(demo.status).toBe(303);
    expect(demo.headers.get('location')).toMatch(/^\/demo\/login/);
    expect((await json(base, key, 'POST', '/v1/sessions/validate', { token: api.body.token })).body.valid).toBe(true);
  });

  it('neither changes nor revokes an anonymous session of another engine by handle, nor a session by /v1/tokens/revoke', async () => {
    const other = service.ctx.engine({ kind: 'other' });
    const anonymous = await other.create({ data: { cart: 1 } });
    expect((await json(base, key, 'PATCH', `/v1/sessions/${anonymous.session.handle}/data`, { set: { role: 'admin' } })).status).toBe(404);
    expect((await json(base, key, 'DELETE', `/v1/sessions/${anonymous.session.handle}`)).status).toBe(404);
    const still = await other.validate(anonymous.token);
    expect(still.ok && still.session.data).toEqual({ cart: 1 });

    const { body } = await json(base, key, 'POST', '/v1/sessions', { userId: 'not-a-family' });
    expect((await json(base, key, 'POST', '/v1/tokens/revoke', { refreshToken: body.token })).body).toEqual({ revoked: false });
    expect((await json(base, key, 'POST', '/v1/sessions/validate', { token: body.token })).body.valid).toBe(true);
  });

  it('throttles a client that sends a burst of invalid tokens (429 with Retry-After)', async () => {
    const client = { ip: '198.51.100.77' };
    let last = { status: 0, body: null as Json };
    for (let i = 0; i < 25 && last.status !== 429; i++) {
      last = await json(base, key, 'POST', '/v1/sessions/validate', { token: `${'A'.repeat(22)}.${String(i).padEnd(43, 'B')}`, client });
    }
    expect(last.status).toBe(429);
    expect(last.body.error.code).toBe('throttled');
    // Another client is not affected.
    expect((await json(base, key, 'POST', '/v1/sessions/validate', { token: 'x', client: { ip: '198.51.100.78' } })).status).toBe(200);
  });

  it('throttles a client that sends a burst of invalid refresh tokens too', async () => {
    const client = { ip: '198.51.100.79' };
    let last = { status: 0, body: null as Json };
    for (let i = 0; i < 25 && last.status !== 429; i++) {
      last = await json(base, key, 'POST', '/v1/tokens/refresh', { refreshToken: `${'C'.repeat(22)}.${String(i).padEnd(43, 'D')}`, client });
    }
    expect(last.status).toBe(429);
    expect(last.body.error.code).toBe('throttled');
    expect(service.ctx.feed.recent(200).some((e) => e.kind === 'invalid-token-burst' && e.ip === client.ip)).toBe(true);
    const pair = await json(base, key, 'POST', '/v1/tokens', { userId: 'u-ok' });
    expect((await json(base, key, 'POST', '/v1/tokens/refresh', { refreshToken: pair.body.refreshToken, client: { ip: '198.51.100.80' } })).status).toBe(200);
  });

  it('lets exactly one of concurrent rotations win; the others get 409 conflict or 401 revoked, never a second token', async () => {
    const { body } = await json(base, key, 'POST', '/v1/sessions', { userId: 'racer' });
    const answers = await Promise.all(Array.from({ length: 6 }, () => json(base, key, 'POST', '/v1/sessions/rotate', { token: body.token })));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    for (const a of answers.filter((x) => x.status !== 200)) {
      expect([409, 401]).toContain(a.status);
      if (a.status === 401) expect(a.body.error.reason).toBe('revoked');
    }
  });

  it('names an unknown field and a forbidden key in its 400s', async () => {
    const extra = await json(base, key, 'POST', '/v1/sessions', { userId: 'a', colour: 'blue' });
    expect(extra.body.error.message).toBe('body: unknown field "colour"');
    const r = await fetch(`${base}/v1/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: '{"userId":"a","data":{"__proto__":{"admin":true}}}',
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as Json).error.message).toMatch(/"__proto__"/);
  });

  it('keeps at most maxSessionsPerUser sessions, signing the oldest out', async () => {
    const tokens: string[] = [];
    for (let i = 0; i < 4; i++) tokens.push((await json(base, key, 'POST', '/v1/sessions', { userId: 'busy' })).body.token);
    expect((await json(base, key, 'GET', '/v1/users/busy/sessions')).body.sessions).toHaveLength(3);
    expect((await json(base, key, 'POST', '/v1/sessions/validate', { token: tokens[0] })).body).toEqual({ valid: false, reason: 'revoked' });
  });

  it('answers GET /v1 with an index, and shows nothing of the deployment on the public index page', async () => {
    const index = (await (await fetch(`${base}/v1`)).json()) as Json;
    expect(index).toMatchObject({ service: 'latchkey', openapi: '/openapi.json' });
    expect(await (await fetch(`${base}/`)).text()).not.toContain('memory:');
  });

  it('brakes failed demo sign-ins per client and keeps at most 10 sessions per demo user', async () => {
    const form = (password: string) =>
      fetch(`${base}/demo/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base, 'sec-fetch-site': 'same-origin' },
        body: `user=bob&password=${password}`,
      });
    for (let i = 0; i < 12; i++) expect((await form('demo')).status).toBe(303);
    expect(await service.ctx.sessions.list('bob', { kinds: ['demo'] })).toHaveLength(10);
    let status = 0;
    for (let i = 0; i < 25 && status !== 429; i++) status = (await form('wrong')).status;
    expect(status).toBe(429);
    expect((await form('demo')).status).toBe(429); // even the right password, until the window passes
  });
});
