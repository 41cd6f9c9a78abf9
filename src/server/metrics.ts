/**
 * The service's metrics, served at `/metrics` in the Prometheus text
 * exposition format (version 0.0.4): session and token counters by outcome,
 * store errors, and request latency histograms by route.
 *
 * @module
 */
import type { Sessions } from '../core/sessions.js';

/** Default latency buckets, in seconds: 0.5 ms to 2.5 s. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

type Labels = Readonly<Record<string, string>>;

class Counter {
  readonly #values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const key = seriesKey(labels);
    const entry = this.#values.get(key);
    if (entry === undefined) this.#values.set(key, { labels, value: by });
    else entry.value += by;
  }
  entries(): Array<{ labels: Labels; value: number }> {
    return [...this.#values.values()].map((e) => ({ labels: e.labels, value: e.value }));
  }
  total(filter?: (labels: Labels) => boolean): number {
    let sum = 0;
    for (const { labels, value } of this.#values.values()) if (filter === undefined || filter(labels)) sum += value;
    return sum;
  }
  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    if (this.#values.size === 0) out += `${this.name} 0\n`;
    for (const { labels, value } of this.#values.values()) out += `${this.name}${labelText(labels)} ${value}\n`;
    return out;
  }
}

class Histogram {
  readonly #series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[] = BUCKETS,
  ) {}
  #total = 0;
  /** Observations over every series. */
  get total(): number {
    return this.#total;
  }
  observe(labels: Labels, seconds: number): void {
    this.#total++;
    const key = seriesKey(labels);
    let s = this.#series.get(key);
    if (s === undefined) {
      s = { labels, counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.#series.set(key, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (seconds <= (this.buckets[i] as number)) s.counts[i] = (s.counts[i] as number) + 1;
    s.sum += seconds;
    s.count++;
  }
  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    for (const { labels, counts, sum, count } of this.#series.values()) {
      for (let i = 0; i < this.buckets.length; i++) out += `${this.name}_bucket${labelText({ ...labels, le: String(this.buckets[i]) })} ${counts[i]}\n`;
      out += `${this.name}_bucket${labelText({ ...labels, le: '+Inf' })} ${count}\n`;
      out += `${this.name}_sum${labelText(labels)} ${sum}\n${this.name}_count${labelText(labels)} ${count}\n`;
    }
    return out;
  }
}

/** The identity of a series: its label values (label names are fixed per metric). Cheap, on the request path. */
function seriesKey(labels: Labels): string {
  let key = '';
  for (const k in labels) key += `${labels[k]}\u0000`;
  return key;
}

/** The lifecycle counters split by their `engine` label. */
function countsByKind(created: Counter, revoked: Counter, rotated: Counter): Record<string, KindCounts> {
  const out: Record<string, { created: number; revoked: number; rotated: number }> = {};
  const add = (c: Counter, field: 'created' | 'revoked' | 'rotated'): void => {
    for (const { labels, value } of c.entries()) {
      const kind = labels.engine ?? 'session';
      const row = (out[kind] ??= { created: 0, revoked: 0, rotated: 0 });
      row[field] += value;
    }
  };
  add(created, 'created');
  add(revoked, 'revoked');
  add(rotated, 'rotated');
  return out;
}

/** `{a="1",b="2"}`, escaped; at render time only. */
function labelText(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${(labels[k] as string).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

/** The lifecycle counts of one engine of the service (named by its kind). */
export interface KindCounts {
  readonly created: number;
  readonly revoked: number;
  readonly rotated: number;
}

/**
 * What the dashboard shows of the metrics. Two scopes, each said by its
 * label: `sessionsCreated`, `revoked` and `rotated` count every engine of
 * the service (`/v1` sessions, token families, the dashboard's and the
 * demo's sessions), and `byKind` splits them by engine, named by its kind
 * (a session or rotation is of its engine's kind; a revocation is counted by
 * the engine that made it, so `/v1`'s "log out everywhere" counts the token
 * families it ends under `session`); `validations`, `rejected` and
 * `rejectedByReason` count the validations of the `/v1` API only (the
 * dashboard's and the demo's own cookies are validated by their engines,
 * not counted there).
 */
export interface MetricsSnapshot {
  readonly sessionsCreated: number;
  readonly validations: number;
  readonly rejected: number;
  readonly rejectedByReason: Readonly<Record<string, number>>;
  readonly revoked: number;
  readonly rotated: number;
  readonly invalidTokens: number;
  readonly tokensIssued: number;
  readonly tokenRefreshes: number;
  readonly storeErrors: number;
  readonly requests: number;
  /** `sessionsCreated`, `revoked` and `rotated` by engine, named by its kind: `session`, `refresh`, `admin`, `demo`. */
  readonly byKind: Readonly<Record<string, KindCounts>>;
}

/** The service's metrics. */
export interface Metrics {
  /** `latchkey_sessions_created_total{engine}` */
  readonly created: Counter;
  /** `latchkey_sessions_validated_total{result}`: `valid` or the refusal reason. */
  readonly validated: Counter;
  /** `latchkey_sessions_revoked_total{engine,cause}` */
  readonly revoked: Counter;
  /** `latchkey_sessions_rotated_total{engine,cause}` */
  readonly rotated: Counter;
  /** `latchkey_invalid_tokens_total{carrier,reason}`: the engines' `invalid-token` reports. */
  readonly invalidTokens: Counter;
  /** `latchkey_tokens_issued_total` */
  readonly tokensIssued: Counter;
  /** `latchkey_token_refreshes_total{result}` */
  readonly tokenRefreshes: Counter;
  /** `latchkey_tokens_introspected_total{result}`: `active` or why the token is not. */
  readonly tokensIntrospected: Counter;
  /** `latchkey_store_errors_total` */
  readonly storeErrors: Counter;
  /** `latchkey_new_devices_total{engine}`: sign-ins from a device the user had not used (engines with `new-device` listeners). */
  readonly newDevices: Counter;
  /** `latchkey_api_key_rejections_total{reason}` */
  readonly apiKeyRejections: Counter;
  /** `latchkey_http_request_duration_seconds{method,route,status}` */
  readonly requestDuration: Histogram;
  /** Counts an engine's lifecycle events (created, rotated, revoked), labelled `engine` with its `kind`, and its invalid-token reports. */
  watch(engine: Sessions, kind: string): () => void;
  snapshot(): MetricsSnapshot;
  /** The exposition text. */
  render(): string;
}

/** Creates the service's metrics. */
export function createMetrics(): Metrics {
  const created = new Counter('latchkey_sessions_created_total', 'Sessions created, by engine (its kind: session, refresh, admin, demo).');
  const validated = new Counter('latchkey_sessions_validated_total', 'Session validations through the /v1 API, by result (valid or the refusal reason).');
  const revoked = new Counter('latchkey_sessions_revoked_total', 'Sessions revoked, by the engine that revoked them (its kind) and cause.');
  const rotated = new Counter('latchkey_sessions_rotated_total', 'Session tokens rotated, by engine (its kind) and cause.');
  const invalidTokens = new Counter(
    'latchkey_invalid_tokens_total',
    'Tokens refused as malformed, unknown or revoked, by carrier and reason; counted when reported, at the end of each client window.',
  );
  const tokensIssued = new Counter('latchkey_tokens_issued_total', 'Token pairs issued at sign-in.');
  const tokenRefreshes = new Counter('latchkey_token_refreshes_total', 'Refresh-token rotations, by result.');
  const tokensIntrospected = new Counter('latchkey_tokens_introspected_total', 'Access tokens introspected, by result (active or why not).');
  const storeErrors = new Counter('latchkey_store_errors_total', 'Requests that failed because the store was unavailable.');
  const newDevices = new Counter('latchkey_new_devices_total', 'Sign-ins from a device the user had not signed in from, by engine (its kind).');
  const apiKeyRejections = new Counter('latchkey_api_key_rejections_total', 'API requests refused for their API key, by reason.');
  const requestDuration = new Histogram('latchkey_http_request_duration_seconds', 'Time to answer HTTP requests, by method, route and status.');
  const started = Date.now() / 1000;
  const all = [created, validated, revoked, rotated, invalidTokens, tokensIssued, tokenRefreshes, tokensIntrospected, storeErrors, apiKeyRejections, newDevices];
  return {
    created,
    validated,
    revoked,
    rotated,
    invalidTokens,
    tokensIssued,
    tokenRefreshes,
    tokensIntrospected,
    storeErrors,
    apiKeyRejections,
    newDevices,
    requestDuration,
    watch(engine, kind) {
      const labels = { engine: kind };
      const offs = [
        engine.on('created', () => created.inc(labels)),
        engine.on('rotated', (e) => rotated.inc({ engine: kind, cause: e.cause })),
        engine.on('revoked', (e) => revoked.inc({ engine: kind, cause: e.cause })),
        engine.on('new-device', () => newDevices.inc(labels)),
        // Labels from a fixed set: the engine reports a carrier outside of it as null.
        engine.on('invalid-token', (e) => invalidTokens.inc({ carrier: e.carrier ?? 'none', reason: e.reason }, e.count)),
      ];
      return () => offs.forEach((off) => off());
    },
    snapshot() {
      const byReason: Record<string, number> = {};
      for (const { labels, value } of validated.entries()) {
        const result = labels.result ?? 'unknown';
        if (result !== 'valid') byReason[result] = (byReason[result] ?? 0) + value;
      }
      return {
        sessionsCreated: created.total(),
        validations: validated.total(),
        rejected: validated.total((l) => l.result !== 'valid'),
        rejectedByReason: byReason,
        revoked: revoked.total(),
        rotated: rotated.total(),
        invalidTokens: invalidTokens.total(),
        tokensIssued: tokensIssued.total(),
        tokenRefreshes: tokenRefreshes.total(),
        storeErrors: storeErrors.total(),
        requests: requestDuration.total,
        byKind: countsByKind(created, revoked, rotated),
      };
    },
    render() {
      const mem = process.memoryUsage();
      return (
        all.map((c) => c.render()).join('') +
        requestDuration.render() +
        `# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds ${started}\n` +
        `# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes ${mem.rss}\n`
      );
    },
  };
}

export type { Counter, Histogram };
