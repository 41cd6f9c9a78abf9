// The service tells backends that verify no JWT themselves whether an access
// token is still active (POST /v1/tokens/introspect, RFC 7662-style), and an
// access token stops being active once its session ends through any route:
// sign-out, "log out everywhere", revocation by handle, theft. Through a real
// listening `latchkey serve`, on the memory store and, for two instances
// sharing one store, on a real Redis.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';
import { redisAvailable, startRedis, type RedisServer } from '../servers/redis.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function start(store: string, dataDir?: string): Promise<{ service: Service; base: string; key: string; dataDir: string }> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'latchkey-introspect-'));
  if (dataDir === undefined) dirs.push(dir);
  const config = loadConfig({ flags: { port: '0', store, dataDir: dir, adminPassword: 'correct horse battery', logLevel: 'silent' }, env: {} });
  const service = await createService(config);
  const base = await service.listen();
  return { service, base, key: (await service.ctx.apiKeys.create('introspect-test')).key, dataDir: dir };
}

async function call(base: string, key: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, json: text === '' ? undefined : JSON.parse(text) };
}

describe('POST /v1/tokens/introspect', () => {
  let s: Awaited<ReturnType<typeof start>>;
  const api = (method: string, path: string, body?: unknown) => call(s.base, s.key, method, path, body);
  const introspect = async (token: string): Promise<Json> => {
    const r = await api('POST', '/v1/tokens/introspect', { token });
    expect(r.status).toBe(200);
    return r.json;
  };

  beforeAll(async () => {
    s = await start('memory:');
  });
  afterAll(async () => {
    await s?.service.close();
  });

  it('answers an active token with its claims, RFC 7662 names, and nothing secret', async () => {
    const issued = (await api('POST', '/v1/tokens', { userId: 'ada', scope: 'read write' })).json;
    const payload = JSON.parse(Buffer.from(issued.accessToken.split('.')[1], 'base64url').toString()) as Json;
    const r = await introspect(issued.accessToken);
    expect(r).toEqual({
      active: true,
      token_type: 'Bearer',
      sub: 'ada',
      sid: payload.sid,
      iss: 'latchkey',
      aud: 'latchkey',
      iat: payload.iat,
      nbf: payload.nbf,
      exp: payload.iat + 300,
      scope: 'read write',
      auth_time: payload.auth_time,
    });
    expect(JSON.stringify(r)).not.toContain(issued.refreshToken);
  });

  it('answers only { active: false } for a token that is not valid, whatever the reason', async () => {
    const issued = (await api('POST', '/v1/tokens', { userId: 'ada' })).json;
    const [h, p, sig] = issued.accessToken.split('.') as [string, string, string];
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'root' })).toString('base64url')}.${sig}`;
    for (const token of ['garbage', tampered, issued.refreshToken, `${h}.${p}.`]) expect(await introspect(token)).toEqual({ active: false });
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 6 * 60_000);
      expect(await introspect(issued.accessToken)).toEqual({ active: false });
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses a request without an API key, without a token, or with unknown fields', async () => {
    const issued = (await api('POST', '/v1/tokens', { userId: 'ada' })).json;
    expect((await call(s.base, 'not-a-key', 'POST', '/v1/tokens/introspect', { token: issued.accessToken })).status).toBe(401);
    expect((await api('POST', '/v1/tokens/introspect', {})).status).toBe(400);
    expect((await api('POST', '/v1/tokens/introspect', { token: issued.accessToken, everything: true })).status).toBe(400);
    expect((await api('POST', '/v1/tokens/introspect', { token: 'x'.repeat(8193) })).status).toBe(400);
    expect(await introspect(issued.accessToken)).toMatchObject({ active: true });
    expect((await api('POST', '/v1/tokens/introspect', { token: issued.accessToken, token_type_hint: 'access_token' })).json).toMatchObject({ active: true });
  });

  it('answers inactive once the user is logged out everywhere (DELETE /v1/users/{id}/sessions), and the token is refused', async () => {
    const a = (await api('POST', '/v1/tokens', { userId: 'grace' })).json;
    const b = (await api('POST', '/v1/tokens', { userId: 'grace' })).json;
    const other = (await api('POST', '/v1/tokens', { userId: 'linus' })).json;
    for (const t of [a, b, other]) expect(await introspect(t.accessToken)).toMatchObject({ active: true });
    const revoked = await api('DELETE', '/v1/users/grace/sessions');
    expect(revoked.status).toBe(200);
    expect(revoked.json.revoked).toHaveLength(2);
    expect(await introspect(a.accessToken)).toEqual({ active: false });
    expect(await introspect(b.accessToken)).toEqual({ active: false });
    expect(await introspect(other.accessToken)).toMatchObject({ active: true });
    // A resource server verifying with latchkey over the same store refuses it too.
    expect(await s.service.ctx.tokens.verify(a.accessToken)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('answers inactive once the family is revoked by the access token’s sid (DELETE /v1/sessions/{sid}), from any generation', async () => {
    const first = (await api('POST', '/v1/tokens', { userId: 'hopper' })).json;
    const second = (await api('POST', '/v1/tokens/refresh', { refreshToken: first.refreshToken })).json;
    const sid = (await introspect(first.accessToken)).sid as string;
    expect(await introspect(second.accessToken)).toMatchObject({ active: true });
    expect((await api('DELETE', `/v1/sessions/${sid}`)).status).toBe(204);
    expect(await introspect(first.accessToken)).toEqual({ active: false });
    expect(await introspect(second.accessToken)).toEqual({ active: false });
    expect((await api('POST', '/v1/tokens/refresh', { refreshToken: second.refreshToken })).status).toBe(401);
    expect((await api('DELETE', `/v1/sessions/${sid}`)).status).toBe(404);
  });

  it('answers inactive after sign-out (POST /v1/tokens/revoke) and after theft', async () => {
    const signedOut = (await api('POST', '/v1/tokens', { userId: 'turing' })).json;
    expect((await api('POST', '/v1/tokens/revoke', { refreshToken: signedOut.refreshToken })).json).toEqual({ revoked: true });
    expect(await introspect(signedOut.accessToken)).toEqual({ active: false });

    const first = (await api('POST', '/v1/tokens', { userId: 'turing' })).json;
    const second = (await api('POST', '/v1/tokens/refresh', { refreshToken: first.refreshToken })).json;
    expect(await introspect(second.accessToken)).toMatchObject({ active: true });
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 11_000);
      expect((await api('POST', '/v1/tokens/refresh', { refreshToken: first.refreshToken })).json.error.reason).toBe('reused');
      expect(await introspect(first.accessToken)).toEqual({ active: false });
      expect(await introspect(second.accessToken)).toEqual({ active: false });
    } finally {
      vi.useRealTimers();
    }
  });

  it('is what latchkey/client’s introspectToken calls', async () => {
    const client = createClient({ baseUrl: s.base, apiKey: s.key });
    const pair = await client.issueTokens({ userId: 'knuth', scope: 'read' });
    const active = await client.introspectToken(pair.accessToken);
    expect(active).toMatchObject({ active: true, tokenType: 'Bearer', sub: 'knuth', scope: 'read', iss: 'latchkey', aud: 'latchkey' });
    if (!active.active) return;
    expect(active.exp - active.iat).toBe(300);
    expect(await client.revokeSession(active.sid)).toBe(true);
    expect(await client.introspectToken(pair.accessToken)).toEqual({ active: false });
    await expect(client.introspectToken('' as string)).rejects.toThrow(TypeError);
  });
});

describe.skipIf(!redisAvailable)('two service instances on one Redis', () => {
  let redis: RedisServer;
  let a: Awaited<ReturnType<typeof start>>;
  let b: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    redis = await startRedis();
    a = await start(redis.url);
    // The same data folder: the same signing keys and refresh secret, as a fleet shares them.
    b = await start(redis.url, a.dataDir);
  });
  afterAll(async () => {
    await a?.service.close();
    await b?.service.close();
    await redis?.stop();
  });

  it('the other instance answers inactive within milliseconds after one logs the user out everywhere', async () => {
    const issued = (await call(a.base, a.key, 'POST', '/v1/tokens', { userId: 'fleet-user' })).json;
    expect((await call(b.base, a.key, 'POST', '/v1/tokens/introspect', { token: issued.accessToken })).json).toMatchObject({ active: true });
    expect((await call(b.base, a.key, 'POST', '/v1/tokens/introspect', { token: issued.accessToken })).json).toMatchObject({ active: true });
    expect((await call(a.base, a.key, 'DELETE', '/v1/users/fleet-user/sessions')).json.revoked).toHaveLength(1);
    const started = Date.now();
    let answer: Json;
    do {
      answer = (await call(b.base, a.key, 'POST', '/v1/tokens/introspect', { token: issued.accessToken })).json;
    } while (answer.active === true && Date.now() - started < 2000);
    expect(answer).toEqual({ active: false });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
