// The service's /v1 JSON API and its public routes, driven with raw fetch
// against a real listening `latchkey serve` on the memory store. Every effect
// is checked independently of the answer that claims it (validate after a
// revoke, refresh after a rotation, JWT verification against the served JWKS).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';
import { redisAvailable, startRedis } from '../servers/redis.js';

const UA_FIREFOX_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0';
const UA_IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

let service: Service;
let base: string;
let apiKey: string;
let dataDir: string;
const logLines: string[] = [];
/** Every secret this suite has seen (API keys, session tokens, refresh and access tokens): none may show in a log line or an error body. */
const secretsSeen = new Set<string>();

/** Parsed JSON of an answer, loosely typed: the tests check its shape. */
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: Json;
}

interface CallOptions {
  /** The API key to send; `null` sends no Authorization header. @default the suite's key */
  key?: string | null;
  /** A raw Authorization header (wins over `key`). */
  authorization?: string;
  headers?: Record<string, string>;
  /** A raw body, sent as is (with the given headers). */
  raw?: string | Uint8Array;
}

async function api(method: string, path: string, body?: unknown, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  const key = options.key === undefined ? apiKey : options.key;
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  else if (key !== null) headers.authorization = `Bearer ${key}`;
  let payload: string | Uint8Array | undefined = options.raw;
  if (payload === undefined && body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(base + path, { method, headers, body: payload });
  const text = await response.text();
  let json: unknown = undefined;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  for (const field of ['token', 'accessToken', 'refreshToken']) {
    const value = (json as Record<string, unknown> | undefined)?.[field];
    if (typeof value === 'string') secretsSeen.add(value);
  }
  if (response.status >= 400) checkErrorAnswer({ status: response.status, headers: response.headers, text, json });
  return { status: response.status, headers: response.headers, text, json };
}

/** Every error is JSON `{ error: { code, message, reason? } }`, not cacheable, and holds no secret. */
function checkErrorAnswer(answer: Answer): void {
  if (answer.status === 503 && answer.json?.status === 'unavailable') return; // /readyz
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  expect(answer.json).toEqual({ error: { code: expect.any(String), message: expect.any(String), ...(answer.json?.error?.reason !== undefined ? { reason: expect.any(String) } : {}) } });
  expect(Object.keys(answer.json.error).every((k) => ['code', 'message', 'reason'].includes(k))).toBe(true);
  for (const secret of secretsSeen) expect(answer.text).not.toContain(secret);
}

function expectError(answer: Answer, status: number, code: string, reason?: string): void {
  expect({ status: answer.status, code: answer.json?.error?.code }).toEqual({ status, code });
  if (reason !== undefined) expect(answer.json.error.reason).toBe(reason);
}

async function createSession(body: Record<string, unknown> = { userId: 'alice' }): Promise<{ token: string; session: Json }> {
  const r = await api('POST', '/v1/sessions', body);
  expect(r.status).toBe(201);
  return r.json;
}

async function validate(token: string): Promise<Json> {
  const r = await api('POST', '/v1/sessions/validate', { token });
  expect(r.status).toBe(200);
  return r.json;
}

async function metricsText(): Promise<string> {
  const r = await fetch(`${base}/metrics`);
  expect(r.status).toBe(200);
  return r.text();
}

/** The value of one series of the exposition, 0 when absent. */
function metricValue(text: string, series: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    if (line.slice(0, at) === series) return Number(line.slice(at + 1));
  }
  return 0;
}

let userCounter = 0;
/** A user id of its own for each test, so that tests do not see each other's sessions. */
function freshUser(prefix = 'user'): string {
  userCounter++;
  return `${prefix}-${userCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

const WELL_FORMED_UNKNOWN_HANDLE = 'AAAAAAAAAAAAAAAAAAAAAA';
const WELL_FORMED_UNKNOWN_TOKEN = `${WELL_FORMED_UNKNOWN_HANDLE}.${'B'.repeat(43)}`;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'latchkey-api-'));
  const config = loadConfig({ flags: { port: '0', store: 'memory:', dataDir, adminPassword: 'correct horse battery' }, env: {} });
  service = await createService(config, { logStream: { write: (line: string) => void logLines.push(line) } });
  base = await service.listen();
  apiKey = (await service.ctx.apiKeys.create('test')).key;
  secretsSeen.add(apiKey);
});

afterAll(async () => {
  await service?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('API keys', () => {
  const routes: Array<[string, string, unknown]> = [
    ['POST', '/v1/sessions', { userId: 'alice' }],
    ['POST', '/v1/sessions/validate', { token: WELL_FORMED_UNKNOWN_TOKEN }],
    ['POST', '/v1/sessions/rotate', { token: WELL_FORMED_UNKNOWN_TOKEN }],
    ['PATCH', `/v1/sessions/${WELL_FORMED_UNKNOWN_HANDLE}/data`, { set: { a: 1 } }],
    ['DELETE', `/v1/sessions/${WELL_FORMED_UNKNOWN_HANDLE}`, undefined],
    ['GET', '/v1/users/alice/sessions', undefined],
    ['DELETE', '/v1/users/alice/sessions', undefined],
    ['POST', '/v1/tokens', { userId: 'alice' }],
    ['POST', '/v1/tokens/refresh', { refreshToken: WELL_FORMED_UNKNOWN_TOKEN }],
    ['POST', '/v1/tokens/revoke', { refreshToken: WELL_FORMED_UNKNOWN_TOKEN }],
  ];

  it.each(routes)('%s %s without an API key answers 401 unauthorized with WWW-Authenticate: Bearer', async (method, path, body) => {
    const r = await api(method, path, body, { key: null });
    expectError(r, 401, 'unauthorized');
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
  });

  it('checks the API key before the body, so that unauthenticated callers learn nothing of the schema', async () => {
    const r = await api('POST', '/v1/sessions', { nonsense: true }, { key: null });
    expectError(r, 401, 'unauthorized');
  });

  it.each([
    ['another scheme', `Basic ${Buffer.from('a:b').toString('base64')}`],
    ['an empty bearer', 'Bearer '],
    ['a key of the wrong shape', 'Bearer not-a-key'],
    ['a key with spaces', 'Bearer lk_ 0123'],
    ['a key too long for the header', `Bearer lk_${'a'.repeat(2000)}`],
  ])('refuses %s with 401 unauthorized', async (_name, authorization) => {
    const r = await api('POST', '/v1/sessions/validate', { token: WELL_FORMED_UNKNOWN_TOKEN }, { authorization });
    expectError(r, 401, 'unauthorized');
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
  });

  it('refuses a key with a known id and a wrong secret, and a key with an unknown id', async () => {
    const [, id, secret] = /^lk_([0-9a-f]{24})_(.{43})$/.exec(apiKey) as unknown as [string, string, string];
    const wrongSecret = `lk_${id}_${(secret.startsWith('A') ? 'B' : 'A') + secret.slice(1)}`;
    const unknownId = `lk_${'0'.repeat(24)}_${secret}`;
    for (const key of [wrongSecret, unknownId]) {
      const r = await api('POST', '/v1/sessions', { userId: 'alice' }, { key });
      expectError(r, 401, 'unauthorized');
    }
  });

  it('refuses a key at once after it is revoked', async () => {
    const { key, info } = await service.ctx.apiKeys.create('short-lived');
    secretsSeen.add(key);
    expect((await api('GET', '/v1/users/alice/sessions', undefined, { key })).status).toBe(200);
    expect(await service.ctx.apiKeys.revoke(info.id)).toBe(true);
    expectError(await api('GET', '/v1/users/alice/sessions', undefined, { key }), 401, 'unauthorized');
  });

  it('accepts the scheme name in any case', async () => {
    const r = await api('GET', '/v1/users/alice/sessions', undefined, { authorization: `bearer ${apiKey}` });
    expect(r.status).toBe(200);
  });

  it('serves the public routes without a key', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/.well-known/jwks.json']) {
      const r = await fetch(base + path);
      expect({ path, status: r.status }).toEqual({ path, status: 200 });
    }
  });
});

describe('POST /v1/sessions', () => {
  it('creates a session that validates, with its data, client device and auth level', async () => {
    const userId = freshUser();
    const before = Date.now();
    const r = await api('POST', '/v1/sessions', { userId, data: { theme: 'dark', cart: [1, 2] }, client: { ip: '203.0.113.9', userAgent: UA_FIREFOX_MAC }, authLevel: 2 });
    expect(r.status).toBe(201);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    const { token, session } = r.json;
    expect(Object.keys(r.json).sort()).toEqual(['session', 'token']);
    expect(token).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(token.split('.')[0]).toBe(session.handle);
    expect(session).toEqual({
      handle: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      kind: 'session',
      userId,
      createdAt: expect.any(Number),
      issuedAt: expect.any(Number),
      lastSeenAt: expect.any(Number),
      authTime: expect.any(Number),
      authLevel: 2,
      idleExpiresAt: expect.any(Number),
      absoluteExpiresAt: expect.any(Number),
      version: expect.any(Number),
      data: { theme: 'dark', cart: [1, 2] },
      client: { ip: '203.0.113.9', userAgent: UA_FIREFOX_MAC, device: { browser: 'Firefox', os: 'macOS', type: 'desktop' } },
    });
    expect(session.createdAt).toBeGreaterThanOrEqual(before);
    expect(session.idleExpiresAt - session.lastSeenAt).toBe(30 * 60_000);
    expect(session.absoluteExpiresAt - session.createdAt).toBe(12 * 3_600_000);

    const v = await validate(token);
    expect(v).toEqual({ valid: true, session: expect.objectContaining({ handle: session.handle, userId, data: { theme: 'dark', cart: [1, 2] }, authLevel: 2 }) });
  });

  it('answers every token and session with Cache-Control: no-store', async () => {
    // A token in a cacheable answer can be kept by a proxy; token endpoints answer no-store (RFC 6749 §5.1).
    const created = await api('POST', '/v1/sessions', { userId: freshUser() });
    const validated = await api('POST', '/v1/sessions/validate', { token: created.json.token });
    const rotated = await api('POST', '/v1/sessions/rotate', { token: created.json.token });
    const issued = await api('POST', '/v1/tokens', { userId: freshUser() });
    const refreshed = await api('POST', '/v1/tokens/refresh', { refreshToken: issued.json.refreshToken });
    const seen = Object.fromEntries(Object.entries({ created, validated, rotated, issued, refreshed }).map(([name, r]) => [name, r.headers.get('cache-control')]));
    expect(seen).toEqual({ created: expect.stringMatching(/no-store/), validated: expect.stringMatching(/no-store/), rotated: expect.stringMatching(/no-store/), issued: expect.stringMatching(/no-store/), refreshed: expect.stringMatching(/no-store/) });
  });

  it('creates a session with only a user id: no data, no client', async () => {
    const { session } = await createSession({ userId: freshUser() });
    expect(session.data).toEqual({});
    expect(session.client).toBeNull();
    expect(session.authLevel).toBe(0);
  });

  it('creates an anonymous session without a userId, and rotate with a userId signs it in keeping its data', async () => {
    const { token, session } = await createSession({ data: { cart: ['sku-1'] } });
    expect(session).toMatchObject({ userId: null, authTime: null, data: { cart: ['sku-1'] } });
    const userId = freshUser();
    const rotated = await api('POST', '/v1/sessions/rotate', { token, userId });
    expect(rotated.status).toBe(200);
    expect(rotated.json.session).toMatchObject({ userId, data: { cart: ['sku-1'] }, authTime: expect.any(Number) });
    // The anonymous token died with the sign-in (fixation defence).
    expect(await validate(token)).toEqual({ valid: false, reason: 'revoked' });
  });

  it('gives every session a fresh token', async () => {
    const userId = freshUser();
    const a = await createSession({ userId });
    const b = await createSession({ userId });
    expect(a.token).not.toBe(b.token);
    expect(a.session.handle).not.toBe(b.session.handle);
  });

  it.each<[string, unknown]>([
    ['a numeric userId', { userId: 42 }],
    ['a null userId', { userId: null }],
    ['an empty userId', { userId: '' }],
    ['a userId over 256 characters', { userId: 'u'.repeat(257) }],
    ['an unknown field', { userId: 'alice', admin: true }],
    ['data that is an array', { userId: 'alice', data: [1, 2] }],
    ['data that is a string', { userId: 'alice', data: 'x' }],
    ['a client with an unknown field', { userId: 'alice', client: { ip: '1.2.3.4', evil: 1 } }],
    ['a client ip that is a number', { userId: 'alice', client: { ip: 1234 } }],
    ['a negative authLevel', { userId: 'alice', authLevel: -1 }],
    ['a fractional authLevel', { userId: 'alice', authLevel: 1.5 }],
    ['a string authLevel', { userId: 'alice', authLevel: '2' }],
    ['a body that is an array', [{ userId: 'alice' }]],
    ['a body that is a string', 'alice'],
    ['a body that is null', null],
  ])('refuses %s with 400 bad-request', async (_name, body) => {
    expectError(await api('POST', '/v1/sessions', body), 400, 'bad-request');
  });

  it('refuses a body that is not JSON, or empty, with 400 bad-request', async () => {
    expectError(await api('POST', '/v1/sessions', undefined, { raw: '{"userId": "alice"', headers: { 'content-type': 'application/json' } }), 400, 'bad-request');
    expectError(await api('POST', '/v1/sessions', undefined, { raw: '', headers: { 'content-type': 'application/json' } }), 400, 'bad-request');
    expectError(await api('POST', '/v1/sessions', undefined, { raw: '{"userId": "alice", "__proto__": {"x": 1}}', headers: { 'content-type': 'application/json' } }), 400, 'bad-request');
  });

  it('keeps userIds with slashes, spaces and non-ASCII characters as they are', async () => {
    const userId = `a/b c?d#é-${freshUser()}`;
    const { session } = await createSession({ userId });
    expect(session.userId).toBe(userId);
    const list = await api('GET', `/v1/users/${encodeURIComponent(userId)}/sessions`);
    expect(list.status).toBe(200);
    expect(list.json.sessions.map((s: { handle: string }) => s.handle)).toEqual([session.handle]);
  });
});

describe('POST /v1/sessions/validate', () => {
  it('answers valid with the session and the parsed client', async () => {
    const userId = freshUser();
    const { token, session } = await createSession({ userId, client: { ip: '198.51.100.7', userAgent: UA_IPHONE } });
    const r = await api('POST', '/v1/sessions/validate', { token, client: { ip: '198.51.100.7', userAgent: UA_IPHONE } });
    expect(r.status).toBe(200);
    expect(r.json.valid).toBe(true);
    expect(r.json.session.handle).toBe(session.handle);
    expect(r.json.session.client.device).toEqual({ browser: 'Safari', os: 'iOS', type: 'mobile' });
    expect(Object.keys(r.json).sort()).toEqual(['session', 'valid']);
  });

  it.each([
    ['malformed', 'not a token'],
    ['malformed', `${'A'.repeat(22)}.short`],
    ['unknown', WELL_FORMED_UNKNOWN_TOKEN],
  ])('answers 200 valid: false with reason %s for a bad token', async (reason, token) => {
    expect(await validate(token)).toEqual({ valid: false, reason });
  });

  it('answers unknown for a correct handle with a wrong secret', async () => {
    const { token } = await createSession({ userId: freshUser() });
    const [handle, secret] = token.split('.') as [string, string];
    const forged = `${handle}.${(secret.startsWith('A') ? 'B' : 'A') + secret.slice(1)}`;
    expect(await validate(forged)).toEqual({ valid: false, reason: 'unknown' });
    expect((await validate(token)).valid).toBe(true);
  });

  it('never validates an API key as a session token', async () => {
    expect((await validate(apiKey)).valid).toBe(false);
    const [, id, secret] = /^lk_([0-9a-f]{24})_(.{43})$/.exec(apiKey) as RegExpExecArray;
    expect((await validate(`${id}.${secret}`)).valid).toBe(false);
  });

  it.each<[string, unknown]>([
    ['a missing token', {}],
    ['a numeric token', { token: 123 }],
    ['an empty token', { token: '' }],
    ['an oversized token', { token: 'a'.repeat(1025) }],
    ['an unknown field', { token: WELL_FORMED_UNKNOWN_TOKEN, extra: 1 }],
    ['a client that is a string', { token: WELL_FORMED_UNKNOWN_TOKEN, client: 'x' }],
  ])('refuses %s with 400 bad-request', async (_name, body) => {
    expectError(await api('POST', '/v1/sessions/validate', body), 400, 'bad-request');
  });

  it('answers 200 with a well-formed verdict or 400 with an error object for any JSON body, never 5xx', async () => {
    const { token } = await createSession({ userId: freshUser() });
    const tokenLike = fc.oneof(fc.constant(token), fc.constant(WELL_FORMED_UNKNOWN_TOKEN), fc.string(), fc.stringMatching(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/));
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record({ token: tokenLike }),
      fc.record({ token: fc.oneof(tokenLike, fc.jsonValue()), client: fc.oneof(fc.jsonValue(), fc.record({ ip: fc.oneof(fc.string(), fc.ipV4(), fc.ipV6()), userAgent: fc.string() }, { requiredKeys: [] })) }, { requiredKeys: [] }),
      fc.dictionary(fc.string(), fc.jsonValue()),
    );
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const r = await api('POST', '/v1/sessions/validate', b);
        expect(r.status === 200 || r.status === 400).toBe(true);
        if (r.status === 200) {
          if (r.json.valid === true) expect(Object.keys(r.json).sort()).toEqual(['session', 'valid']);
          else {
            expect(r.json).toEqual({ valid: false, reason: expect.any(String) });
            expect(['malformed', 'unknown', 'expired-idle', 'expired-absolute', 'revoked', 'binding-mismatch']).toContain(r.json.reason);
          }
        } else expectError(r, 400, 'bad-request');
      }),
      { numRuns: 150 },
    );
  });
});

describe('POST /v1/sessions/rotate', () => {
  it('issues a new token, kills the old one and keeps the data and creation time', async () => {
    const userId = freshUser();
    const { token, session } = await createSession({ userId, data: { step: 1 } });
    const r = await api('POST', '/v1/sessions/rotate', { token });
    expect(r.status).toBe(200);
    expect(Object.keys(r.json).sort()).toEqual(['session', 'token']);
    expect(r.json.token).not.toBe(token);
    expect(r.json.session.userId).toBe(userId);
    expect(r.json.session.data).toEqual({ step: 1 });
    expect(r.json.session.createdAt).toBe(session.createdAt);

    expect(await validate(token)).toEqual({ valid: false, reason: 'revoked' });
    const now = await validate(r.json.token);
    expect(now.valid).toBe(true);
    expect(now.session.handle).toBe(r.json.session.handle);
  });

  it('signs in another user with userId and records a fresh authentication with authenticated', async () => {
    const { token } = await createSession({ userId: freshUser() });
    const other = freshUser('switched');
    const switched = await api('POST', '/v1/sessions/rotate', { token, userId: other });
    expect(switched.status).toBe(200);
    expect(switched.json.session.userId).toBe(other);
    expect((await validate(switched.json.token)).session.userId).toBe(other);

    await new Promise((r) => setTimeout(r, 5));
    const reauth = await api('POST', '/v1/sessions/rotate', { token: switched.json.token, authenticated: true });
    expect(reauth.status).toBe(200);
    expect(reauth.json.session.authTime).toBeGreaterThan(switched.json.session.authTime);
  });

  it.each([
    ['malformed', 'not a token'],
    ['unknown', WELL_FORMED_UNKNOWN_TOKEN],
  ])('refuses a %s token with 401 session-invalid and its reason', async (reason, token) => {
    const r = await api('POST', '/v1/sessions/rotate', { token });
    expectError(r, 401, 'session-invalid', reason);
  });

  it('refuses a revoked token with 401 session-invalid, reason revoked', async () => {
    const { token, session } = await createSession({ userId: freshUser() });
    expect((await api('DELETE', `/v1/sessions/${session.handle}`)).status).toBe(204);
    expectError(await api('POST', '/v1/sessions/rotate', { token }), 401, 'session-invalid', 'revoked');
  });

  it('refuses a token that was already rotated', async () => {
    const { token } = await createSession({ userId: freshUser() });
    expect((await api('POST', '/v1/sessions/rotate', { token })).status).toBe(200);
    const again = await api('POST', '/v1/sessions/rotate', { token });
    expect([401, 409]).toContain(again.status);
    expect(['session-invalid', 'conflict']).toContain(again.json.error.code);
  });

  it('lets exactly one of two concurrent rotations of a token win', async () => {
    const { token } = await createSession({ userId: freshUser() });
    const answers = await Promise.all([api('POST', '/v1/sessions/rotate', { token }), api('POST', '/v1/sessions/rotate', { token })]);
    const winners = answers.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    const loser = answers.find((r) => r.status !== 200) as Answer;
    expect([401, 409]).toContain(loser.status);
    expect((await validate(winners[0]?.json.token)).valid).toBe(true);
  });

  it.each<[string, unknown]>([
    ['a missing token', {}],
    ['an empty userId', { token: WELL_FORMED_UNKNOWN_TOKEN, userId: '' }],
    ['a string authenticated', { token: WELL_FORMED_UNKNOWN_TOKEN, authenticated: 'yes' }],
    ['an unknown field', { token: WELL_FORMED_UNKNOWN_TOKEN, revokeEverything: true }],
  ])('refuses %s with 400 bad-request', async (_name, body) => {
    expectError(await api('POST', '/v1/sessions/rotate', body), 400, 'bad-request');
  });
});

describe('PATCH /v1/sessions/{handle}/data', () => {
  it('sets and unsets keys, leaves the others, and bumps the version', async () => {
    const { token, session } = await createSession({ userId: freshUser(), data: { keep: 1, drop: 2, change: 'a' } });
    const r = await api('PATCH', `/v1/sessions/${session.handle}/data`, { set: { change: 'b', added: { deep: [true] } }, unset: ['drop'] });
    expect(r.status).toBe(200);
    expect(Object.keys(r.json)).toEqual(['session']);
    expect(r.json.session.data).toEqual({ keep: 1, change: 'b', added: { deep: [true] } });
    expect(r.json.session.version).toBeGreaterThan(session.version);
    expect((await validate(token)).session.data).toEqual({ keep: 1, change: 'b', added: { deep: [true] } });
  });

  it('accepts an empty patch', async () => {
    const { session } = await createSession({ userId: freshUser(), data: { a: 1 } });
    const r = await api('PATCH', `/v1/sessions/${session.handle}/data`, {});
    expect(r.status).toBe(200);
    expect(r.json.session.data).toEqual({ a: 1 });
  });

  it('answers 404 not-found for an unknown or revoked session', async () => {
    expectError(await api('PATCH', `/v1/sessions/${WELL_FORMED_UNKNOWN_HANDLE}/data`, { set: { a: 1 } }), 404, 'not-found');
    const { session } = await createSession({ userId: freshUser() });
    expect((await api('DELETE', `/v1/sessions/${session.handle}`)).status).toBe(204);
    expectError(await api('PATCH', `/v1/sessions/${session.handle}/data`, { set: { a: 1 } }), 404, 'not-found');
  });

  it('never patches an API key record through its id', async () => {
    const [, id] = /^lk_([0-9a-f]{24})_/.exec(apiKey) as RegExpExecArray;
    const r = await api('PATCH', `/v1/sessions/${id}/data`, { set: { name: 'pwned' } });
    expect([400, 404]).toContain(r.status);
    expect((await service.ctx.apiKeys.list()).find((k) => k.id === id)?.name).toBe('test');
  });

  it.each<[string, string, unknown]>([
    ['a malformed handle', 'short', { set: { a: 1 } }],
    ['set that is an array', WELL_FORMED_UNKNOWN_HANDLE, { set: [1] }],
    ['unset that is a string', WELL_FORMED_UNKNOWN_HANDLE, { unset: 'a' }],
    ['unset with a number', WELL_FORMED_UNKNOWN_HANDLE, { unset: [1] }],
    ['an unknown field', WELL_FORMED_UNKNOWN_HANDLE, { set: {}, replace: {} }],
  ])('refuses %s with 400 bad-request', async (_name, handle, body) => {
    expectError(await api('PATCH', `/v1/sessions/${handle}/data`, body), 400, 'bad-request');
  });
});

describe('DELETE /v1/sessions/{handle}', () => {
  it('revokes the session at once: 204 with no body, then validate says revoked', async () => {
    const { token, session } = await createSession({ userId: freshUser() });
    const r = await api('DELETE', `/v1/sessions/${session.handle}`);
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
    expect(await validate(token)).toEqual({ valid: false, reason: 'revoked' });
  });

  it('answers 404 not-found for a session already revoked or never made', async () => {
    const { session } = await createSession({ userId: freshUser() });
    expect((await api('DELETE', `/v1/sessions/${session.handle}`)).status).toBe(204);
    expectError(await api('DELETE', `/v1/sessions/${session.handle}`), 404, 'not-found');
    expectError(await api('DELETE', `/v1/sessions/${WELL_FORMED_UNKNOWN_HANDLE}`), 404, 'not-found');
  });

  it('refuses a malformed handle with 400, and never deletes an API key by its id', async () => {
    expectError(await api('DELETE', '/v1/sessions/not-a-handle'), 400, 'bad-request');
    const { key, info } = await service.ctx.apiKeys.create('victim');
    secretsSeen.add(key);
    const r = await api('DELETE', `/v1/sessions/${info.id}`);
    expect([400, 404]).toContain(r.status);
    expect((await api('GET', '/v1/users/alice/sessions', undefined, { key })).status).toBe(200);
  });
});

describe('GET /v1/users/{userId}/sessions', () => {
  it("lists a user's live sessions, oldest first, with their devices, and only theirs", async () => {
    const userId = freshUser();
    const a = await createSession({ userId, client: { ip: '203.0.113.1', userAgent: UA_FIREFOX_MAC } });
    const b = await createSession({ userId, client: { ip: '203.0.113.2', userAgent: UA_IPHONE } });
    const gone = await createSession({ userId });
    await createSession({ userId: freshUser() });
    expect((await api('DELETE', `/v1/sessions/${gone.session.handle}`)).status).toBe(204);

    const r = await api('GET', `/v1/users/${encodeURIComponent(userId)}/sessions`);
    expect(r.status).toBe(200);
    expect(Object.keys(r.json)).toEqual(['sessions']);
    expect(r.json.sessions).toEqual([
      {
        handle: a.session.handle,
        kind: 'session',
        createdAt: a.session.createdAt,
        lastSeenAt: expect.any(Number),
        authTime: expect.any(Number),
        expiresAt: Math.min(a.session.idleExpiresAt, a.session.absoluteExpiresAt),
        ip: '203.0.113.1',
        userAgent: UA_FIREFOX_MAC,
        device: { browser: 'Firefox', os: 'macOS', type: 'desktop' },
        // Sessions of /v1 carry no device key: only the HTTP layer's dbsc option binds one.
        deviceBound: false,
      },
      expect.objectContaining({ handle: b.session.handle, ip: '203.0.113.2', device: { browser: 'Safari', os: 'iOS', type: 'mobile' } }),
    ]);
    for (const s of r.json.sessions) expect(JSON.stringify(s)).not.toContain(a.token.split('.')[1]);
  });

  it('answers an empty list for a user without sessions', async () => {
    const r = await api('GET', `/v1/users/${freshUser('nobody')}/sessions`);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ sessions: [] });
  });

  it('takes the user ids latchkey once reserved as any other: they stand for no API key, dashboard or demo session', async () => {
    const keysBefore = (await service.ctx.apiKeys.list()).map((k) => k.id);
    for (const userId of ['latchkey:apikeys', 'latchkey:admin', 'latchkey:demo:alice']) {
      const { session } = await createSession({ userId, data: { 'latchkey:family': true } });
      expect(session.kind).toBe('session');
      const list = await api('GET', `/v1/users/${encodeURIComponent(userId)}/sessions`);
      expect(list.json.sessions.map((s: { handle: string; kind: string }) => [s.handle, s.kind])).toContainEqual([session.handle, 'session']);
      expect((await api('DELETE', `/v1/users/${encodeURIComponent(userId)}/sessions`)).json.revoked).toContain(session.handle);
    }
    expect((await service.ctx.apiKeys.list()).map((k) => k.id)).toEqual(keysBefore);
  });

  it('lists a user’s sessions and token families, each with its kind, and never the demo’s or the dashboard’s', async () => {
    const userId = freshUser('kinds');
    const { session } = await createSession({ userId });
    const pair = (await api('POST', '/v1/tokens', { userId })).json;
    const demo = await service.ctx.engine({ kind: 'demo' }).create({ userId });
    const list = (await api('GET', `/v1/users/${encodeURIComponent(userId)}/sessions`)).json.sessions as Array<{ handle: string; kind: string }>;
    expect(list.map((s) => s.kind)).toEqual(['session', 'refresh']);
    expect(list[0]?.handle).toBe(session.handle);
    expect(list.map((s) => s.handle)).not.toContain(demo.session.handle);
    // "Log out everywhere" ends both, and leaves the demo's session of that name alone.
    expect((await api('DELETE', `/v1/users/${encodeURIComponent(userId)}/sessions`)).json.revoked).toHaveLength(2);
    expectError(await api('POST', '/v1/tokens/refresh', { refreshToken: pair.refreshToken }), 401, 'invalid_grant');
    expect((await service.ctx.engine({ kind: 'demo' }).validate(demo.token)).ok).toBe(true);
  });

  // Fastify's router refuses path parameters over 100 characters by default, while POST /v1/sessions
  // accepts user ids of up to 256: the service raises the limit so such users can be listed and signed out.
  it('lists and revokes the sessions of a user whose id is 256 characters long', async () => {
    const userId = `${freshUser('long')}-`.padEnd(256, 'x');
    const { session } = await createSession({ userId });
    const list = await api('GET', `/v1/users/${encodeURIComponent(userId)}/sessions`);
    expect(list.status).toBe(200);
    expect(list.json.sessions.map((s: { handle: string }) => s.handle)).toEqual([session.handle]);
    const revoked = await api('DELETE', `/v1/users/${encodeURIComponent(userId)}/sessions`);
    expect(revoked.json).toEqual({ revoked: [session.handle] });
  });

  // Router errors (a malformed percent-encoding) are answered in the API's error format, not Fastify's.
  it('refuses a malformed percent-encoding in the path with a JSON 400', async () => {
    const r = await api('GET', '/v1/users/%E0%A4%A/sessions');
    expectError(r, 400, 'bad-request');
  });

  it('refuses a user id over 256 characters with a JSON error', async () => {
    const r = await api('GET', `/v1/users/${'u'.repeat(257)}/sessions`);
    expect([400, 414]).toContain(r.status);
  });
});

describe('DELETE /v1/users/{userId}/sessions', () => {
  it('revokes every session of the user but the one named in except', async () => {
    const userId = freshUser();
    const keep = await createSession({ userId });
    const x = await createSession({ userId });
    const y = await createSession({ userId });
    const bystander = await createSession({ userId: freshUser() });

    const r = await api('DELETE', `/v1/users/${encodeURIComponent(userId)}/sessions?except=${keep.session.handle}`);
    expect(r.status).toBe(200);
    expect(Object.keys(r.json)).toEqual(['revoked']);
    expect([...r.json.revoked].sort()).toEqual([x.session.handle, y.session.handle].sort());

    expect((await validate(keep.token)).valid).toBe(true);
    expect(await validate(x.token)).toEqual({ valid: false, reason: 'revoked' });
    expect(await validate(y.token)).toEqual({ valid: false, reason: 'revoked' });
    expect((await validate(bystander.token)).valid).toBe(true);
    const list = await api('GET', `/v1/users/${encodeURIComponent(userId)}/sessions`);
    expect(list.json.sessions.map((s: { handle: string }) => s.handle)).toEqual([keep.session.handle]);
  });

  it('revokes all of them without except, and answers an empty list the second time', async () => {
    const userId = freshUser();
    const a = await createSession({ userId });
    const r = await api('DELETE', `/v1/users/${encodeURIComponent(userId)}/sessions`);
    expect(r.json).toEqual({ revoked: [a.session.handle] });
    expect(await validate(a.token)).toEqual({ valid: false, reason: 'revoked' });
    expect((await api('DELETE', `/v1/users/${encodeURIComponent(userId)}/sessions`)).json).toEqual({ revoked: [] });
  });

  it('refuses a malformed except and an unknown query parameter with 400', async () => {
    expectError(await api('DELETE', '/v1/users/alice/sessions?except=nope'), 400, 'bad-request');
    expectError(await api('DELETE', `/v1/users/alice/sessions?except=${WELL_FORMED_UNKNOWN_HANDLE}&all=1`), 400, 'bad-request');
  });
});

describe('token mode: /v1/tokens', () => {
  async function jwks(): Promise<JSONWebKeySet> {
    const r = await fetch(`${base}/.well-known/jwks.json`);
    expect(r.status).toBe(200);
    return (await r.json()) as JSONWebKeySet;
  }

  async function verifyAccess(accessToken: string) {
    return jwtVerify(accessToken, createLocalJWKSet(await jwks()), { issuer: 'latchkey', audience: 'latchkey' });
  }

  it('issues a token pair whose access token verifies against the served JWKS', async () => {
    const userId = freshUser();
    const r = await api('POST', '/v1/tokens', { userId, scope: 'read write', data: { plan: 'pro' }, client: { ip: '192.0.2.4', userAgent: UA_FIREFOX_MAC } });
    expect(r.status).toBe(201);
    expect(r.json).toEqual({ accessToken: expect.any(String), refreshToken: expect.any(String), tokenType: 'Bearer', expiresIn: 300 });
    const { payload, protectedHeader } = await verifyAccess(r.json.accessToken);
    expect(payload.sub).toBe(userId);
    expect(payload.scope).toBe('read write');
    expect(typeof payload.sid).toBe('string');
    expect((payload.exp as number) - (payload.iat as number)).toBe(300);
    expect(typeof protectedHeader.kid).toBe('string');
    expect(protectedHeader.alg).not.toBe('none');
  });

  it('refreshes into a new pair that works, and treats the old refresh token as theft after the grace window', async () => {
    const issued = (await api('POST', '/v1/tokens', { userId: freshUser() })).json;
    const refreshed = await api('POST', '/v1/tokens/refresh', { refreshToken: issued.refreshToken });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json).toEqual({ accessToken: expect.any(String), refreshToken: expect.any(String), tokenType: 'Bearer', expiresIn: 300 });
    expect(refreshed.json.refreshToken).not.toBe(issued.refreshToken);
    const first = await verifyAccess(issued.accessToken);
    const second = await verifyAccess(refreshed.json.accessToken);
    expect(second.payload.sub).toBe(first.payload.sub);

    const next = await api('POST', '/v1/tokens/refresh', { refreshToken: refreshed.json.refreshToken });
    expect(next.status).toBe(200);

    // Past the 10 s grace window, the first refresh token is a stolen copy: refused, and its family is revoked.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 11_000);
    expectError(await api('POST', '/v1/tokens/refresh', { refreshToken: issued.refreshToken }), 401, 'invalid_grant', 'reused');
    const after = await api('POST', '/v1/tokens/refresh', { refreshToken: next.json.refreshToken });
    expectError(after, 401, 'invalid_grant');
  });

  it('answers the same successor to a retried refresh within the grace window', async () => {
    const issued = (await api('POST', '/v1/tokens', { userId: freshUser() })).json;
    const a = await api('POST', '/v1/tokens/refresh', { refreshToken: issued.refreshToken });
    const b = await api('POST', '/v1/tokens/refresh', { refreshToken: issued.refreshToken });
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(b.json.refreshToken).toBe(a.json.refreshToken);
  });

  it('revokes a family: revoked true, then refresh fails and a second revoke says false', async () => {
    const issued = (await api('POST', '/v1/tokens', { userId: freshUser() })).json;
    const r = await api('POST', '/v1/tokens/revoke', { refreshToken: issued.refreshToken });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ revoked: true });
    expectError(await api('POST', '/v1/tokens/refresh', { refreshToken: issued.refreshToken }), 401, 'invalid_grant', 'revoked');
    expect((await api('POST', '/v1/tokens/revoke', { refreshToken: issued.refreshToken })).json).toEqual({ revoked: false });
    expect((await api('POST', '/v1/tokens/revoke', { refreshToken: 'garbage' })).json).toEqual({ revoked: false });
  });

  it.each([
    ['malformed', 'garbage'],
    ['unknown', WELL_FORMED_UNKNOWN_TOKEN],
  ])('refuses a %s refresh token with 401 invalid_grant and its reason', async (reason, refreshToken) => {
    const r = await api('POST', '/v1/tokens/refresh', { refreshToken });
    expectError(r, 401, 'invalid_grant', reason);
    expect(r.headers.get('www-authenticate')).toBeNull();
  });

  // Both engines share one store and one token format: each endpoint must refuse the other kind, or a
  // session token would refresh into a 14-day family and a refresh token would validate as a session.
  it('refuses a session token of the sessions API as a refresh token', async () => {
    const { token } = await createSession({ userId: freshUser() });
    const r = await api('POST', '/v1/tokens/refresh', { refreshToken: token });
    expectError(r, 401, 'invalid_grant');
    expect((await validate(token)).valid).toBe(true);
  });

  it('refuses a refresh token as a session token', async () => {
    const issued = (await api('POST', '/v1/tokens', { userId: freshUser() })).json;
    expect((await validate(issued.refreshToken)).valid).toBe(false);
    expectError(await api('POST', '/v1/sessions/rotate', { token: issued.refreshToken }), 401, 'session-invalid');
  });

  it.each<[string, string, unknown]>([
    ['issue: a missing userId', '/v1/tokens', { scope: 'read' }],
    ['issue: a scope with a double space', '/v1/tokens', { userId: 'alice', scope: 'read  write' }],
    ['issue: a scope with a quote', '/v1/tokens', { userId: 'alice', scope: 'read"' }],
    ['issue: an unknown field', '/v1/tokens', { userId: 'alice', audience: 'other' }],
    ['refresh: a missing refreshToken', '/v1/tokens/refresh', {}],
    ['refresh: a numeric refreshToken', '/v1/tokens/refresh', { refreshToken: 7 }],
    ['refresh: an unknown field', '/v1/tokens/refresh', { refreshToken: 'x', scope: 'admin' }],
    ['revoke: a missing refreshToken', '/v1/tokens/revoke', {}],
    ['revoke: an unknown field', '/v1/tokens/revoke', { refreshToken: 'x', everything: true }],
  ])('refuses %s with 400 bad-request', async (_name, path, body) => {
    expectError(await api('POST', path, body), 400, 'bad-request');
  });

  it('serves only public keys in the JWKS', async () => {
    const r = await fetch(`${base}/.well-known/jwks.json`);
    expect(r.headers.get('content-type')).toMatch(/^application\/(jwk-set\+)?json/);
    const set = (await r.json()) as JSONWebKeySet;
    expect(set.keys.length).toBeGreaterThan(0);
    for (const key of set.keys) {
      expect(typeof key.kid).toBe('string');
      expect(typeof key.kty).toBe('string');
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(key).not.toHaveProperty(secret);
    }
  });
});

describe("the service's own sessions", () => {
  it('are invisible to the API: never valid, never rotated, patched, revoked nor listed', async () => {
    // The dashboard signs its admin in on an engine of its own kind over the same store.
    const other = service.ctx.engine({ kind: 'admin' });
    const admin = await other.create({ userId: 'admin' });
    secretsSeen.add(admin.token);
    expect(await validate(admin.token)).toEqual({ valid: false, reason: 'unknown' });
    expectError(await api('POST', '/v1/sessions/rotate', { token: admin.token }), 401, 'session-invalid');
    expectError(await api('PATCH', `/v1/sessions/${admin.session.handle}/data`, { set: { role: 'x' } }), 404, 'not-found');
    expectError(await api('DELETE', `/v1/sessions/${admin.session.handle}`), 404, 'not-found');
    expect((await api('GET', '/v1/users/admin/sessions')).json).toEqual({ sessions: [] });
    expect((await api('DELETE', '/v1/users/admin/sessions')).json).toEqual({ revoked: [] });
    const still = await other.validate(admin.token);
    expect(still.ok && still.session.data).toEqual({});
  });
});

describe('limits and media types', () => {
  it('refuses a body over the 128 KiB limit with 413 payload-too-large', async () => {
    const r = await api('POST', '/v1/sessions', { userId: 'alice', data: { blob: 'x'.repeat(131_072) } });
    expectError(r, 413, 'payload-too-large');
  });

  it('accepts a body just under the limit that the engine can store, or refuses it as bad data, never 5xx', async () => {
    const r = await api('POST', '/v1/sessions', { userId: freshUser(), data: { blob: 'x'.repeat(100_000) } });
    expect([201, 400]).toContain(r.status);
  });

  it('refuses an oversized body announced by Content-Length alone, before reading it', async () => {
    const r = await api('POST', '/v1/sessions/validate', undefined, { raw: JSON.stringify({ token: 'x'.repeat(200_000) }), headers: { 'content-type': 'application/json' } });
    expectError(r, 413, 'payload-too-large');
  });

  it('refuses session data nested too deep to store with 400, not a crash, however deep', async () => {
    // 3,000 levels was stored, then answered 500 when the answer was serialised: the bound is a depth, not the stack.
    for (const depth of [65, 3000, 60_000]) {
      const raw = `{"userId":"deep","data":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
      const r = await api('POST', '/v1/sessions', undefined, { raw, headers: { 'content-type': 'application/json' } });
      expectError(r, 400, 'bad-request');
    }
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await api('GET', '/v1/users/deep/sessions')).json).toEqual({ sessions: [] });
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml'])(
    'refuses a %s body with 415 unsupported-media-type',
    async (type) => {
      const r = await api('POST', '/v1/sessions', undefined, { raw: JSON.stringify({ userId: 'alice' }), headers: { 'content-type': type } });
      expectError(r, 415, 'unsupported-media-type');
    },
  );

  it('accepts application/json with a charset', async () => {
    const r = await api('POST', '/v1/sessions', undefined, { raw: JSON.stringify({ userId: freshUser() }), headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(r.status).toBe(201);
  });
});

describe('unknown routes', () => {
  it.each([
    ['GET', '/nope'],
    ['GET', '/v1/nope'],
    ['GET', '/v1/sessions'],
    ['PUT', '/v1/sessions'],
    ['POST', '/v1/users/alice/sessions'],
    ['GET', '/v2/sessions'],
  ])('answers %s %s with 404 not-found as JSON', async (method, path) => {
    const r = await api(method, path, method === 'GET' ? undefined : {});
    expectError(r, 404, 'not-found');
  });
});

describe('service routes', () => {
  it('answers /healthz with status ok and /readyz with status ready on a reachable store', async () => {
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it.skipIf(!redisAvailable)('answers /readyz with 503 unavailable and the API with 503 store-unavailable while the store is down', async () => {
    const redis = await startRedis();
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-api-down-'));
    let down: Service | undefined;
    try {
      const config = loadConfig({ flags: { port: '0', store: redis.url, dataDir: dir, adminPassword: 'correct horse battery', logLevel: 'silent' }, env: {} });
      down = await createService(config, { apiKeyCacheMs: 60_000 });
      const url = await down.listen();
      const key = (await down.ctx.apiKeys.create('down')).key;
      const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      expect((await fetch(`${url}/v1/sessions`, { method: 'POST', headers, body: JSON.stringify({ userId: 'alice' }) })).status).toBe(201);

      await redis.kill();
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'unavailable' });
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const refused = await fetch(`${url}/v1/sessions`, { method: 'POST', headers, body: JSON.stringify({ userId: 'alice' }) });
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('store-unavailable');

      await redis.restart();
      await expect.poll(async () => (await fetch(`${url}/readyz`)).status, { timeout: 10_000, interval: 200 }).toBe(200);
    } finally {
      await down?.close();
      await redis.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);

  it('serves the OpenAPI document as JSON', async () => {
    const r = await fetch(`${base}/openapi.json`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await r.json()) as { openapi: string }).openapi).toMatch(/^3\.1\./);
  });

  it('moves the metrics counters with the calls', async () => {
    const before = await metricsText();
    expect(before).toMatch(/^# (HELP|TYPE) /m);
    expect((await metricsText()).split('\n').filter((l) => l !== '' && !l.startsWith('#')).every((l) => /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? -?[0-9.e+-]+$|^\S+ (NaN|\+Inf)$/.test(l))).toBe(true);

    const userId = freshUser();
    const a = await createSession({ userId });
    await createSession({ userId });
    await validate(a.token);
    await validate('garbage');
    expect((await api('DELETE', `/v1/sessions/${a.session.handle}`)).status).toBe(204);
    await validate(a.token);
    await api('GET', '/v1/users/alice/sessions', undefined, { key: null });
    const pair = (await api('POST', '/v1/tokens', { userId })).json;
    await api('POST', '/v1/tokens/refresh', { refreshToken: pair.refreshToken });
    await api('POST', '/v1/tokens/refresh', { refreshToken: 'garbage' });

    const after = await metricsText();
    const delta = (series: string) => metricValue(after, series) - metricValue(before, series);
    expect(delta('latchkey_sessions_created_total{engine="session"}')).toBe(2);
    expect(delta('latchkey_sessions_created_total{engine="refresh"}')).toBe(1);
    expect(delta('latchkey_sessions_validated_total{result="valid"}')).toBe(1);
    expect(delta('latchkey_sessions_validated_total{result="malformed"}')).toBe(1);
    expect(delta('latchkey_sessions_validated_total{result="revoked"}')).toBe(1);
    expect(delta('latchkey_api_key_rejections_total{reason="missing"}')).toBe(1);
    expect(delta('latchkey_tokens_issued_total')).toBe(1);
    expect(delta('latchkey_token_refreshes_total{result="ok"}')).toBe(1);
    expect(delta('latchkey_token_refreshes_total{result="malformed"}')).toBe(1);
    const revokedDelta = after
      .split('\n')
      .filter((l) => l.startsWith('latchkey_sessions_revoked_total'))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)) - metricValue(before, l.slice(0, l.lastIndexOf(' '))), 0);
    expect(revokedDelta).toBeGreaterThanOrEqual(1);
    expect(after).toMatch(/latchkey_http_request_duration_seconds_count\{[^}]*route="\/v1\/sessions\/validate"[^}]*\} \d+/);
    expect(after).toMatch(/latchkey_http_request_duration_seconds_bucket\{[^}]*le="\+Inf"[^}]*\} \d+/);
  });

  it('never writes an API key or a token to the log', () => {
    expect(secretsSeen.size).toBeGreaterThan(3);
    const log = logLines.join('\n');
    for (const secret of secretsSeen) expect(log).not.toContain(secret);
  });
});
