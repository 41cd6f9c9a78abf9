/**
 * The options of `createSessions()` and their normalisation: checked once,
 * at construction, into an {@link EngineConfig} of plain fields that the
 * engine's hot path reads. The caller's object is only read, never kept or
 * changed.
 *
 * @module
 */
import { positiveInt } from '../arguments.js';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { describe, durationOption, type Duration } from '../duration.js';
import { ConfigError } from '../errors.js';
import type { GuessingPolicy } from '../guessing.js';
import { checkOptionKeys, refuseUnknownKeys } from '../option-keys.js';
import { kindOption } from '../kinds.js';
import { requireKeyValues } from '../key-values.js';
import { timeoutPolicy, type BindingAction, type BindingPolicy, type RenewalPolicy, type TimeoutPolicy } from '../policy.js';
import type { Store } from '../store.js';
import { storeTimeoutMs } from '../store-call.js';
import { telemetryOption, type Telemetry, type TelemetryApi } from '../telemetry.js';

/** Options of `createSessions()`. Every field but `store` has a secure default; any other key is refused. */
export interface SessionsOptions {
  /**
   * Where sessions live: `memoryStore()`, `sqliteStore()`, or any {@link Store}.
   * The engine never closes it: whoever opened it closes it, after the
   * engine (several engines may share one store).
   */
  store: Store;
  /**
   * A session unused for this long expires (sliding).
   * @default '30m'
   */
  idleTimeout?: Duration;
  /**
   * A session expires this long after it was created, however active.
   * @default '12h'
   */
  absoluteTimeout?: Duration;
  /**
   * Minimum time between two store writes that extend the idle deadline. A
   * session in constant use costs one write per interval, not one per request;
   * the effective idle timeout lies between `idleTimeout - touchInterval` and
   * `idleTimeout`.
   * @default one tenth of idleTimeout, at most '1m'
   */
  touchInterval?: Duration;
  /**
   * The most sessions a user may hold at once. With `onLimit: 'evict-oldest'`
   * (the default) the oldest are revoked to make room; with `'refuse'`,
   * `create()` throws a `SessionLimitError`.
   * @default unlimited
   */
  maxSessionsPerUser?: number | { limit: number; onLimit?: 'evict-oldest' | 'refuse' };
  /**
   * Bind a session to the client it was created from.
   * @default off
   */
  binding?: {
    /** Compare the exact user agent. @default true */
    userAgent?: boolean;
    /** Compare the IP address prefix: `true` for /24 (IPv4) and /64 (IPv6), or the prefix lengths. @default false */
    ip?: boolean | { v4?: number; v6?: number };
    /**
     * On mismatch: `'ignore'`; `'log'` (emit an `anomaly` event, accept);
     * `'reauth'` (refuse this request with reason `binding-mismatch`, keep the
     * session for its rightful client); `'revoke'` (refuse and revoke).
     * @default 'reauth'
     */
    onMismatch?: BindingAction;
  };
  /**
   * Automatic token renewal. A renewed token is returned by `validate()` as
   * `renewed.token`; the old one keeps working for `overlap` so that requests
   * already in flight are not logged out.
   * @default off
   */
  renewal?: {
    /** Rotate a token once it is this old. */
    interval?: Duration;
    /** Rotate a token presented after this long unused. */
    afterIdle?: Duration;
    /** @default '30s' */
    overlap?: Duration;
  };
  /**
   * How long a revoked or replaced token is still recognised, so that
   * `validate()` answers `'revoked'` rather than `'unknown'`.
   * @default '1h'
   */
  revokedRetention?: Duration;
  /**
   * Count invalid tokens per client IP; `threshold` within `window` raises an
   * `anomaly` event and makes `throttled(ip)` answer true. `false` turns the
   * throttle off. `window` and `maxClients` also bound the `invalid-token`
   * reports (one per client IP, carrier and reason per window, at most
   * `maxClients` windows open at once), which `false` leaves on, at their
   * defaults.
   * @default { threshold: 20, window: '1m', maxClients: 10000 }
   */
  guessing?: false | { threshold?: number; window?: Duration; maxClients?: number };
  /**
   * Largest JSON size of the data given to one `create()` or `patch()`.
   * @default 65536
   */
  maxDataBytes?: number;
  /**
   * How often expired records are removed, for stores that do not expire
   * records by themselves. `false` to sweep only when you call `sweep()`.
   * @default '5m'
   */
  sweepInterval?: Duration | false;
  /**
   * How long one store operation may take before it fails with
   * `StoreUnavailableError` (adapters answer 503). A network store's call is
   * bounded by a timer; an in-process store is given the bound and keeps to
   * it itself (SQLite's waits for another process's lock, which never block
   * the event loop for more than a few milliseconds at a time); the memory
   * store never waits.
   * @default '2s'
   */
  storeTimeout?: Duration;
  /**
   * An in-process cache of validated sessions: a `validate()` whose session
   * was read from the store less than `staleness` ago answers without a store
   * round trip. The secret is still checked (constant time, against the
   * cached hash) and timeouts, binding, renewal and touch still apply; the
   * writes (patch, rotate, revoke, revokeUser, expiry, renewal) of every
   * engine of this process over the same store object drop what they change
   * at once.
   *
   * Changes made by other processes reach the cache through the store's
   * invalidation messages (`capabilities.invalidations`: Redis pub/sub,
   * PostgreSQL LISTEN/NOTIFY), typically within milliseconds; while that
   * subscription is down, the cache is bypassed. `staleness` is the hard
   * bound: the longest a cached session is trusted without a store read, so
   * the longest another process's revocation can go unseen if an
   * announcement is lost. With a store that announces nothing (memory,
   * SQLite shared by several processes), it is the only bound.
   *
   * @default off (every validation reads the store)
   * @example
   * ```ts
   * const sessions = createSessions({ store: redisStore({ url }), cache: { staleness: '5s' } });
   * ```
   */
  cache?: false | {
    /** The longest a cached session is trusted without a store read, e.g. `'5s'`. Required. */
    staleness: Duration;
    /**
     * Most sessions kept; the oldest-filled is evicted first.
     * @default 10000
     */
    maxEntries?: number;
  };
  /**
   * The kind of this engine's records, when several engines share one store
   * (cookie sessions, token-mode refresh families, an admin area): each
   * engine writes records of its kind and honours only their tokens. A token
   * of another kind is `'unknown'` to `validate()` and `rotate()`, and
   * nothing about its record is touched, renewed or revoked. The user's
   * session limit (`maxSessionsPerUser`) and the `new-device` check count
   * this kind's sessions only. Calls by handle (`get`, `patch`, `revoke`)
   * reach records of every kind, and so do calls by user (`list`,
   * `revokeUser`: "log out everywhere" means everywhere) unless given
   * `kinds`: they are the operator's. A lower-case name: a letter, then up
   * to 31 letters, digits or `-`.
   * @default 'session'
   * @example
   * ```ts
   * const cookies = createSessions({ store });                                   // kind 'session'
   * const families = createSessions({ store, kind: 'refresh', idleTimeout: '14d' }); // token mode's engine
   * ```
   */
  kind?: string;
  /** The time source. @default the system clock */
  clock?: Clock;
  /** Called with errors of event listeners and background sweeps. @default none */
  onError?: (error: unknown) => void;
  /**
   * OpenTelemetry: pass the `@opentelemetry/api` module (an optional peer
   * dependency, never imported by latchkey itself) to get a span for each
   * `create`, `validate`, `rotate`, `revoke` and `revokeUser`, a child span
   * for each store call, and the metrics `latchkey.validations` and
   * `latchkey.store.duration`, through the providers the application
   * registered. Attributes carry handles, never tokens or secrets. Absent:
   * nothing is traced and nothing is added to any call. See
   * docs/observability.md.
   */
  telemetry?: TelemetryApi;
}

/** The options of `createSessions()`, checked and normalised: what the engine reads. */
export interface EngineConfig {
  readonly store: Store;
  readonly clock: Clock;
  /** The kind of this engine's records: it honours tokens of this kind only. */
  readonly kind: string;
  readonly onError: (error: unknown) => void;
  /** The engine's instruments, or `null` without the `telemetry` option. */
  readonly telemetry: Telemetry | null;
  /** The timer armed around each store call, in ms; 0 for in-process stores (see `storeTimeoutMs`). */
  readonly storeTimeoutMs: number;
  readonly timeouts: TimeoutPolicy;
  readonly limit: { readonly max: number; readonly onLimit: 'evict-oldest' | 'refuse' } | null;
  /** Client binding, or `null` when nothing is compared (unset, or `onMismatch: 'ignore'`). */
  readonly binding: (BindingPolicy & { readonly onMismatch: Exclude<BindingAction, 'ignore'> }) | null;
  readonly renewal: RenewalPolicy | null;
  /** How long a revoked or replaced record is kept as a tombstone. */
  readonly retentionMs: number;
  readonly maxDataBytes: number;
  /** The background sweep's period, or `null` for none (off, or a store that expires records by itself). */
  readonly sweepMs: number | null;
  readonly cache: { readonly maxEntries: number; readonly stalenessMs: number } | null;
  /** The invalid-token throttle (`threshold` 0: off). */
  readonly guessing: GuessingPolicy;
  /** The window and bound of `invalid-token` reports, which `guessing: false` leaves on. */
  readonly reports: { readonly windowMs: number; readonly maxClients: number };
}

/** Every key of {@link SessionsOptions}; the compiler checks that none is missing. */
const OPTION_KEYS = [
  'store',
  'idleTimeout',
  'absoluteTimeout',
  'touchInterval',
  'maxSessionsPerUser',
  'binding',
  'renewal',
  'revokedRetention',
  'guessing',
  'maxDataBytes',
  'sweepInterval',
  'storeTimeout',
  'cache',
  'kind',
  'clock',
  'onError',
  'telemetry',
] as const satisfies readonly (keyof SessionsOptions)[];
// A key added to SessionsOptions but not to OPTION_KEYS would be refused at run time: make it a compile error instead.
type Unlisted = Exclude<keyof SessionsOptions, (typeof OPTION_KEYS)[number]>;
const allListed: [Unlisted] extends [never] ? true : Unlisted = true;
void allListed;

const OWNER = 'createSessions()';

/** Options of earlier versions, refused with what replaced them. */
const RETIRED: Readonly<Record<string, string>> = {
  accepts:
    "records know their kind: give each engine that shares the store a kind of its own (kind: 'refresh' for token mode, kind: 'admin'...); an engine honours only tokens of its kind",
};

/**
 * Checks and normalises the options of `createSessions()`.
 *
 * @throws {TypeError} when `options` is not an object
 * @throws {ConfigError} for an unknown key or a bad value, with a message that says how to fix it
 * @example
 * ```ts
 * const config = sessionsConfig({ store: memoryStore(), idleTimeout: '15m' });
 * config.timeouts.idleMs; // 900000
 * ```
 */
export function sessionsConfig(o: SessionsOptions): EngineConfig {
  checkOptionKeys(o, OWNER, OPTION_KEYS, { retired: RETIRED });
  const store = o.store;
  if (store === null || typeof store !== 'object' || typeof store.get !== 'function' || store.capabilities === undefined) {
    throw new ConfigError('store must be a latchkey Store, e.g. memoryStore() from latchkey/stores/memory or sqliteStore() from latchkey/stores/sqlite');
  }
  requireKeyValues(store);
  const timeouts = timeoutPolicy(o);
  const limit = limitOption(o.maxSessionsPerUser);
  const binding = bindingOption(o.binding);
  const renewal = renewalOption(o.renewal);
  const maxDataBytes = positiveInt('maxDataBytes', o.maxDataBytes ?? 65_536);
  const sweepMs = o.sweepInterval === false ? null : durationOption('sweepInterval', o.sweepInterval ?? '5m', { min: 1000 });
  const retentionMs = durationOption('revokedRetention', o.revokedRetention ?? '1h');
  const cache = cacheOption(o.cache);
  const kind = kindOption(o.kind);
  const { guessing, reports } = guessingOption(o.guessing);
  const timeoutMs = storeTimeoutMs(store, o.storeTimeout);
  if (cache !== null && store.capabilities.invalidations === true && typeof store.subscribe !== 'function') {
    throw new ConfigError('the store declares capabilities.invalidations but has no subscribe() method');
  }
  return {
    store,
    clock: o.clock ?? systemClock,
    kind,
    onError: o.onError ?? ignore,
    telemetry: telemetryOption(o.telemetry),
    storeTimeoutMs: timeoutMs,
    timeouts,
    limit,
    binding,
    renewal,
    retentionMs,
    maxDataBytes,
    sweepMs: store.capabilities.expiresByItself ? null : sweepMs,
    cache,
    guessing,
    reports,
  };
}

const ignore = (): void => {};

/** A nested options object: absent, or an object whose keys are all known. */
function nested<T>(name: string, value: T | undefined, known: readonly string[], shape: string): T | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object') throw new ConfigError(`${name} must be ${shape}`);
  refuseUnknownKeys(value, known, OWNER, name);
  return value;
}

function limitOption(m: SessionsOptions['maxSessionsPerUser']): EngineConfig['limit'] {
  if (m === undefined) return null;
  if (typeof m === 'number') return { max: positiveInt('maxSessionsPerUser', m), onLimit: 'evict-oldest' };
  const o = nested('maxSessionsPerUser', m, ['limit', 'onLimit'], 'a number or { limit, onLimit }') as Exclude<typeof m, number>;
  const onLimit = o.onLimit ?? 'evict-oldest';
  if (onLimit !== 'evict-oldest' && onLimit !== 'refuse') {
    throw new ConfigError(`maxSessionsPerUser.onLimit must be 'evict-oldest' or 'refuse' (got ${describe(onLimit)})`);
  }
  return { max: positiveInt('maxSessionsPerUser', o.limit), onLimit };
}

function bindingOption(value: SessionsOptions['binding']): EngineConfig['binding'] {
  const b = nested('binding', value, ['userAgent', 'ip', 'onMismatch'], 'an object { userAgent?, ip?, onMismatch? }');
  if (b === undefined) return null;
  const onMismatch = b.onMismatch ?? 'reauth';
  if (!['ignore', 'log', 'reauth', 'revoke'].includes(onMismatch)) {
    throw new ConfigError(`binding.onMismatch must be 'ignore', 'log', 'reauth' or 'revoke' (got ${describe(onMismatch)})`);
  }
  let ip: BindingPolicy['ip'] = null;
  if (b.ip === true) ip = { v4: 24, v6: 64 };
  else if (b.ip !== undefined && b.ip !== false) {
    const p = nested('binding.ip', b.ip, ['v4', 'v6'], 'a boolean or { v4?, v6? }') as { v4?: number; v6?: number };
    ip = { v4: prefix('binding.ip.v4', p.v4 ?? 24, 32), v6: prefix('binding.ip.v6', p.v6 ?? 64, 128) };
  }
  const userAgent = b.userAgent ?? true;
  if (!userAgent && ip === null) throw new ConfigError('binding is set but binds nothing: enable binding.userAgent or binding.ip');
  // 'ignore' compares nothing: the engine is configured as if binding were unset.
  return onMismatch === 'ignore' ? null : { userAgent, ip, onMismatch };
}

function renewalOption(value: SessionsOptions['renewal']): RenewalPolicy | null {
  const r = nested('renewal', value, ['interval', 'afterIdle', 'overlap'], 'an object { interval?, afterIdle?, overlap? }');
  if (r === undefined) return null;
  const intervalMs = r.interval !== undefined ? durationOption('renewal.interval', r.interval, { min: 1000 }) : 0;
  const afterIdleMs = r.afterIdle !== undefined ? durationOption('renewal.afterIdle', r.afterIdle, { min: 1000 }) : 0;
  if (intervalMs === 0 && afterIdleMs === 0) throw new ConfigError('renewal needs renewal.interval or renewal.afterIdle');
  const overlapMs = durationOption('renewal.overlap', r.overlap ?? '30s');
  if (overlapMs > 600_000) throw new ConfigError('renewal.overlap must be at most 10 minutes: an old token should not outlive its use');
  return { intervalMs, afterIdleMs, overlapMs };
}

function cacheOption(value: SessionsOptions['cache']): EngineConfig['cache'] {
  if (value === false) return null;
  const c = nested('cache', value, ['staleness', 'maxEntries'], 'false or { staleness, maxEntries? }');
  if (c === undefined) return null;
  if (c.staleness === undefined) {
    throw new ConfigError("cache needs staleness: the longest a cached session is trusted without a store read, e.g. '5s'");
  }
  return { stalenessMs: durationOption('cache.staleness', c.staleness, { min: 1 }), maxEntries: positiveInt('cache.maxEntries', c.maxEntries ?? 10_000) };
}

function guessingOption(g: SessionsOptions['guessing']): Pick<EngineConfig, 'guessing' | 'reports'> {
  if (g === false) return { guessing: { threshold: 0, windowMs: 1, maxClients: 1 }, reports: { windowMs: 60_000, maxClients: 10_000 } };
  const o = nested('guessing', g, ['threshold', 'window', 'maxClients'], 'false or { threshold?, window?, maxClients? }');
  const windowMs = durationOption('guessing.window', o?.window ?? '1m', { min: 1 });
  const maxClients = positiveInt('guessing.maxClients', o?.maxClients ?? 10_000);
  return { guessing: { threshold: positiveInt('guessing.threshold', o?.threshold ?? 20), windowMs, maxClients }, reports: { windowMs, maxClients } };
}

function prefix(name: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new ConfigError(`${name} must be a prefix length from 0 to ${max} (got ${describe(v)})`);
  }
  return v;
}
