/**
 * OpenTelemetry for the engine: a span for each `create`, `validate`,
 * `rotate`, `revoke` and `revokeUser`, a child span for each store call, and
 * two metrics, `latchkey.validations` (a counter, by `latchkey.result`) and
 * `latchkey.store.duration` (a histogram in seconds, by
 * `latchkey.store.operation`). Sealed mode (src/sealed/telemetry.ts) and
 * token mode (src/tokens/telemetry.ts) use the same instruments, and count
 * their own validations: `latchkey.sealed.opens`,
 * `latchkey.tokens.verifications` and `latchkey.tokens.refreshes`.
 *
 * latchkey never imports `@opentelemetry/api` (an optional peer
 * dependency): the application passes the API it imported as the
 * `telemetry` option, and its tracer and meter providers (the SDK it
 * registered) receive the spans and measurements. Without the option the
 * engine runs exactly as before: none of this module's wrappers exist.
 *
 * Attributes carry handles (a session's public identifier), results and
 * reasons, and store operation names; never a token, a secret, a hash,
 * session data or a key-value key (a DBSC challenge or a DPoP `jti` is one).
 *
 * @module
 */
import { ConfigError } from './errors.js';
import type { KeyValues, Store } from './store.js';

/** Attribute values as OpenTelemetry takes them. */
type Attributes = Record<string, string | number | boolean>;

/** The part of an OpenTelemetry span latchkey uses. */
export interface TelemetrySpan {
  setAttribute(key: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  end(): void;
}

/** The part of an OpenTelemetry tracer latchkey uses. */
export interface TelemetryTracer {
  startSpan(name: string, options?: { attributes?: Attributes }): TelemetrySpan;
  startActiveSpan<F extends (span: TelemetrySpan) => unknown>(name: string, options: { attributes?: Attributes }, fn: F): ReturnType<F>;
}

/** The part of an OpenTelemetry meter latchkey uses. */
export interface TelemetryMeter {
  createCounter(name: string, options?: { description?: string; unit?: string }): { add(value: number, attributes?: Attributes): void };
  createHistogram(
    name: string,
    options?: { description?: string; unit?: string; advice?: { explicitBucketBoundaries?: number[] } },
  ): { record(value: number, attributes?: Attributes): void };
}

/**
 * What latchkey needs of `@opentelemetry/api`: pass the module itself
 * (`import * as otel from '@opentelemetry/api'`). Typed by shape, so that
 * latchkey's types do not need the package.
 *
 * @example
 * ```ts
 * import * as otel from '@opentelemetry/api';
 * import { createSessions } from 'latchkey';
 * import { memoryStore } from 'latchkey/stores/memory';
 *
 * const telemetry: TelemetryApi = otel;
 * const sessions = createSessions({ store: memoryStore(), telemetry });
 * ```
 */
export interface TelemetryApi {
  trace: { getTracer(name: string, version?: string): TelemetryTracer };
  metrics: { getMeter(name: string, version?: string): TelemetryMeter };
}

/** OpenTelemetry's `SpanStatusCode.ERROR` (a stable value of the specification). */
const ERROR = 2;

/** The instrumentation scope's name. */
const SCOPE = 'latchkey';

/** Store-call latency buckets, in seconds: 50 µs (an in-process read) to 2.5 s (a store timeout). */
const STORE_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** A counter as latchkey records it. @internal */
export interface TelemetryCounter {
  add(value: number, attributes?: Attributes): void;
}

/** One engine's (or sealed mode's) instruments. @internal */
export interface Telemetry {
  readonly tracer: TelemetryTracer;
  readonly validations: TelemetryCounter;
  readonly storeDuration: { record(value: number, attributes?: Attributes): void };
  /** Sealed mode's `open()`, by result. */
  readonly sealedOpens: TelemetryCounter;
  /** Token mode's access-token verifications (`verify()`, the guard's), by result. */
  readonly tokenVerifications: TelemetryCounter;
  /** Token mode's refresh-token rotations, by result. */
  readonly tokenRefreshes: TelemetryCounter;
}

/** The `telemetry` option, checked: `undefined` stays off. @internal */
export function telemetryOption(api: unknown): Telemetry | null {
  if (api === undefined) return null;
  const t = api as Partial<TelemetryApi> | null;
  if (typeof t?.trace?.getTracer !== 'function' || typeof t.metrics?.getMeter !== 'function') {
    throw new ConfigError("telemetry must be the @opentelemetry/api module (import * as otel from '@opentelemetry/api')");
  }
  const meter = t.metrics.getMeter(SCOPE);
  return {
    tracer: t.trace.getTracer(SCOPE),
    validations: meter.createCounter('latchkey.validations', { description: 'Session validations, by result (ok, or the reason of the refusal)' }),
    storeDuration: meter.createHistogram('latchkey.store.duration', {
      description: 'Duration of store calls, by operation',
      unit: 's',
      advice: { explicitBucketBoundaries: STORE_BUCKETS },
    }),
    sealedOpens: meter.createCounter('latchkey.sealed.opens', { description: 'Sealed-session opens, by result (ok, or the reason of the refusal)' }),
    tokenVerifications: meter.createCounter('latchkey.tokens.verifications', { description: 'Access-token verifications, by result (ok, or the reason of the refusal)' }),
    tokenRefreshes: meter.createCounter('latchkey.tokens.refreshes', { description: 'Refresh-token rotations, by result (ok, or the reason of the refusal)' }),
  };
}

/**
 * `fn` in a span that counts its outcome on `counter` by `latchkey.result`:
 * `result` names a settled value's, `error` a rejection. @internal
 */
export function countedSpan<R>(
  t: Telemetry,
  counter: TelemetryCounter,
  name: string,
  attributes: Attributes,
  fn: () => Promise<R>,
  result: (span: TelemetrySpan, value: R) => string,
): Promise<R> {
  return inSpan(
    t,
    name,
    attributes,
    () =>
      fn().catch((err: unknown) => {
        counter.add(1, { 'latchkey.result': 'error' });
        throw err;
      }),
    (span, value) => {
      const r = result(span, value);
      span.setAttribute('latchkey.result', r);
      counter.add(1, { 'latchkey.result': r });
    },
  );
}

/** The error's stable code, or its class name: an attribute value that carries no message. */
function errorType(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown } | null;
  return typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'Error';
}

/**
 * `fn` inside an active span named `name`: child spans (the store calls)
 * attach to it where the application registered a context manager. `done`
 * adds the result's attributes; a rejection marks the span as an error
 * (`error.type`, the error's code; never its message).
 */
export function inSpan<R>(t: Telemetry, name: string, attributes: Attributes, fn: () => Promise<R>, done?: (span: TelemetrySpan, result: R) => void): Promise<R> {
  return t.tracer.startActiveSpan(name, { attributes }, async (span: TelemetrySpan) => {
    try {
      const result = await fn();
      done?.(span, result);
      return result;
    } catch (err) {
      span.setAttribute('error.type', errorType(err));
      span.setStatus({ code: ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** One store call: a span, and its duration in the histogram. */
function storeCall<R>(t: Telemetry, operation: string, attributes: Attributes, op: () => Promise<R>): Promise<R> {
  const span = t.tracer.startSpan(`latchkey.store.${operation}`, { attributes: { 'latchkey.store.operation': operation, ...attributes } });
  const started = performance.now();
  const finish = (failed: unknown): void => {
    const seconds = (performance.now() - started) / 1000;
    if (failed === undefined) {
      t.storeDuration.record(seconds, { 'latchkey.store.operation': operation });
    } else {
      const type = errorType(failed);
      t.storeDuration.record(seconds, { 'latchkey.store.operation': operation, 'error.type': type });
      span.setAttribute('error.type', type);
      span.setStatus({ code: ERROR });
    }
    span.end();
  };
  let p: Promise<R>;
  try {
    p = op();
  } catch (err) {
    finish(err ?? 'Error');
    throw err;
  }
  return p.then(
    (value) => {
      finish(undefined);
      return value;
    },
    (err: unknown) => {
      finish(err ?? 'Error');
      throw err;
    },
  );
}

const handle = (h: string): Attributes => ({ 'latchkey.session.handle': h });
const NONE: Attributes = {};

/**
 * A view of `store` whose calls are traced and timed. It is used for the
 * engine's calls only: the store itself stays what caches and invalidations
 * know it by. @internal
 */
export function tracedStore(store: Store, t: Telemetry): Store {
  const traced: Store = {
    capabilities: store.capabilities,
    create: (r) => storeCall(t, 'create', handle(r.handle), () => store.create(r)),
    get: (h) => storeCall(t, 'get', handle(h), () => store.get(h)),
    touch: (h, a, b, c) => storeCall(t, 'touch', handle(h), () => store.touch(h, a, b, c)),
    patch: (h, p, n, v) => storeCall(t, 'patch', handle(h), () => store.patch(h, p, n, v)),
    replace: (h, v, n, x) => storeCall(t, 'replace', { ...handle(h), 'latchkey.session.successor': n.handle }, () => store.replace(h, v, n, x)),
    revoke: (h, u) => storeCall(t, 'revoke', handle(h), () => store.revoke(h, u)),
    revokeUser: (u, x, e, k) => storeCall(t, 'revokeUser', NONE, () => store.revokeUser(u, x, e, k)),
    delete: (h) => storeCall(t, 'delete', handle(h), () => store.delete(h)),
    listUser: (u) => storeCall(t, 'listUser', NONE, () => store.listUser(u)),
    sweep: (n, l) => storeCall(t, 'sweep', NONE, () => store.sweep(n, l)),
    kv: tracedValues(store.kv, t),
    ping: () => storeCall(t, 'ping', NONE, () => store.ping()),
    close: () => store.close(),
  };
  if (store.subscribe !== undefined) traced.subscribe = store.subscribe.bind(store);
  if (store.limitLockWaits !== undefined) traced.limitLockWaits = store.limitLockWaits.bind(store);
  const census = store.census?.bind(store);
  if (census !== undefined) traced.census = (n, p, l) => storeCall(t, 'census', NONE, () => census(n, p, l));
  return traced;
}

/** The key-value facet, traced: the namespace is an attribute, the key never (it may be a secret). */
function tracedValues(kv: KeyValues, t: Telemetry): KeyValues {
  const ns = (namespace: string): Attributes => ({ 'latchkey.kv.namespace': namespace });
  return {
    get: (n, k, now) => storeCall(t, 'kv.get', ns(n), () => kv.get(n, k, now)),
    set: (n, k, entry, now, mode) => storeCall(t, 'kv.set', ns(n), () => kv.set(n, k, entry, now, mode)),
    take: (n, k, now) => storeCall(t, 'kv.take', ns(n), () => kv.take(n, k, now)),
    delete: (n, k) => storeCall(t, 'kv.delete', ns(n), () => kv.delete(n, k)),
    list: (n, limit, now) => storeCall(t, 'kv.list', ns(n), () => kv.list(n, limit, now)),
  };
}
