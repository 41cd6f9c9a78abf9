/**
 * OpenTelemetry for sealed mode and token mode through the real SDK (the
 * in-memory span exporter, a meter provider read on demand, the
 * AsyncLocalStorage context manager, registered globally as an application
 * would), each driven through a real node:http server on a real SQLite file.
 */
import * as otel from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader, type DataPoint } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as node from '../../src/adapters/node.js';
import { ConfigError } from '../../src/core/errors.js';
import { createSessions } from '../../src/core/sessions.js';
import { createTokenTransport } from '../../src/http/tokens.js';
import { createSealedSessions } from '../../src/sealed/index.js';
import { sqliteStore } from '../../src/stores/sqlite.js';
import { createKeySet } from '../../src/tokens/keys.js';
import { createTokens } from '../../src/tokens/tokens.js';
import { listen, type Running } from '../adapters/support/apps.js';
import { dpopClient } from '../support/dpop-client.js';

class OnDemandReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'latchkey-telemetry-modes-'));
const exporter = new InMemorySpanExporter();
const reader = new OnDemandReader();
let n = 0;

beforeAll(() => {
  otel.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  otel.trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  otel.metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
});
afterEach(() => exporter.reset());
afterAll(() => {
  otel.trace.disable();
  otel.metrics.disable();
  otel.context.disable();
  rmSync(dir, { recursive: true, force: true });
});

/** A counter's values by `latchkey.result`. */
async function counts(name: string): Promise<Record<string, number>> {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
  const points = (metric?.dataPoints ?? []) as Array<DataPoint<number>>;
  return Object.fromEntries(points.map((p) => [String(p.attributes['latchkey.result']), p.value]));
}

/** How a counter moved between two readings. */
function moved(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).flatMap(([k, v]) => (v - (before[k] ?? 0) === 0 ? [] : [[k, v - (before[k] ?? 0)]])));
}

const byName = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);
const childrenOf = (parent: ReadableSpan): string[] =>
  exporter
    .getFinishedSpans()
    .filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId)
    .map((s) => s.name);
const exported = (): string => JSON.stringify(exporter.getFinishedSpans().map((s) => [s.name, s.attributes, s.events, s.status]));

const cookieOf = (res: Response, name: string): string => {
  const line = res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  if (line === undefined) throw new Error(`no ${name} cookie`);
  return line.split(';')[0] as string;
};

describe('OpenTelemetry in sealed mode', () => {
  async function sealedServer(telemetry: boolean) {
    const store = sqliteStore({ path: join(dir, `s${n++}.db`) });
    const sealed = createSealedSessions({ secrets: randomBytes(32).toString('base64url'), store, cookieName: 'sid', ...(telemetry ? { telemetry: otel } : {}) });
    const withSession = node.latchkey({ sealed, development: true, cookie: { secure: false } });
    const server = await listen(
      createServer(
        withSession(async (req, res, session) => {
          if (req.url === '/login') await session.login('ann');
          else if (req.url === '/logout') await session.logout();
          else await session.load();
          res.writeHead(session.isAuthenticated ? 200 : 401).end(session.handle ?? '');
        }),
      ),
    );
    return { store, server, close: async () => (await server.close(), await store.close()) };
  }
  const post = (url: string, cookie?: string) =>
    fetch(url, { method: 'POST', headers: { 'sec-fetch-site': 'same-origin', ...(cookie === undefined ? {} : { cookie }) } });

  it('traces open, seal and revoke with their store calls as children, counts opens by result, and never records the cookie', async () => {
    const { server, close } = await sealedServer(true);
    try {
      const before = await counts('latchkey.sealed.opens');
      const login = await post(`${server.url}/login`);
      const cookie = cookieOf(login, 'sid');
      const me = await fetch(`${server.url}/me`, { headers: { cookie } });
      expect(me.status).toBe(200);
      const handle = await me.text();
      expect((await fetch(`${server.url}/me`, { headers: { cookie: `sid=${'A'.repeat(120)}` } })).status).toBe(401);
      expect((await post(`${server.url}/logout`, cookie)).status).toBe(401);
      expect((await fetch(`${server.url}/me`, { headers: { cookie } })).status).toBe(401);

      const login0 = byName('latchkey.sealed.login')[0] as ReadableSpan;
      expect(login0.attributes['latchkey.session.successor']).toBe(handle);
      expect(childrenOf(login0)).toContain('latchkey.store.kv.get');
      const sealSpan = byName('latchkey.sealed.seal')[0] as ReadableSpan;
      expect(sealSpan.attributes).toEqual({ 'latchkey.session.handle': handle, 'latchkey.sealed.chunks': 1 });

      const opens = byName('latchkey.sealed.open');
      expect(opens.map((s) => s.attributes['latchkey.result'])).toEqual(['ok', 'unknown-version', 'ok', 'revoked']);
      expect(opens[0]?.attributes).toMatchObject({ 'latchkey.session.handle': handle, 'latchkey.sealed.chunks': 1 });
      expect(opens[1]?.attributes['latchkey.session.handle']).toBeUndefined();
      expect(childrenOf(opens[0] as ReadableSpan)).toContain('latchkey.store.kv.get');

      const revoke = byName('latchkey.sealed.revoke')[0] as ReadableSpan;
      expect(revoke.attributes).toEqual({ 'latchkey.session.handle': handle });
      expect(childrenOf(revoke)).toContain('latchkey.store.kv.set');
      expect(byName('latchkey.store.kv.set')[0]?.attributes).toEqual({ 'latchkey.store.operation': 'kv.set', 'latchkey.kv.namespace': 'sealed' });

      expect(moved(before, await counts('latchkey.sealed.opens'))).toEqual({ ok: 2, 'unknown-version': 1, revoked: 1 });
      const sealedValue = cookie.split('=')[1] as string;
      expect(sealedValue.length).toBeGreaterThan(40);
      expect(exported()).not.toContain(sealedValue);
      expect(exported()).not.toContain('ann');
    } finally {
      await close();
    }
  });

  it('marks an open whose store fails as an error, on the span and in the counter', async () => {
    const { server, store, close } = await sealedServer(true);
    try {
      const cookie = cookieOf(await post(`${server.url}/login`), 'sid');
      const before = await counts('latchkey.sealed.opens');
      await store.close();
      // A closed store: the request fails (ERR_CLOSED), and the span says why.
      expect((await fetch(`${server.url}/me`, { headers: { cookie } })).ok).toBe(false);
      const open = byName('latchkey.sealed.open').at(-1) as ReadableSpan;
      expect(open.status.code).toBe(otel.SpanStatusCode.ERROR);
      expect(open.attributes['error.type']).toBe('ERR_CLOSED');
      expect(moved(before, await counts('latchkey.sealed.opens'))).toEqual({ error: 1 });
    } finally {
      await close();
    }
  });

  it('traces nothing without the telemetry option, even with a provider registered', async () => {
    const { server, close } = await sealedServer(false);
    try {
      const cookie = cookieOf(await post(`${server.url}/login`), 'sid');
      expect((await fetch(`${server.url}/me`, { headers: { cookie } })).status).toBe(200);
      expect(exporter.getFinishedSpans()).toEqual([]);
    } finally {
      await close();
    }
  });

  it('refuses a telemetry option that is not the OpenTelemetry API, at construction', () => {
    expect(() => createSealedSessions({ secrets: randomBytes(32).toString('base64url'), revocable: false, telemetry: { trace: {} } as never })).toThrow(
      new ConfigError("telemetry must be the @opentelemetry/api module (import * as otel from '@opentelemetry/api')"),
    );
  });
});

describe('OpenTelemetry in token mode', () => {
  async function tokenServer(telemetry: boolean) {
    const store = sqliteStore({ path: join(dir, `t${n++}.db`) });
    const sessions = createSessions({ store, sweepInterval: false, ...(telemetry ? { telemetry: otel } : {}) });
    const keys = await createKeySet({});
    const tokens = createTokens({ sessions, keys, issuer: 'https://auth.example.test', audience: 'api', refreshSecret: randomBytes(32).toString('base64url'), dpop: {} });
    const transport = createTokenTransport({ tokens });
    const me = node.tokenGuard(transport)((_req: IncomingMessage, res: ServerResponse, claims: unknown) => void res.end(JSON.stringify(claims)));
    const refresh = node.tokenRefresh(transport);
    const logout = node.tokenLogout(transport);
    const server: Running = await listen(
      createServer((req, res) => {
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        if (path === '/api/me') return me(req, res);
        if (path === '/auth/refresh') return refresh(req, res);
        if (path === '/auth/refresh/logout') return logout(req, res);
        if (path === '/auth/login') return void node.issueTokens(req, res, transport, { userId: 'bo' });
        res.writeHead(404).end();
      }),
    );
    return { server, tokens, close: async () => (await server.close(), await sessions.close(), await store.close()) };
  }
  const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('traces issue, verify (the guard), refresh and revoke with the engine and the store under them, and counts verifications and refreshes by result', async () => {
    const { server, close } = await tokenServer(true);
    try {
      const verifications = await counts('latchkey.tokens.verifications');
      const refreshes = await counts('latchkey.tokens.refreshes');
      const issued = (await (await fetch(`${server.url}/auth/login`, { method: 'POST' })).json()) as { access_token: string; refresh_token: string };
      const handle = issued.refresh_token.split('.')[0] as string;
      expect((await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${issued.access_token}` } })).status).toBe(200);
      expect((await fetch(`${server.url}/api/me`, { headers: { authorization: 'Bearer not.a.jwt' } })).status).toBe(401);
      const renewed = (await (await fetch(`${server.url}/auth/refresh`, json({ refresh_token: issued.refresh_token }))).json()) as { refresh_token: string };
      const successor = renewed.refresh_token.split('.')[0] as string;
      expect((await fetch(`${server.url}/auth/refresh`, json({ refresh_token: 'nothing-like-a-token' }))).ok).toBe(false);
      expect((await fetch(`${server.url}/auth/refresh/logout`, json({ refresh_token: renewed.refresh_token }))).status).toBeLessThan(300);

      const issue = byName('latchkey.tokens.issue')[0] as ReadableSpan;
      expect(issue.attributes).toEqual({ 'latchkey.session.handle': handle, 'latchkey.tokens.token_type': 'Bearer' });
      expect(childrenOf(issue)).toContain('latchkey.create');

      const verifies = byName('latchkey.tokens.verify');
      expect(verifies.map((s) => s.attributes['latchkey.result'])).toEqual(['ok', 'malformed']);
      expect(verifies[0]?.attributes['latchkey.session.handle']).toBe(handle);

      const [rotation, refused] = byName('latchkey.tokens.refresh') as [ReadableSpan, ReadableSpan];
      expect(rotation.attributes).toEqual({ 'latchkey.session.handle': handle, 'latchkey.session.successor': successor, 'latchkey.tokens.token_type': 'Bearer', 'latchkey.result': 'ok' });
      expect(childrenOf(rotation)).toContain('latchkey.rotate');
      expect(refused.attributes).toEqual({ 'latchkey.result': 'malformed' });

      const revoke = byName('latchkey.tokens.revoke')[0] as ReadableSpan;
      expect(revoke.attributes).toEqual({ 'latchkey.session.handle': successor, 'latchkey.result': 'revoked' });
      expect(childrenOf(revoke)).toContain('latchkey.revoke');

      expect(moved(verifications, await counts('latchkey.tokens.verifications'))).toEqual({ ok: 1, malformed: 1 });
      expect(moved(refreshes, await counts('latchkey.tokens.refreshes'))).toEqual({ ok: 1, malformed: 1 });
      const text = exported();
      for (const secret of [issued.access_token, issued.refresh_token.split('.')[1] as string, renewed.refresh_token.split('.')[1] as string]) {
        expect(secret.length).toBeGreaterThan(20);
        expect(text).not.toContain(secret);
      }
      expect(text).not.toContain('"bo"');
    } finally {
      await close();
    }
  });

  it('traces the DPoP proof checks of a sign-in and of the guard, with their results', async () => {
    const { server, close } = await tokenServer(true);
    try {
      const client = await dpopClient('ES256');
      const login = await client.fetch(`${server.url}/auth/login`, { method: 'POST' });
      expect(login.status).toBe(200);
      const { access_token: accessToken } = (await login.json()) as { access_token: string };
      expect((await client.fetch(`${server.url}/api/me`, { accessToken })).status).toBe(200);
      const proof = await client.proof('GET', `${server.url}/api/me`, { accessToken });
      const replayed = (init: RequestInit) => fetch(`${server.url}/api/me`, init);
      const headers = { authorization: `DPoP ${accessToken}`, dpop: proof };
      expect((await replayed({ headers })).status).toBe(200);
      expect((await replayed({ headers })).status).toBe(401);

      expect(byName('latchkey.tokens.dpop').map((s) => s.attributes['latchkey.result'])).toEqual(['ok', 'ok', 'ok', 'replayed']);
      expect(byName('latchkey.tokens.issue')[0]?.attributes['latchkey.tokens.token_type']).toBe('DPoP');
      expect(exported()).not.toContain(client.jkt);
      expect(exported()).not.toContain(proof);
    } finally {
      await close();
    }
  });

  it('traces nothing without the engine telemetry option, even with a provider registered', async () => {
    const { server, close } = await tokenServer(false);
    try {
      const issued = (await (await fetch(`${server.url}/auth/login`, { method: 'POST' })).json()) as { access_token: string };
      expect((await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${issued.access_token}` } })).status).toBe(200);
      expect(exporter.getFinishedSpans()).toEqual([]);
    } finally {
      await close();
    }
  });
});
