/**
 * The service (`latchkey serve`) while its store is down: Redis killed with
 * SIGKILL, PostgreSQL stopped the hard way (`pg_ctl stop -m immediate`). Every
 * `/v1` route, the API-key check, the demo site and the dashboard answer 503
 * with their JSON error body, at once and again seconds later (never a 500,
 * never a hang), and everything works again once the store is back, without
 * a restart of the service.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../src/server/api.js';
import { loadConfig } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../servers/postgres.js';
import { redisAvailable, startRedis, type RedisServer } from '../servers/redis.js';

const PASSWORD = 'correct horse battery';
/** Longest an answer may take while the store is down: the engine's storeTimeout (2 s) and some room. */
const BOUND_MS = 4000;

interface Answer {
  readonly status: number;
  readonly ms: number;
  readonly contentType: string | null;
  readonly json: unknown;
  readonly location: string | null;
  readonly retryAfter: string | null;
}

/** A client with a cookie jar (whatever the cookies are called), never following redirects, never waiting past the bound. */
class Client {
  readonly jar = new Map<string, string>();
  constructor(readonly base: string) {}

  async send(method: string, path: string, init: { key?: string; json?: unknown; form?: Record<string, string>; accept?: string } = {}): Promise<Answer> {
    const headers: Record<string, string> = { accept: init.accept ?? 'application/json' };
    if (init.key !== undefined) headers.authorization = `Bearer ${init.key}`;
    if (this.jar.size > 0) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    } else if (init.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['sec-fetch-site'] = 'same-origin';
      body = new URLSearchParams(init.form).toString();
    }
    const started = Date.now();
    const res = await fetch(new URL(path, this.base), { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(10_000) });
    for (const line of res.headers.getSetCookie()) {
      const pair = line.slice(0, line.indexOf(';'));
      const eq = pair.indexOf('=');
      if (pair.slice(eq + 1) === '' || /;\s*max-age=0\b/i.test(line)) this.jar.delete(pair.slice(0, eq));
      else this.jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, ms: Date.now() - started, contentType: res.headers.get('content-type'), json, location: res.headers.get('location'), retryAfter: res.headers.get('retry-after') };
  }
}

/** What the service holds from before the outage, for requests that reach past the API-key check into each route. */
interface Seed {
  token: string;
  handle: string;
  refreshToken: string;
  /** Issued before the outage and never verified: its introspection has to read the store. */
  accessToken: string;
}

/** One request per `/v1` route, by operationId; a route missing here fails the test. */
const ROUTE_CALLS: Record<string, (s: Seed) => { method: string; path: string; json?: unknown }> = {
  createSession: () => ({ method: 'POST', path: '/v1/sessions', json: { userId: 'outage-user' } }),
  listSecurityEvents: () => ({ method: 'GET', path: '/v1/events?limit=5' }),
  validateSession: (s) => ({ method: 'POST', path: '/v1/sessions/validate', json: { token: s.token } }),
  rotateSession: (s) => ({ method: 'POST', path: '/v1/sessions/rotate', json: { token: s.token } }),
  patchSessionData: (s) => ({ method: 'PATCH', path: `/v1/sessions/${s.handle}/data`, json: { set: { theme: 'dark' } } }),
  revokeSession: (s) => ({ method: 'DELETE', path: `/v1/sessions/${s.handle}` }),
  listUserSessions: () => ({ method: 'GET', path: '/v1/users/outage-user/sessions' }),
  revokeUserSessions: () => ({ method: 'DELETE', path: '/v1/users/outage-user/sessions' }),
  issueTokens: () => ({ method: 'POST', path: '/v1/tokens', json: { userId: 'outage-user' } }),
  refreshTokens: (s) => ({ method: 'POST', path: '/v1/tokens/refresh', json: { refreshToken: s.refreshToken } }),
  revokeRefreshToken: (s) => ({ method: 'POST', path: '/v1/tokens/revoke', json: { refreshToken: s.refreshToken } }),
  introspectToken: (s) => ({ method: 'POST', path: '/v1/tokens/introspect', json: { token: s.accessToken } }),
};

interface Backend {
  url: string;
  /** Whether the data outlives the outage (PostgreSQL does; the test Redis keeps nothing). */
  persistent: boolean;
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

function outage(name: string, skip: boolean, open: () => Promise<Backend>): void {
  describe.skipIf(skip)(`the service on ${name} while the store is down`, () => {
    let backend: Backend;
    let service: Service;
    let dir: string;
    let base: string;
    beforeAll(async () => {
      backend = await open();
      dir = mkdtempSync(join(tmpdir(), 'latchkey-outage-'));
      const config = loadConfig({ flags: { port: '0', store: backend.url, dataDir: dir, adminPassword: PASSWORD, logLevel: 'silent' }, env: {} });
      // A verified key stays trusted for a minute: requests with it reach each route's own store calls.
      service = await createService(config, { apiKeyCacheMs: 60_000 });
      base = await service.listen();
    }, 60_000);
    afterAll(async () => {
      await service?.close();
      await backend?.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    it('answers 503 with the JSON error body on every /v1 route, the API-key check, the demo and the dashboard, then recovers by itself', async () => {
      const api = new Client(base);
      const cached = (await service.ctx.apiKeys.create('cached')).key;
      // Never presented before the outage: its check has to read the store.
      const unverified = (await service.ctx.apiKeys.create('unverified')).key;
      const created = await api.send('POST', '/v1/sessions', { key: cached, json: { userId: 'outage-user' } });
      expect(created.status).toBe(201);
      const pair = await api.send('POST', '/v1/tokens', { key: cached, json: { userId: 'outage-user' } });
      expect(pair.status).toBe(201);
      const seed: Seed = {
        token: (created.json as { token: string }).token,
        handle: (created.json as { session: { handle: string } }).session.handle,
        refreshToken: (pair.json as { refreshToken: string }).refreshToken,
        accessToken: (pair.json as { accessToken: string }).accessToken,
      };
      const demo = new Client(base);
      expect((await demo.send('POST', '/demo/login', { form: { user: 'alice', password: 'demo' } })).status).toBe(303);
      expect((await demo.send('GET', '/demo', { accept: 'text/html' })).status).toBe(200);
      const admin = new Client(base);
      expect((await admin.send('POST', '/admin/login', { form: { username: 'admin', password: PASSWORD } })).status).toBe(303);
      expect((await admin.send('GET', '/admin', { accept: 'text/html' })).status).toBe(200);
      for (const route of API_ROUTES) expect(ROUTE_CALLS[route.operationId], route.operationId).toBeDefined();

      await backend.down();
      // At once, and again once the driver has given up on the lost connection and is reconnecting.
      for (const round of ['at once', 'seconds later']) {
        if (round === 'seconds later') await sleep(2500);
        const failures: string[] = [];
        const expectApi503 = (what: string, a: Answer): void => {
          const body = a.json as { error?: { code?: unknown } } | null;
          // The one Retry-After policy of a store outage, as every adapter answers it.
          if (a.status !== 503 || body?.error?.code !== 'store-unavailable' || a.retryAfter !== '5' || a.ms > BOUND_MS) {
            failures.push(`${round}: ${what} -> ${a.status} (Retry-After ${a.retryAfter}) in ${a.ms} ms ${JSON.stringify(a.json)}`);
          }
        };
        const expectPage503 = (what: string, a: Answer): void => {
          const body = a.json as { error?: unknown } | null;
          if (a.status !== 503 || body?.error !== 'store-unavailable' || a.retryAfter !== '5' || a.ms > BOUND_MS) {
            failures.push(`${round}: ${what} -> ${a.status} (Retry-After ${a.retryAfter}) in ${a.ms} ms ${JSON.stringify(a.json)}`);
          }
        };
        for (const route of API_ROUTES) {
          const c = (ROUTE_CALLS[route.operationId] as (s: Seed) => { method: string; path: string; json?: unknown })(seed);
          expectApi503(`${route.operationId} (cached key)`, await api.send(c.method, c.path, { key: cached, json: c.json }));
          expectApi503(`${route.operationId} (key checked in the store)`, await api.send(c.method, c.path, { key: unverified, json: c.json }));
        }
        expectPage503('GET /demo', await demo.send('GET', '/demo'));
        expectPage503('POST /demo/login', await new Client(base).send('POST', '/demo/login', { form: { user: 'bob', password: 'demo' } }));
        expectPage503('GET /admin', await admin.send('GET', '/admin'));
        expectPage503('GET /admin/users', await admin.send('GET', '/admin/users?user=outage-user'));
        expectPage503('POST /admin/login', await new Client(base).send('POST', '/admin/login', { form: { username: 'admin', password: PASSWORD } }));
        expect(failures).toEqual([]);
        expect((await api.send('GET', '/healthz')).status).toBe(200);
        expect((await api.send('GET', '/readyz')).status).toBe(503);
      }

      await backend.up();
      const back = Date.now();
      while ((await api.send('GET', '/readyz')).status !== 200) {
        expect(Date.now() - back).toBeLessThan(20_000);
        await sleep(100);
      }
      // The same service, no restart: the API, the demo and the dashboard work again.
      const key = backend.persistent ? unverified : (await service.ctx.apiKeys.create('after')).key;
      const again = await api.send('POST', '/v1/sessions', { key, json: { userId: 'outage-user' } });
      expect(again.status).toBe(201);
      if (backend.persistent) {
        const valid = await api.send('POST', '/v1/sessions/validate', { key: cached, json: { token: seed.token } });
        expect(valid.json).toMatchObject({ valid: true, session: { userId: 'outage-user' } });
        expect((await demo.send('GET', '/demo', { accept: 'text/html' })).status).toBe(200);
      }
      expect((await new Client(base).send('POST', '/demo/login', { form: { user: 'bob', password: 'demo' } })).status).toBe(303);
      expect((await new Client(base).send('POST', '/admin/login', { form: { username: 'admin', password: PASSWORD } })).status).toBe(303);
    }, 90_000);
  });
}

outage('Redis', !redisAvailable, async () => {
  const redis: RedisServer = await startRedis();
  return { url: redis.url, persistent: false, down: () => redis.kill(), up: () => redis.restart(), stop: () => redis.stop() };
});

outage('PostgreSQL', postgresMissing() !== null, async () => {
  const pg: PostgresServer = await startPostgres();
  return { url: pg.url, persistent: true, down: () => pg.crash(), up: () => pg.start(), stop: () => pg.stop() };
});
