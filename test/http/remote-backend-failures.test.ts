// The remote backend (`remote: createClient(...)`) when the session service
// fails or refuses (no answer, nothing listening, a wrong API key, something
// that is not the service, input it refuses, its throttle), and the
// `remote` option's checks at construction; through a real listening service
// and real listening servers, beside the engine where the answers must match.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type LatchkeyClient } from '../../src/client/index.js';
import { ConfigError } from '../../src/core/errors.js';
import type { Sessions } from '../../src/core/sessions.js';
import { createHttpSessions, type HttpSessionsOptions } from '../../src/http/http-sessions.js';
import { createSealedSessions } from '../../src/sealed/sealed-sessions.js';
import { start, type AdapterName } from '../adapters/support/apps.js';
import { call, cookieHeader, type Reply } from '../adapters/support/client.js';
import { freshIp, startRemote, withServers as withServersOf, type RemoteContext } from './support/remote-service.js';

let ctx: RemoteContext;
let apiKey: string;
let latchkey: LatchkeyClient;
let engine: Sessions;

beforeAll(async () => {
  ctx = await startRemote('remote-backend-failures-test');
  ({ apiKey, latchkey, engine } = ctx);
});

afterAll(async () => {
  await ctx?.close();
});

const withServers = <T>(adapter: AdapterName, extra: Partial<HttpSessionsOptions>, run: (remote: string, local: string) => Promise<T>): Promise<T> =>
  withServersOf(ctx, adapter, extra, run);

describe('the remote backend when the service fails', () => {
  /** A server that accepts connections and never answers. */
  async function silentServer(): Promise<{ url: string; close(): Promise<void> }> {
    const server: Server = createServer(() => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      close: () => new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    };
  }

  it('answers 503 store-unavailable with Retry-After when the service does not answer within the timeout, never a hang', async () => {
    const silent = await silentServer();
    const reported: unknown[] = [];
    const server = await start('fetch', { remote: createClient({ baseUrl: silent.url, apiKey, timeout: '300ms' }), onError: (e) => reported.push(e) });
    try {
      const token = `${'C'.repeat(22)}.${'D'.repeat(43)}`;
      const r = await call(server.url, '/me', { cookie: cookieHeader(token) });
      expect({ status: r.status, error: r.body.error, retryAfter: r.headers.get('retry-after') }).toEqual({ status: 503, error: 'store-unavailable', retryAfter: '5' });
      const login = await call(server.url, '/login?user=x', { method: 'POST' });
      expect(login.status).toBe(503);
      expect(JSON.stringify(reported)).not.toContain(apiKey);
    } finally {
      await server.close();
      await silent.close();
    }
  });

  it('answers 503 when nothing listens at the service, and sets no cookie', async () => {
    const closed = await silentServer();
    const deadUrl = closed.url;
    await closed.close();
    const server = await start('node', { remote: createClient({ baseUrl: deadUrl, apiKey }), onError: () => {} });
    try {
      const r = await call(server.url, '/login?user=x', { method: 'POST' });
      expect({ status: r.status, error: r.body.error }).toEqual({ status: 503, error: 'store-unavailable' });
      expect(r.setCookies).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('answers a wrong API key with 503 and tells onError, without the key', async () => {
    const wrongKey = 'lk_wrong-key-0123456789abcdefghijklmnop';
    const reported: unknown[] = [];
    const server = await start('node', { remote: createClient({ baseUrl: latchkey.baseUrl, apiKey: wrongKey }), onError: (e) => reported.push(e) });
    try {
      const r = await call(server.url, '/login?user=x', { method: 'POST' });
      expect({ status: r.status, error: r.body.error }).toEqual({ status: 503, error: 'store-unavailable' });
      expect(reported).toEqual([expect.objectContaining({ code: 'ERR_SERVICE', reason: 'unauthorized', status: 401 })]);
      const everything = reported.map((e) => `${String(e)} ${(e as Error).stack} ${JSON.stringify(e)}`).join(' ') + r.text;
      expect(everything).not.toContain(wrongKey);
    } finally {
      await server.close();
    }
  });

  it('answers 503 when baseUrl points at something that is not the service, and tells onError', async () => {
    const other: Server = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html>Not Found</html>');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const reported: unknown[] = [];
    const server = await start('fetch', { remote: createClient({ baseUrl: `http://127.0.0.1:${(other.address() as AddressInfo).port}`, apiKey }), onError: (e) => reported.push(e) });
    try {
      const r = await call(server.url, '/me', { cookie: cookieHeader(`${'J'.repeat(22)}.${'K'.repeat(43)}`) });
      expect({ status: r.status, error: r.body.error }).toEqual({ status: 503, error: 'store-unavailable' });
      expect(reported).toEqual([expect.objectContaining({ code: 'ERR_SERVICE', reason: 'bad-response', status: 404 })]);
    } finally {
      await server.close();
      other.closeAllConnections();
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });

  it("answers a sign-in whose input the service refuses as invalid (400 bad-request) with the application's typed error, not a 503, and a refused validation with a reported 503", async () => {
    // A service that refuses what this library checked and took (one of a newer or older version, say): the input is the application's to mend.
    const refusing: Server = createServer((req, res) => {
      req.resume();
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'bad-request', message: 'body/authLevel must be <= 1000' } }));
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    const reported: unknown[] = [];
    const remote = createClient({ baseUrl: `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`, apiKey });
    const server = await start('node', { remote, onError: (e) => reported.push(e) });
    const local = await start('node', { sessions: engine, onError: () => {} });
    try {
      const r = await call(server.url, '/login?user=leveller&level=5000', { method: 'POST' });
      // The status the engine answers for its own LatchkeyTypeError (a bad level) on this adapter.
      const l = await call(local.url, '/login?user=leveller&level=1.5', { method: 'POST' });
      expect({ status: r.status, cookies: r.setCookies }).toEqual({ status: l.status, cookies: [] });
      expect(r.status).not.toBe(503);
      expect(reported).toEqual([expect.objectContaining({ name: 'LatchkeyTypeError', code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('body/authLevel must be <= 1000') })]);
      // A validation carries only what the backend checked and bounded itself (a token of latchkey's shape, the client):
      // refused, the service and this library disagree, which the operator mends; the visitor meets a 503.
      const me = await call(server.url, '/me', { cookie: cookieHeader(`${'L'.repeat(22)}.${'M'.repeat(43)}`) });
      expect({ status: me.status, error: me.body.error }).toEqual({ status: 503, error: 'store-unavailable' });
      expect(reported[1]).toEqual(expect.objectContaining({ code: 'ERR_SERVICE', reason: 'bad-request', status: 400 }));
      expect(JSON.stringify(reported) + r.text).not.toContain(apiKey);
    } finally {
      await server.close();
      await local.close();
      refusing.closeAllConnections();
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
    }
  });

  it("refuses an application's user id over 256 characters as the engine does, with its typed error, and calls no one", async () => {
    const reported: unknown[] = [];
    await withServers('node', { onError: (e) => reported.push(e) }, async (remote, local) => {
      const ip = freshIp();
      const long = 'u'.repeat(300);
      const r = await call(remote, `/login?user=${long}`, { method: 'POST', ip });
      const l = await call(local, `/login?user=${long}`, { method: 'POST', ip });
      expect({ status: r.status, body: r.body, cookies: r.setCookies }).toEqual({ status: l.status, body: l.body, cookies: l.setCookies });
      // Not a service refusal turned 503 and reported as a misconfiguration: the error is the application's.
      expect(r.status).not.toBe(503);
      expect(reported.filter((e) => (e as { code?: string }).code === 'ERR_SERVICE')).toEqual([]);
      expect(reported).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'LatchkeyTypeError', message: 'userId must be a non-empty string of at most 256 characters' })]));
    });
  });

  it('answers a burst of invalid tokens from one client with the service throttle: 429 and its Retry-After', async () => {
    const server = await start('node', { remote: latchkey, trustProxy: ['127.0.0.1'], onError: () => {} });
    try {
      const ip = freshIp();
      let last: Reply | null = null;
      // The service's engine allows 20 invalid tokens per client IP and minute.
      for (let i = 0; i < 25 && last?.status !== 429; i++) {
        last = await call(server.url, '/me', { ip, cookie: cookieHeader(`${String(i).padStart(22, 'E')}.${'F'.repeat(43)}`) });
      }
      expect({ status: last?.status, error: last?.body.error }).toEqual({ status: 429, error: 'throttled' });
      expect(Number(last?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Another client is not slowed down.
      expect((await call(server.url, '/me', { ip: freshIp(), cookie: cookieHeader(`${'G'.repeat(22)}.${'H'.repeat(43)}`) })).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('the remote option at construction', () => {
  it('takes exactly one of sessions, sealed and remote, naming all three', () => {
    const sealed = createSealedSessions({ secrets: ['remote-backend-test-secret-0123456789abcdef'], revocable: false });
    for (const options of [{ sessions: engine, remote: latchkey }, { sealed, remote: latchkey }, { sessions: engine, sealed, remote: latchkey }]) {
      expect(() => createHttpSessions(options)).toThrow(ConfigError);
      expect(() => createHttpSessions(options)).toThrow(
        'pass exactly one of sessions (stateful: createSessions({ store })), sealed (createSealedSessions({ secrets })) and remote (the session service: createClient({ baseUrl, apiKey })), not several',
      );
    }
    expect(() => createHttpSessions({})).toThrow(/or remote: createClient\(\{ baseUrl, apiKey \}\) from "latchkey\/client"/);
    expect(createHttpSessions({ remote: latchkey })).toMatchObject({ remote: latchkey, sessions: null, sealed: null });
  });

  it('refuses a remote that is not a client, and dbsc and migrate, which need the engine in this process', () => {
    expect(() => createHttpSessions({ remote: { baseUrl: 'http://x' } as unknown as LatchkeyClient })).toThrow(
      'remote must be the client from createClient({ baseUrl, apiKey }) (import { createClient } from "latchkey/client")',
    );
    expect(() => createHttpSessions({ remote: latchkey, dbsc: { secret: 'dbsc-secret-0123456789abcdef0123456789' } })).toThrow(/^dbsc needs the engine in this process/);
    expect(() => createHttpSessions({ remote: latchkey, migrate: [{ cookieNames: ['connect.sid'], claim: async () => ({ adopted: null, setCookies: [] }) }] })).toThrow(
      /^migrate needs the engine in this process/,
    );
  });
});
