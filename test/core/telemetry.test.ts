/**
 * OpenTelemetry through the real SDK: a tracer provider with the in-memory
 * span exporter, a meter provider read on demand, and the AsyncLocalStorage
 * context manager (what the Node SDK registers), all registered globally as
 * an application would; the engine on a real SQLite file.
 */
import * as otel from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { createSessions } from '../../src/core/sessions.js';
import { sqliteStore } from '../../src/stores/sqlite.js';
import { latchkey } from '../../src/adapters/node.js';

class OnDemandReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'latchkey-telemetry-'));
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

/** The data points of one metric, by their attributes. */
async function points(name: string): Promise<Array<DataPoint<unknown>>> {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
  return (metric?.dataPoints ?? []) as Array<DataPoint<unknown>>;
}

const byName = (spans: ReadableSpan[], name: string): ReadableSpan[] => spans.filter((s) => s.name === name);
const childrenOf = (spans: ReadableSpan[], parent: ReadableSpan): string[] =>
  spans.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId).map((s) => s.name);

describe('OpenTelemetry', () => {
  it('traces create, validate, rotate and revoke, each with its store calls as child spans, by handle and result', async () => {
    const store = sqliteStore({ path: join(dir, `t${n++}.db`) });
    const sessions = createSessions({ store, sweepInterval: false, telemetry: otel });
    const { token, session } = await sessions.create({ userId: 'ann' });
    expect((await sessions.validate(token)).ok).toBe(true);
    const rotated = await sessions.rotate(token, { userId: 'ann' });
    if (!rotated.ok) throw new Error(rotated.reason);
    expect(await sessions.revoke(rotated.session.handle)).toBe(true);
    expect(await sessions.validate(rotated.token)).toEqual({ ok: false, reason: 'revoked' });

    const spans = exporter.getFinishedSpans();
    const created = byName(spans, 'latchkey.create')[0] as ReadableSpan;
    expect(created.attributes['latchkey.session.handle']).toBe(session.handle);
    expect(childrenOf(spans, created)).toContain('latchkey.store.create');

    const [valid, refused] = byName(spans, 'latchkey.validate') as [ReadableSpan, ReadableSpan];
    expect(valid.attributes).toMatchObject({ 'latchkey.session.handle': session.handle, 'latchkey.result': 'ok' });
    expect(childrenOf(spans, valid)).toContain('latchkey.store.get');
    expect(refused.attributes).toMatchObject({ 'latchkey.session.handle': rotated.session.handle, 'latchkey.result': 'revoked' });

    const rotation = byName(spans, 'latchkey.rotate')[0] as ReadableSpan;
    expect(rotation.attributes).toMatchObject({ 'latchkey.session.handle': session.handle, 'latchkey.session.successor': rotated.session.handle, 'latchkey.result': 'ok' });
    expect(childrenOf(spans, rotation)).toEqual(expect.arrayContaining(['latchkey.store.get', 'latchkey.store.replace']));

    const revocation = byName(spans, 'latchkey.revoke')[0] as ReadableSpan;
    expect(revocation.attributes).toMatchObject({ 'latchkey.session.handle': rotated.session.handle, 'latchkey.result': 'revoked' });
    const storeRevoke = byName(spans, 'latchkey.store.revoke')[0] as ReadableSpan;
    expect(storeRevoke.parentSpanContext?.spanId).toBe(revocation.spanContext().spanId);
    expect(storeRevoke.attributes).toEqual({ 'latchkey.store.operation': 'revoke', 'latchkey.session.handle': rotated.session.handle });

    // Never a token, its secret part, or the secret's hash kept in the store.
    const hashes = await Promise.all([session.handle, rotated.session.handle].map(async (h) => (await store.get(h))?.secretHash as string));
    const exported = JSON.stringify(spans.map((s) => [s.name, s.attributes, s.events, s.status]));
    for (const secret of [token, rotated.token, ...[token, rotated.token].map((t) => t.split('.')[1] as string), ...hashes]) {
      expect(secret.length).toBeGreaterThan(10);
      expect(exported).not.toContain(secret);
    }
    await sessions.close();
    await store.close();
  });

  it('counts validations by result and times every store call by operation', async () => {
    const before = new Map((await points('latchkey.validations')).map((p) => [p.attributes['latchkey.result'], p.value as number]));
    const store = sqliteStore({ path: join(dir, `t${n++}.db`) });
    const sessions = createSessions({ store, sweepInterval: false, telemetry: otel });
    const { token, session } = await sessions.create({ userId: 'bob' });
    await sessions.validate(token);
    await sessions.validate(token);
    await sessions.validate('not a token');
    await sessions.validate(`${session.handle}.${'A'.repeat(43)}`);

    const counted = new Map((await points('latchkey.validations')).map((p) => [p.attributes['latchkey.result'], (p.value as number) - (before.get(p.attributes['latchkey.result']) ?? 0)]));
    expect(Object.fromEntries([...counted].filter(([, v]) => v !== 0))).toEqual({ ok: 2, malformed: 1, unknown: 1 });

    const durations = await points('latchkey.store.duration');
    const get = durations.find((p) => p.attributes['latchkey.store.operation'] === 'get' && p.attributes['error.type'] === undefined);
    const create = durations.find((p) => p.attributes['latchkey.store.operation'] === 'create');
    for (const p of [get, create]) {
      const h = p?.value as Histogram;
      expect(h.count).toBeGreaterThan(0);
      expect(h.sum).toBeGreaterThan(0);
      expect((h.sum as number) / h.count).toBeLessThan(1); // seconds
    }
    await sessions.close();
    await store.close();
  });

  it('marks a failed store call on its span, its parent and the histogram with the error code, never the message', async () => {
    const store = sqliteStore({ path: join(dir, `t${n++}.db`) });
    const sessions = createSessions({ store, sweepInterval: false, telemetry: otel });
    const { token } = await sessions.create({ userId: 'cy' });
    await store.close();
    const error = (await sessions.validate(token).catch((err: unknown) => err)) as Error & { code: string };
    expect(error.code).toBe('ERR_CLOSED');

    const spans = exporter.getFinishedSpans();
    const validate = byName(spans, 'latchkey.validate')[0] as ReadableSpan;
    const get = byName(spans, 'latchkey.store.get')[0] as ReadableSpan;
    for (const span of [validate, get]) {
      expect(span.status.code).toBe(otel.SpanStatusCode.ERROR);
      expect(span.attributes['error.type']).toBe('ERR_CLOSED');
      expect(JSON.stringify([span.attributes, span.status, span.events])).not.toContain(error.message);
    }
    expect(get.parentSpanContext?.spanId).toBe(validate.spanContext().spanId);
    const failed = (await points('latchkey.store.duration')).find((p) => p.attributes['error.type'] === 'ERR_CLOSED');
    expect((failed?.value as Histogram).count).toBeGreaterThan(0);
    expect((await points('latchkey.validations')).some((p) => p.attributes['latchkey.result'] === 'error')).toBe(true);
    await sessions.close();
  });

  it("puts the validation of a request to a node:http server under the request's own span", async () => {
    const store = sqliteStore({ path: join(dir, `t${n++}.db`) });
    const sessions = createSessions({ store, sweepInterval: false, telemetry: otel });
    const tracer = otel.trace.getTracer('app');
    const withSession = latchkey({ sessions, development: true, cookie: { secure: false } });
    const server: Server = createServer((req, res) =>
      // What an HTTP instrumentation does: the request handled inside a span of its own.
      tracer.startActiveSpan('GET /me', (request) => {
        res.on('finish', () => request.end());
        withSession(async (_req, res2, session) => {
          if (req.method === 'POST') await session.login('eve');
          else await session.load();
          res2.writeHead(session.isAuthenticated ? 200 : 401).end();
        })(req, res);
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/me`;
      const login = await fetch(url, { method: 'POST', headers: { 'sec-fetch-site': 'same-origin' } });
      const cookie = (login.headers.getSetCookie()[0] as string).split(';')[0] as string;
      exporter.reset();
      expect((await fetch(url, { headers: { cookie } })).status).toBe(200);
      const spans = exporter.getFinishedSpans();
      const request = byName(spans, 'GET /me')[0] as ReadableSpan;
      const validate = byName(spans, 'latchkey.validate')[0] as ReadableSpan;
      expect(validate.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
      expect(validate.attributes['latchkey.result']).toBe('ok');
      expect(validate.attributes['latchkey.session.handle']).toBe(cookie.split('=')[1]?.split('.')[0]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await sessions.close();
      await store.close();
    }
  });

  it('traces nothing without the telemetry option, even with a provider registered', async () => {
    const store = sqliteStore({ path: join(dir, `t${n++}.db`) });
    const sessions = createSessions({ store, sweepInterval: false });
    const { token } = await sessions.create({ userId: 'dee' });
    expect((await sessions.validate(token)).ok).toBe(true);
    expect(exporter.getFinishedSpans()).toEqual([]);
    await sessions.close();
    await store.close();
  });

  it('refuses a telemetry option that is not the OpenTelemetry API, at construction', () => {
    const store = sqliteStore({ path: ':memory:' });
    expect(() => createSessions({ store, telemetry: { trace: {} } as never })).toThrow(
      new ConfigError("telemetry must be the @opentelemetry/api module (import * as otel from '@opentelemetry/api')"),
    );
  });
});
