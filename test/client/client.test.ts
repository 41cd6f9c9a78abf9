// latchkey/client against a real listening `latchkey serve` (every method),
// and against small node:http servers that misbehave (never answer, answer
// HTML, echo secrets) for the error mapping.
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type * as clientModule from '../../src/client/index.js';
import { createClient, type LatchkeyApiError, type LatchkeyClient, type ServiceErrorCode, type Session, type ValidateSessionResult } from '../../src/client/index.js';
import { ConfigError, LatchkeyError } from '../../src/core/errors.js';
import type { SERVICE_ERROR_CODES } from '../../src/server/errors.js';
import { rejection, startService, type ServiceFixture } from '../helpers/service.js';

const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';

let fixture: ServiceFixture;
let base: string;
let apiKey: string;
let latchkey: LatchkeyClient;

beforeAll(async () => {
  fixture = await startService('client-test');
  ({ base, apiKey, latchkey } = fixture);
});

afterAll(async () => {
  await fixture?.close();
});


/** Everything an error exposes, as text: its message, its fields, its stack, its cause. */
function everythingIn(err: LatchkeyApiError): string {
  return [err.message, err.stack, JSON.stringify({ ...err }), String(err), String((err as { cause?: unknown }).cause ?? '')].join('\n');
}

let n = 0;
const freshUser = (): string => `client-user-${++n}-${Math.random().toString(36).slice(2, 8)}`;

interface FakeServer {
  url: string;
  requests: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }>;
  close(): Promise<void>;
}

/** A node:http server with a handler of our own; `null` from the handler leaves the request unanswered. */
async function fakeServer(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void | null): Promise<FakeServer> {
  const requests: FakeServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function answer(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

describe('createClient()', () => {
  it.each<[string, unknown]>([
    ['a missing baseUrl', undefined],
    ['a relative baseUrl', '/api'],
    ['a baseUrl that is not a URL', 'localhost:4000'],
    ['an ftp: baseUrl', 'ftp://example.com'],
    ['a baseUrl with credentials', 'http://user:pass@example.com'],
    ['a baseUrl with a query string', 'http://example.com/?x=1'],
  ])('refuses %s with a ConfigError', (_name, baseUrl) => {
    expect(() => createClient({ baseUrl: baseUrl as string, apiKey: 'lk_x' })).toThrow(ConfigError);
  });

  it.each<[string, unknown]>([
    ['a missing apiKey', undefined],
    ['a numeric apiKey', 42],
    ['an empty apiKey', ''],
    ['an apiKey with a line break', 'lk_abc\r\nX-Injected: 1'],
    ['an apiKey with a space', 'lk_abc def'],
  ])('refuses %s with a ConfigError that does not show it', (_name, key) => {
    let error: unknown;
    try {
      createClient({ baseUrl: 'http://127.0.0.1:1', apiKey: key as string });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^apiKey must be/);
    if (typeof key === 'string' && key !== '') expect((error as Error).message).not.toContain(key);
  });

  it('refuses a timeout that is not a positive duration, a fetch that is not a function, a bad userAgent and an unknown option', () => {
    const ok = { baseUrl: 'http://127.0.0.1:1', apiKey: 'lk_x' };
    expect(() => createClient({ ...ok, timeout: 'soon' })).toThrow(/timeout must be a positive duration/);
    expect(() => createClient({ ...ok, timeout: 0 })).toThrow(ConfigError);
    expect(() => createClient({ ...ok, timeout: -5 })).toThrow(ConfigError);
    expect(() => createClient({ ...ok, fetch: 'fetch' as unknown as typeof fetch })).toThrow(/fetch must be a function/);
    expect(() => createClient({ ...ok, userAgent: 'x\ny' })).toThrow(/userAgent/);
    expect(() => createClient({ ...ok, timout: '1s' } as never)).toThrow(
      new ConfigError('timout is not an option of createClient(); did you mean timeout? Known options: baseUrl, apiKey, timeout, fetch, userAgent'),
    );
    expect(() => createClient(null as unknown as Parameters<typeof createClient>[0])).toThrow(TypeError);
  });

  it('accepts http and https base URLs, with or without a trailing slash or a path prefix', () => {
    expect(createClient({ baseUrl: 'http://127.0.0.1:4000/', apiKey: 'lk_x' }).baseUrl).toBe('http://127.0.0.1:4000');
    expect(createClient({ baseUrl: 'https://auth.example.com/latchkey/', apiKey: 'lk_x', timeout: '2s' }).baseUrl).toBe('https://auth.example.com/latchkey');
    expect(createClient({ baseUrl: 'http://[::1]:4000', apiKey: 'lk_x', timeout: 1500 }).baseUrl).toBe('http://[::1]:4000');
  });

  it('refuses bad arguments of a call with a LatchkeyTypeError (a TypeError) before sending anything', async () => {
    await expect(latchkey.validateSession(undefined as unknown as string)).rejects.toThrow(TypeError);
    await expect(latchkey.validateSession(undefined as unknown as string)).rejects.toMatchObject({ name: 'LatchkeyTypeError', code: 'ERR_INVALID_ARGUMENT' });
    await expect(latchkey.createSession({ userId: '' })).rejects.toThrow(/userId must be a non-empty string/);
    await expect(latchkey.revokeSession('')).rejects.toThrow(TypeError);
    await expect(latchkey.listUserSessions(7 as unknown as string)).rejects.toThrow(TypeError);
  });
});

describe('against the service', () => {
  it('creates, validates, patches, rotates and revokes a session', async () => {
    const userId = freshUser();
    const { token, session } = await latchkey.createSession({ userId, data: { theme: 'dark' }, client: { ip: '203.0.113.8', userAgent: UA }, authLevel: 1 });
    expect(session).toMatchObject({ userId, data: { theme: 'dark' }, authLevel: 1, client: { ip: '203.0.113.8', device: { browser: 'Firefox', os: 'Linux' } } });

    const valid = await latchkey.validateSession(token, { client: { ip: '203.0.113.8', userAgent: UA } });
    expect(valid.valid).toBe(true);
    if (valid.valid) expect(valid.session.handle).toBe(session.handle);

    const patched = await latchkey.patchSessionData(session.handle, { set: { cart: [1] }, unset: ['theme'] });
    expect(patched.data).toEqual({ cart: [1] });
    expect(patched.version).toBeGreaterThan(session.version);

    const rotated = await latchkey.rotateSession(token, { authenticated: true });
    expect(rotated.token).not.toBe(token);
    expect(rotated.session.data).toEqual({ cart: [1] });
    expect(await latchkey.validateSession(token)).toEqual({ valid: false, reason: 'revoked' });

    expect(await latchkey.revokeSession(rotated.session.handle)).toBe(true);
    expect(await latchkey.validateSession(rotated.token)).toEqual({ valid: false, reason: 'revoked' });
    expect(await latchkey.revokeSession(rotated.session.handle)).toBe(false);
  });

  it('creates an anonymous session without a userId, and signs it in by rotation', async () => {
    const { token, session } = await latchkey.createSession({ data: { cart: ['sku-1'] } });
    expect(session).toMatchObject({ userId: null, data: { cart: ['sku-1'] } });
    const userId = freshUser();
    const signedIn = await latchkey.rotateSession(token, { userId });
    expect(signedIn.session).toMatchObject({ userId, data: { cart: ['sku-1'] } });
  });

  it('answers a refused token as a value with its reason', async () => {
    expect(await latchkey.validateSession('not-a-token')).toEqual({ valid: false, reason: 'malformed' });
    expect(await latchkey.validateSession(`${'A'.repeat(22)}.${'B'.repeat(43)}`)).toEqual({ valid: false, reason: 'unknown' });
  });

  it('signs in another user on rotation', async () => {
    const { token } = await latchkey.createSession({ userId: freshUser() });
    const other = freshUser();
    const rotated = await latchkey.rotateSession(token, { userId: other, client: { userAgent: UA } });
    expect(rotated.session.userId).toBe(other);
  });

  it('lists the sessions of a user, and signs them out everywhere but one', async () => {
    const userId = `a/b c?d#é&x=${freshUser()}`;
    const keep = await latchkey.createSession({ userId, client: { ip: '198.51.100.1', userAgent: UA } });
    const other = await latchkey.createSession({ userId });
    const list = await latchkey.listUserSessions(userId);
    expect(list.map((s) => s.handle)).toEqual([keep.session.handle, other.session.handle]);
    expect(list[0]).toMatchObject({ ip: '198.51.100.1', userAgent: UA, device: { browser: 'Firefox' } });

    expect(await latchkey.revokeUserSessions(userId, { except: keep.session.handle })).toEqual([other.session.handle]);
    expect((await latchkey.validateSession(keep.token)).valid).toBe(true);
    expect(await latchkey.revokeUserSessions(userId)).toEqual([keep.session.handle]);
    expect(await latchkey.listUserSessions(userId)).toEqual([]);
  });

  it('issues, refreshes and revokes token pairs whose access tokens verify against jwks()', async () => {
    const userId = freshUser();
    const pair = await latchkey.issueTokens({ userId, scope: 'read write', data: { plan: 'pro' }, client: { userAgent: UA } });
    expect(pair).toEqual({ accessToken: expect.any(String), refreshToken: expect.any(String), tokenType: 'Bearer', expiresIn: 300 });
    const keys = createLocalJWKSet(await latchkey.jwks());
    const { payload } = await jwtVerify(pair.accessToken, keys, { issuer: 'latchkey', audience: 'latchkey' });
    expect(payload).toMatchObject({ sub: userId, scope: 'read write' });

    const next = await latchkey.refreshTokens(pair.refreshToken, { client: { userAgent: UA } });
    expect(next.refreshToken).not.toBe(pair.refreshToken);
    expect((await jwtVerify(next.accessToken, keys, { issuer: 'latchkey', audience: 'latchkey' })).payload.sub).toBe(userId);

    expect(await latchkey.revokeRefreshToken(next.refreshToken)).toBe(true);
    expect(await latchkey.revokeRefreshToken(next.refreshToken)).toBe(false);
    const err = await rejection(latchkey.refreshTokens(next.refreshToken));
    expect({ status: err.status, reason: err.reason, detail: err.detail }).toEqual({ status: 401, reason: 'invalid_grant', detail: 'revoked' });
    expect(everythingIn(err)).not.toContain(next.refreshToken);
  });

  it('reports health and readiness', async () => {
    expect(await latchkey.health()).toBe(true);
    expect(await latchkey.ready()).toBe(true);
  });

  it('types the validation verdict as a union on valid', async () => {
    const result = await latchkey.validateSession('x');
    expectTypeOf(result).toEqualTypeOf<ValidateSessionResult>();
    if (result.valid) expectTypeOf(result.session).toEqualTypeOf<Session>();
    else expectTypeOf(result.reason).toEqualTypeOf<'malformed' | 'unknown' | 'expired-idle' | 'expired-absolute' | 'revoked' | 'binding-mismatch'>();
  });
});

describe('errors from the service', () => {
  it('maps a wrong API key to unauthorized 401, never showing the key', async () => {
    const wrong = `${apiKey.slice(0, -4)}AAAA` === apiKey ? `${apiKey.slice(0, -4)}BBBB` : `${apiKey.slice(0, -4)}AAAA`;
    const client = createClient({ baseUrl: base, apiKey: wrong });
    const err = await rejection(client.listUserSessions('alice'));
    expect({ name: err.name, status: err.status, reason: err.reason, operation: err.operation }).toEqual({
      name: 'LatchkeyApiError',
      status: 401,
      reason: 'unauthorized',
      operation: 'GET /v1/users/alice/sessions',
    });
    expect(err.message).toMatch(/^latchkey GET \/v1\/users\/alice\/sessions: 401 unauthorized: /);
    // One family: the client's error is a LatchkeyError whose code names its class.
    expect(err).toBeInstanceOf(LatchkeyError);
    expect(err.code).toBe('ERR_SERVICE');
    expectTypeOf<ServiceErrorCode>().toEqualTypeOf<(typeof SERVICE_ERROR_CODES)[number]>();
    expect(everythingIn(err)).not.toContain(wrong);
    expect(everythingIn(err)).not.toContain(wrong.slice(-43));
  });

  it('maps a refused rotation to session-invalid with its reason, never showing the token', async () => {
    const { token, session } = await latchkey.createSession({ userId: freshUser() });
    await latchkey.revokeSession(session.handle);
    const err = await rejection(latchkey.rotateSession(token));
    expect({ status: err.status, reason: err.reason, detail: err.detail }).toEqual({ status: 401, reason: 'session-invalid', detail: 'revoked' });
    expect(everythingIn(err)).not.toContain(token);
    expect(everythingIn(err)).not.toContain(token.split('.')[1]);
    expect(everythingIn(err)).not.toContain(apiKey);
  });

  it('maps an unknown session to not-found 404', async () => {
    const err = await rejection(latchkey.patchSessionData('AAAAAAAAAAAAAAAAAAAAAA', { set: { a: 1 } }));
    expect({ status: err.status, reason: err.reason }).toEqual({ status: 404, reason: 'not-found' });
  });

  it('maps a schema violation to bad-request 400', async () => {
    const err = await rejection(latchkey.createSession({ userId: 'u'.repeat(257) }));
    expect({ status: err.status, reason: err.reason }).toEqual({ status: 400, reason: 'bad-request' });
    const malformed = await rejection(latchkey.revokeSession('not-a-handle'));
    expect(malformed.reason).toBe('bad-request');
  });

  it('maps an oversized body to payload-too-large 413', async () => {
    const err = await rejection(latchkey.createSession({ userId: freshUser(), data: { blob: 'x'.repeat(200_000) } }));
    expect({ status: err.status, reason: err.reason }).toEqual({ status: 413, reason: 'payload-too-large' });
    expect(err.message.length).toBeLessThan(500);
  });
});

describe('errors without an answer', () => {
  it('times out against a server that never answers', async () => {
    const silent = await fakeServer(() => null);
    try {
      const client = createClient({ baseUrl: silent.url, apiKey, timeout: '200ms' });
      const started = Date.now();
      const err = await rejection(client.validateSession('some.token'));
      expect({ status: err.status, reason: err.reason }).toEqual({ status: 0, reason: 'timeout' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
      // Ended by its own 200 ms deadline (the server never answers), which the error names.
      expect(err.message).toMatch(/no answer within 200 ms/);
      expect(everythingIn(err)).not.toContain(apiKey);

      const perCall = await rejection(createClient({ baseUrl: silent.url, apiKey }).health({ timeout: 100 }));
      expect(perCall.reason).toBe('timeout');
    } finally {
      await silent.close();
    }
  });

  it('times out when the answer stops half way', async () => {
    const stalling = await fakeServer((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"valid": tr');
      return null;
    });
    try {
      const err = await rejection(createClient({ baseUrl: stalling.url, apiKey, timeout: 200 }).validateSession('x'));
      expect(err.reason).toBe('timeout');
    } finally {
      await stalling.close();
    }
  });

  it('says network when nothing listens', async () => {
    const gone = await fakeServer(() => null);
    await gone.close();
    const err = await rejection(createClient({ baseUrl: gone.url, apiKey }).createSession({ userId: 'alice' }));
    expect({ status: err.status, reason: err.reason }).toEqual({ status: 0, reason: 'network' });
    expect(err.message).toMatch(/could not be reached \(ECONNREFUSED\)/);
    expect(everythingIn(err)).not.toContain(apiKey);
  });

  /** A client whose fetch fails as undici does: a TypeError wrapping the real reason, here one level deeper still. */
  const failingWith = (reason: unknown): LatchkeyClient =>
    createClient({
      baseUrl: 'http://latchkey.invalid',
      apiKey,
      fetch: async () => {
        throw new TypeError('fetch failed', { cause: new Error('connect failed', { cause: reason }) });
      },
    });

  it('names the innermost cause of a network error, its code first, and keeps the chain as cause', async () => {
    const dns = Object.assign(new Error('getaddrinfo ENOTFOUND latchkey.invalid'), { code: 'ENOTFOUND' });
    const err = await rejection(failingWith(dns).createSession({ userId: 'alice' }));
    expect(err).toMatchObject({ status: 0, reason: 'network' });
    expect(err.message).toBe('latchkey POST /v1/sessions: the service could not be reached (ENOTFOUND)');
    expect((err.cause as Error).cause).toBeInstanceOf(Error);
    expect(((err.cause as Error).cause as Error).cause).toBe(dns);

    const refused = new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:4000'), { code: 'ECONNREFUSED' })], 'all refused');
    expect((await rejection(failingWith(refused).health())).message).toMatch(/could not be reached \(ECONNREFUSED\)$/);
  });

  it("names the innermost cause's message when no error of the chain has a code", async () => {
    const err = await rejection(failingWith(new Error('certificate\nhas expired')).validateSession('some-session-token'));
    expect(err.message).toBe('latchkey POST /v1/sessions/validate: the service could not be reached (certificate has expired)');
  });

  it('never shows the API key or a token from a network error, in the message or the cause', async () => {
    const token = 'tok_0123456789abcdef';
    const err = await rejection(failingWith(new Error(`refused ${apiKey} and ${token}`)).validateSession(token));
    expect(err.reason).toBe('network');
    expect(everythingIn(err)).not.toContain(apiKey);
    expect(everythingIn(err)).not.toContain(token);
    expect(err.cause).toBeUndefined();
  });

  it('says aborted when the caller aborts', async () => {
    const silent = await fakeServer(() => null);
    try {
      const controller = new AbortController();
      const pending = rejection(createClient({ baseUrl: silent.url, apiKey }).listUserSessions('alice', { signal: controller.signal }));
      setTimeout(() => controller.abort(), 50);
      expect((await pending).reason).toBe('aborted');
    } finally {
      await silent.close();
    }
  });
});

describe('answers that are not the API', () => {
  let odd: FakeServer;
  let lastSecret = '';
  beforeAll(async () => {
    odd = await fakeServer((req, body, res) => {
      if (req.url === '/v1/sessions/validate') {
        // A broken proxy or service that echoes everything it was sent into its error message.
        lastSecret = body;
        const token = (JSON.parse(body) as { token: string }).token;
        const message = `${'x'.repeat(Number(req.headers['x-pad'] ?? 0))} failed on ${body} with ${String(req.headers.authorization)}`;
        return answer(res, 500, { error: { code: 'internal', message, reason: token } });
      }
      if (req.url === '/v1/sessions/rotate') return answer(res, 502, '<html><body>Bad Gateway</body></html>', 'text/html');
      if (req.url === '/v1/sessions') return answer(res, 201, 'not json', 'text/plain');
      if (req.url === '/v1/tokens') return answer(res, 201, { accessToken: 1 });
      if (req.url === '/healthz') return answer(res, 503, { status: 'down' });
      if (req.url === '/v1/sessions/AAAAAAAAAAAAAAAAAAAAAA') return answer(res, 404, '<html>Not Found</html>', 'text/html');
      if (req.url === '/v1/sessions/BBBBBBBBBBBBBBBBBBBBBB') return answer(res, 204, '');
      if (req.url === '/readyz') return answer(res, 503, { status: 'unavailable' });
      if (req.url === '/v1/users/throttled/sessions') {
        res.setHeader('retry-after', '17');
        return answer(res, 429, { error: { code: 'throttled', message: 'too many invalid tokens from this client' } });
      }
      if (req.url === '/v1/users/down/sessions') {
        res.setHeader('retry-after', 'Fri, 31 Dec 2100 23:59:59 GMT');
        return answer(res, 503, { error: { code: 'store-unavailable', message: 'the store is unavailable' } });
      }
      return answer(res, 200, { sessions: [], revoked: [] });
    });
  });
  afterAll(() => odd.close());

  // With 230 characters of padding, a 300-character cut of the message falls inside the token's secret.
  it.each([0, 230])('scrubs the API key and the token from an error that echoes them (padding %i)', async (pad) => {
    const token = `${'Q'.repeat(22)}.${'R'.repeat(43)}`;
    const fetchWithPad: typeof fetch = (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), 'x-pad': String(pad) } });
    const err = await rejection(createClient({ baseUrl: odd.url, apiKey, fetch: fetchWithPad }).validateSession(token));
    expect(lastSecret).toContain(token);
    expect({ status: err.status, reason: err.reason, detail: err.detail }).toEqual({ status: 500, reason: 'internal', detail: undefined });
    expect(everythingIn(err)).not.toContain('R'.repeat(12));
    expect(everythingIn(err)).not.toContain(apiKey.slice(-20));
    if (pad === 0) expect(err.message).toContain('[redacted]');
  });

  it('says bad-response for an HTML error page, a non-JSON success and a success of the wrong shape', async () => {
    const client = createClient({ baseUrl: odd.url, apiKey });
    const html = await rejection(client.rotateSession('some.token'));
    expect({ status: html.status, reason: html.reason }).toEqual({ status: 502, reason: 'bad-response' });
    const text = await rejection(client.createSession({ userId: 'alice' }));
    expect({ status: text.status, reason: text.reason }).toEqual({ status: 201, reason: 'bad-response' });
    const shape = await rejection(client.issueTokens({ userId: 'alice' }));
    expect({ status: shape.status, reason: shape.reason, message: shape.message }).toEqual({ status: 201, reason: 'bad-response', message: 'latchkey POST /v1/tokens: the answer has no valid "accessToken"' });
  });

  it("resolves revokeSession false only for latchkey's not-found, not for any 404", async () => {
    const client = createClient({ baseUrl: odd.url, apiKey });
    expect(await client.revokeSession('BBBBBBBBBBBBBBBBBBBBBB')).toBe(true);
    const err = await rejection(client.revokeSession('AAAAAAAAAAAAAAAAAAAAAA'));
    expect({ status: err.status, reason: err.reason }).toEqual({ status: 404, reason: 'bad-response' });
  });

  it("keeps the service's Retry-After in seconds as retryAfter, and nothing for a date", async () => {
    const client = createClient({ baseUrl: odd.url, apiKey });
    const busy = await rejection(client.listUserSessions('throttled'));
    expect({ status: busy.status, reason: busy.reason, retryAfter: busy.retryAfter }).toEqual({ status: 429, reason: 'throttled', retryAfter: 17 });
    const down = await rejection(client.listUserSessions('down'));
    expect({ status: down.status, reason: down.reason, retryAfter: down.retryAfter }).toEqual({ status: 503, reason: 'store-unavailable', retryAfter: undefined });
  });

  it('answers health and readiness as booleans on 503', async () => {
    const client = createClient({ baseUrl: odd.url, apiKey });
    expect(await client.health()).toBe(false);
    expect(await client.ready()).toBe(false);
  });

  it('sends the API key as a bearer, JSON only with a body, its user agent, and encodes path parameters', async () => {
    const client = createClient({ baseUrl: `${odd.url}/prefix/`, apiKey, userAgent: 'my-backend/1.2' });
    const from = odd.requests.length;
    await client.listUserSessions('a/b ?#é');
    await client.revokeUserSessions('a/b', { except: 'h&x=1' });
    const [list, revoke] = odd.requests.slice(from);
    expect(list).toMatchObject({ method: 'GET', url: '/prefix/v1/users/a%2Fb%20%3F%23%C3%A9/sessions', body: '' });
    expect(list?.headers).toMatchObject({ authorization: `Bearer ${apiKey}`, accept: 'application/json', 'user-agent': 'my-backend/1.2' });
    expect(list?.headers['content-type']).toBeUndefined();
    expect(revoke).toMatchObject({ method: 'DELETE', url: '/prefix/v1/users/a%2Fb/sessions?except=h%26x%3D1' });
  });

  it('refuses a redirect without following it: the API key never reaches the place it points to', async () => {
    const elsewhere = await fakeServer((_req, _body, res) => answer(res, 200, { valid: false, reason: 'unknown' }));
    const redirecting = await fakeServer((_req, _body, res) => {
      res.writeHead(307, { location: `${elsewhere.url}/v1/sessions/validate`, 'content-length': 0 });
      res.end();
    });
    try {
      const err = await rejection(createClient({ baseUrl: redirecting.url, apiKey }).validateSession(`${'Q'.repeat(22)}.${'R'.repeat(43)}`));
      expect({ status: err.status, reason: err.reason }).toEqual({ status: 307, reason: 'bad-response' });
      expect(err.message).not.toContain(elsewhere.url);
      expect(redirecting.requests).toHaveLength(1);
      expect(elsewhere.requests).toEqual([]);
    } finally {
      await Promise.all([redirecting.close(), elsewhere.close()]);
    }
  });

  it('uses the fetch it is given', async () => {
    const seen: string[] = [];
    const client = createClient({
      baseUrl: 'http://latchkey.invalid',
      apiKey,
      fetch: async (input, init) => {
        seen.push(`${init?.method} ${String(input)}`);
        return new Response(JSON.stringify({ status: 'ok' }), { status: 200, headers: { 'content-type': 'application/json' } });
      },
    });
    expect(await client.health()).toBe(true);
    expect(seen).toEqual(['GET http://latchkey.invalid/healthz']);
  });
});

describe('the package export', () => {
  it.skipIf(!existsSync(new URL('../../dist/client/index.js', import.meta.url)))('is importable as latchkey/client from the build', async () => {
    const specifier = 'latchkey/client';
    const mod = (await import(specifier)) as typeof clientModule;
    expect(typeof mod.createClient).toBe('function');
    expect(new mod.LatchkeyApiError({ status: 0, reason: 'network', message: 'm', operation: 'GET /healthz' })).toBeInstanceOf(Error);
  });
});
