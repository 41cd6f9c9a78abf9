/**
 * The session engine: create, validate, touch, rotate, patch, revoke and list
 * sessions over a {@link Store}. It knows nothing about HTTP; adapters feed it
 * tokens and client context.
 *
 * @module
 */
import { SessionCache } from './cache.js';
import { registerEngine } from './engine-internals.js';
import { announceLocally, watchInvalidations } from './invalidations.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { describe, durationOption, type Duration } from './duration.js';
import { authLevelArg, normaliseData, normalisePatch, positiveInt, userIdArg } from './arguments.js';
import { ClosedError, ConfigError, SessionLimitError, StoreUnavailableError } from './errors.js';
import { Emitter, type Listener, type SessionEvents } from './events.js';
import { GuessingMonitor } from './guessing.js';
import { InvalidTokenReports, type ReportedReason } from './invalid-tokens.js';
import { parseUserAgent } from './device.js';
import { ipBytes } from './ip.js';
import type { ClientInfo, ClientRecord, DeviceSession, Session, SessionData, SessionRecord } from './model.js';
import { toSession } from './model.js';
import {
  bindingMismatch,
  expiryOf,
  isFresh,
  needsRenewal,
  needsTouch,
  nextIdleDeadline,
  type BindingAction,
  type BindingPolicy,
  type RenewalPolicy,
  type TimeoutPolicy,
} from './policy.js';
import type { DataPatch, Store } from './store.js';
import { callStore, storeError, storeTimeoutMs, withTimeout } from './store-call.js';
import { hashSecret, isHandle, mintToken, parseToken, secretMatches } from './token.js';
import { repeat, type StopTimer } from './timers.js';

/** Options of {@link createSessions}. Every field but `store` has a secure default. */
export interface SessionsOptions {
  /** Where sessions live: `memoryStore()`, `sqliteStore()`, or any {@link Store}. */
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
   * Which records this engine honours tokens of, when several engines share
   * one store (cookie sessions, token-mode refresh families, an admin area):
   * a token whose record fails the test is `'unknown'` to `validate()` and
   * `rotate()`, and nothing about the record is touched, renewed or revoked.
   * Calls by handle or by user (`get`, `patch`, `revoke`, `revokeUser`,
   * `list`) are not filtered: they are the operator's.
   * @default every record
   * @example
   * ```ts
   * const admin = createSessions({ store, accepts: (r) => r.userId === null || r.userId === 'admin' });
   * ```
   */
  accepts?: (record: Pick<SessionRecord, 'userId' | 'data'>) => boolean;
  /** The time source. @default the system clock */
  clock?: Clock;
  /** Called with errors of event listeners and background sweeps. @default none */
  onError?: (error: unknown) => void;
}

/** Why `validate()` refused a token. */
export type InvalidReason =
  | 'malformed'
  | 'unknown'
  | 'expired-idle'
  | 'expired-absolute'
  | 'revoked'
  | 'binding-mismatch';

/** Options of {@link Sessions.validate}. */
export interface ValidateOptions {
  /** The client presenting the token: for binding, the invalid-token throttle and reports. */
  client?: ClientInfo;
  /**
   * Where the token travelled, for `invalid-token` events: a short lower-case
   * label (letters, digits, `-`, at most 16 characters), such as the HTTP
   * layer's `'cookie'`, `'bearer'`, `'url'`, `'form'`. Anything else is
   * reported as `null`.
   * @default null
   */
  carrier?: string;
}

/** Result of {@link Sessions.validate}. */
export type ValidateResult =
  | {
      readonly ok: true;
      readonly session: Session;
      /** Present when the token was renewed: send `token` to the client in place of the old one. */
      readonly renewed?: { readonly token: string };
    }
  | { readonly ok: false; readonly reason: InvalidReason };

/** Result of {@link Sessions.rotate}. */
export type RotateResult =
  | { readonly ok: true; readonly token: string; readonly session: Session }
  | { readonly ok: false; readonly reason: InvalidReason | 'conflict' };

/** Result of {@link Sessions.patch}. */
export type PatchResult =
  | { readonly ok: true; readonly version: number; readonly data: SessionData }
  | { readonly ok: false; readonly reason: 'not-found' | 'conflict' };

/** Input of {@link Sessions.create}. */
export interface CreateInput {
  /** The signed-in user; omit for an anonymous session. */
  userId?: string | null;
  /** Initial data (JSON). */
  data?: Record<string, unknown>;
  /** The client the session is created for. */
  client?: ClientInfo;
  /** Strength of the authentication that created the session. @default 0 */
  authLevel?: number;
}

/** Options of {@link Sessions.rotate}. */
export interface RotateOptions {
  /**
   * Sign in (or switch) to this user: the new token belongs to `userId` and
   * `authTime` becomes now. An anonymous session's data is kept; a session of
   * another user starts with empty data. `null` signs out but keeps the data.
   */
  userId?: string | null;
  /** Record a (re-)authentication now, without changing the user. */
  authenticated?: boolean;
  /** New authentication level. */
  authLevel?: number;
  /** After rotating, revoke every other session of the user (password change). */
  revokeOthers?: boolean;
  /** The client, for the new-device check and binding of the new token. */
  client?: ClientInfo;
  /**
   * Give the new record this token instead of a fresh random one, for
   * `latchkey/tokens`, whose refresh rotation derives each successor from the
   * presented token with a server-side key (so that concurrent refreshes agree
   * on it without storing it). The old record becomes a `'revoked'` tombstone
   * that names the successor (lineage for theft detection; the engine never
   * follows it) and is kept until its own deadline. The caller vouches for the
   * secret's 256 bits of entropy. Refused (`'conflict'`) when the presented
   * token is only valid through a renewal overlap.
   * @internal
   */
  successor?: { readonly handle: string; readonly secret: string };
}

/** The session engine returned by {@link createSessions}. */
export interface Sessions {
  /** Creates a session with a fresh token. Tokens are never chosen by the caller (no fixation). */
  create(input?: CreateInput): Promise<{ token: string; session: Session }>;
  /**
   * Checks a token. Never throws for bad tokens: the result says why. Writes
   * to the store only to extend the idle deadline (throttled by
   * `touchInterval`) or to renew the token. A refusal is counted against
   * `client.ip` (see `guessing`) and reported in an `invalid-token` event
   * with `carrier`.
   */
  validate(token: unknown, options?: ValidateOptions): Promise<ValidateResult>;
  /** Issues a new token for the session and kills the old one at once. */
  rotate(token: unknown, options?: RotateOptions): Promise<RotateResult>;
  /**
   * Sets and removes data keys of a session, leaving every other key as it is
   * in the store. With `expectVersion`, applies only if nobody changed the
   * data since that version (compare-and-set).
   */
  patch(handle: string, patch: DataPatch, options?: { expectVersion?: number }): Promise<PatchResult>;
  /** The active session with this handle, or `null`. Does not touch it. */
  get(handle: string): Promise<Session | null>;
  /** Revokes one session at once. Resolves whether it was active. */
  revoke(handle: string): Promise<boolean>;
  /** "Log out everywhere": revokes every session of a user, but `except`. Resolves the revoked handles. */
  revokeUser(userId: string, options?: { except?: string }): Promise<string[]>;
  /** A user's live sessions, for a "your devices" page, oldest first. */
  list(userId: string): Promise<DeviceSession[]>;
  /** Whether the session's last authentication is younger than `maxAge`. */
  isFresh(session: Pick<Session, 'authTime'>, maxAge: Duration): boolean;
  /** Seconds a client IP must wait after a burst of invalid tokens, or 0. */
  throttled(ip: string): number;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof SessionEvents>(event: K, listener: Listener<K>): () => void;
  /** Removes expired records now. Resolves how many. */
  sweep(): Promise<number>;
  /** Stops the background sweep and closes the store. */
  close(): Promise<void>;
}

interface Config {
  timeouts: TimeoutPolicy;
  limit: { max: number; onLimit: 'evict-oldest' | 'refuse' } | null;
  binding: BindingPolicy | null;
  renewal: RenewalPolicy | null;
  retentionMs: number;
  maxDataBytes: number;
  sweepMs: number | null;
  cache: { maxEntries: number; stalenessMs: number } | null;
}

const MAX_UA = 512;
/** A carrier label as `invalid-token` events report it; anything else is `null` (no caller-made string grows the report map). */
const CARRIER_LABEL = /^[a-z][a-z0-9-]{0,15}$/;

/**
 * Creates the session engine.
 *
 * @example
 * ```ts
 * import { createSessions } from 'latchkey';
 * import { sqliteStore } from 'latchkey/stores/sqlite';
 *
 * const sessions = createSessions({ store: sqliteStore({ path: 'sessions.db' }), idleTimeout: '30m' });
 * const { token } = await sessions.create({ userId: 'u1', client: { ip, userAgent } });
 * const result = await sessions.validate(token, { client: { ip, userAgent } });
 * if (result.ok) console.log(result.session.userId);
 * ```
 */
export function createSessions(options: SessionsOptions): Sessions {
  if (options === null || typeof options !== 'object') throw new TypeError('createSessions() takes an options object');
  const store = options.store;
  if (store === null || typeof store !== 'object' || typeof store.get !== 'function' || store.capabilities === undefined) {
    throw new ConfigError('store must be a latchkey Store, e.g. memoryStore() from latchkey/stores/memory or sqliteStore() from latchkey/stores/sqlite');
  }
  const cfg = normalise(options);
  const clock = options.clock ?? systemClock;
  if (options.accepts !== undefined && typeof options.accepts !== 'function') throw new ConfigError('accepts must be a function (record) => boolean');
  const accepts: (record: SessionRecord) => boolean = options.accepts ?? (() => true);
  const onError = options.onError ?? (() => {});
  const events = new Emitter(onError);
  const g = options.guessing;
  const guessingWindowMs = g === false ? 60_000 : durationOption('guessing.window', g?.window ?? '1m', { min: 1 });
  const guessingClients = g === false ? 10_000 : positiveInt('guessing.maxClients', g?.maxClients ?? 10_000);
  const guessing = new GuessingMonitor(
    g === false
      ? { threshold: 0, windowMs: 1, maxClients: 1 }
      : { threshold: positiveInt('guessing.threshold', g?.threshold ?? 20), windowMs: guessingWindowMs, maxClients: guessingClients },
  );
  const reports = new InvalidTokenReports(guessingWindowMs, guessingClients, () => clock.now(), (e) => events.emit('invalid-token', e));
  const uaCache = new Map<string, string>();
  let closed = false;
  let sweeping: Promise<number> | null = null;

  // The sweeper starts with the first store call, not here: construction has no
  // timers (a Workers module's global scope refuses them), and an engine never
  // used never ticks.
  let stopSweeper: StopTimer | null = null;
  let sweeperDue = cfg.sweepMs !== null && !store.capabilities.expiresByItself;
  function startSweeper(): void {
    sweeperDue = false;
    stopSweeper = repeat(() => {
      sweepNow().catch(onError);
    }, cfg.sweepMs as number);
  }

  const timeoutMs = storeTimeoutMs(store, options.storeTimeout);

  let cache: SessionCache | null = null;
  let unwatch: (() => Promise<void>) | null = null;
  if (cfg.cache !== null) {
    const announced = store.capabilities.invalidations === true;
    if (announced && typeof store.subscribe !== 'function') {
      throw new ConfigError('the store declares capabilities.invalidations but has no subscribe() method');
    }
    // Trusted at once when nothing is announced (staleness is the bound); otherwise once the subscription is live.
    const c = new SessionCache(cfg.cache.maxEntries, cfg.cache.stalenessMs, !announced);
    cache = c;
    unwatch = watchInvalidations(
      store,
      {
        invalidate: (message: unknown) => {
          if (message !== null && typeof message === 'object') c.apply(message);
          else c.clear();
        },
        status: (live: boolean) => c.setTrusted(live === true),
      },
      onError,
    );
  }

  /**
   * After one of the engine's own writes to a record (or a failed attempt,
   * which may have landed): every cache of this store in the process forgets it.
   */
  function forget(handle: string): void {
    if (cache !== null) cache.drop(handle);
    announceLocally(store, { handles: [handle] });
  }

  function call<T>(op: () => Promise<T>): Promise<T> {
    if (closed) return Promise.reject(new ClosedError('the session manager'));
    if (sweeperDue) startSweeper();
    return callStore(op, timeoutMs);
  }

  /** The hot path's store read: no closure, no extra async frame for in-process stores. */
  function getRecord(handle: string): Promise<SessionRecord | null> {
    if (closed) return Promise.reject(new ClosedError('the session manager'));
    if (sweeperDue) startSweeper();
    return timeoutMs === 0 ? store.get(handle) : withTimeout(store.get(handle), timeoutMs);
  }

  /** getRecord that fills the cache, unless something was invalidated while the read was under way. */
  async function getRecordCaching(handle: string): Promise<SessionRecord | null> {
    const c = cache as SessionCache;
    const at = clock.now();
    const generation = c.generation;
    const record = await getRecord(handle);
    if (record !== null) c.fill(record, at, generation);
    return record;
  }

  const read = cache === null ? getRecord : getRecordCaching;

  function clientRecord(client: ClientInfo | undefined): ClientRecord | null {
    if (client === undefined || client === null) return null;
    if (typeof client !== 'object') throw new TypeError('client must be an object { ip?, userAgent? }');
    const ip = typeof client.ip === 'string' && ipBytes(client.ip) !== null ? client.ip : null;
    let ua: string | null = typeof client.userAgent === 'string' && client.userAgent !== '' ? client.userAgent.slice(0, MAX_UA) : null;
    if (ua !== null) {
      // Many sessions share a few user agents: keep one copy of each.
      const known = uaCache.get(ua);
      if (known !== undefined) ua = known;
      else if (uaCache.size < 1000) uaCache.set(ua, ua);
    }
    if (ip === null && ua === null) return null;
    return { ip, userAgent: ua, device: parseUserAgent(ua) };
  }

  function failed(reason: ReportedReason, options: ValidateOptions | undefined, now: number): ValidateResult {
    const ip = options?.client?.ip;
    if (typeof ip === 'string' && ip !== '' && (reason === 'malformed' || reason === 'unknown')) {
      const count = guessing.fail(ip, now);
      if (count > 0) events.emit('anomaly', { kind: 'invalid-token-burst', ip, count, at: now });
    }
    // Counted only while someone listens: otherwise a refusal costs nothing more.
    if (events.has('invalid-token')) {
      const carrier = options?.carrier;
      reports.record(
        typeof ip === 'string' && ipBytes(ip) !== null ? ip : null,
        typeof carrier === 'string' && CARRIER_LABEL.test(carrier) ? carrier : null,
        reason,
        now,
      );
    }
    return { ok: false, reason };
  }

  /** Users' session limits and new-device events, before a session for `userId` is stored. */
  async function beforeSignIn(userId: string, client: ClientRecord | null, now: number, replacing: string | null): Promise<boolean> {
    const wantsDevice = client !== null && client.userAgent !== null && events.has('new-device');
    if (cfg.limit === null && !wantsDevice) return false;
    const live = (await call(() => store.listUser(userId))).filter(
      (r) => r.handle !== replacing && expiryOf(r, now) === null,
    );
    if (cfg.limit !== null && live.length >= cfg.limit.max) {
      if (cfg.limit.onLimit === 'refuse') throw new SessionLimitError(cfg.limit.max);
      const excess = live.length - cfg.limit.max + 1;
      for (const r of live.slice(0, excess)) {
        const revoked = await call(() => store.revoke(r.handle, now + cfg.retentionMs)).finally(() => forget(r.handle));
        if (revoked) events.emit('revoked', { handle: r.handle, userId, cause: 'limit', at: now });
      }
    }
    return wantsDevice && !live.some((r) => r.client?.userAgent === client.userAgent);
  }

  function newRecord(
    base: { userId: string | null; createdAt: number; authTime: number | null; authLevel: number; data: SessionData; client: ClientRecord | null },
    now: number,
    given?: { readonly handle: string; readonly secret: string },
  ): { token: string; record: SessionRecord } {
    const minted =
      given === undefined
        ? mintToken()
        : { token: `${given.handle}.${given.secret}`, handle: given.handle, secretHash: hashSecret(given.secret) };
    const absoluteExpiresAt = base.createdAt + cfg.timeouts.absoluteMs;
    const idleExpiresAt = nextIdleDeadline(cfg.timeouts, absoluteExpiresAt, now);
    return {
      token: minted.token,
      record: {
        handle: minted.handle,
        secretHash: minted.secretHash,
        userId: base.userId,
        status: 'active',
        successor: null,
        createdAt: base.createdAt,
        issuedAt: now,
        lastSeenAt: now,
        authTime: base.authTime,
        authLevel: base.authLevel,
        idleExpiresAt,
        absoluteExpiresAt,
        expiresAt: Math.min(idleExpiresAt, absoluteExpiresAt),
        version: 1,
        data: base.data,
        client: base.client,
      },
    };
  }

  /** Finds the record a token stands for: verified secret, following a renewal overlap. */
  async function resolve(
    token: unknown,
    now: number,
  ): Promise<{ ok: true; record: SessionRecord; viaOverlap: boolean } | { ok: false; reason: InvalidReason }> {
    const parsed = parseToken(token);
    if (parsed === null) return { ok: false, reason: 'malformed' };
    const record = await call(() => store.get(parsed.handle));
    if (record === null || !secretMatches(parsed.secret, record.secretHash)) return { ok: false, reason: 'unknown' };
    if (record.status === 'active') return accepts(record) ? { ok: true, record, viaOverlap: false } : { ok: false, reason: 'unknown' };
    const found = await successorOf(record, now);
    return found.ok && !accepts(found.record) ? { ok: false, reason: 'unknown' } : found;
  }

  /** A verified tombstone: inside a renewal overlap it stands for its successor, otherwise it is revoked. */
  async function successorOf(record: SessionRecord, now: number): Promise<{ ok: true; record: SessionRecord; viaOverlap: true } | { ok: false; reason: 'revoked' }> {
    if (record.status === 'rotated' && record.successor !== null && now < record.expiresAt) {
      const next = await call(() => store.get(record.successor as string));
      if (next !== null && next.status === 'active') return { ok: true, record: next, viaOverlap: true };
    }
    return { ok: false, reason: 'revoked' };
  }

  async function expire(record: SessionRecord, kind: 'expired-idle' | 'expired-absolute', now: number): Promise<void> {
    const deleted = await call(() => store.delete(record.handle)).finally(() => forget(record.handle));
    if (deleted) {
      events.emit('expired', { handle: record.handle, userId: record.userId, kind: kind === 'expired-idle' ? 'idle' : 'absolute', at: now });
    }
  }

  async function renew(record: SessionRecord, renewal: RenewalPolicy, now: number): Promise<ValidateResult> {
    const { token, record: next } = newRecord(record, now);
    const replaced = await call(() =>
      store.replace(record.handle, record.version, next, { status: 'rotated', successor: next.handle, expiresAt: now + renewal.overlapMs }),
    ).finally(() => forget(record.handle));
    if (replaced) {
      events.emit('rotated', { from: record.handle, to: next.handle, userId: record.userId, cause: 'renewal', at: now });
      return { ok: true, session: toSession(next), renewed: { token } };
    }
    // Another request renewed (or changed) it first: answer with whatever the store now holds.
    const current = await call(() => store.get(record.handle));
    if (current === null) return { ok: false, reason: 'revoked' };
    if (current.status === 'active') return { ok: true, session: toSession(current) };
    const found = await successorOf(current, now);
    return found.ok ? { ok: true, session: toSession(found.record) } : found;
  }

  async function sweepNow(): Promise<number> {
    if (sweeping !== null) return sweeping;
    sweeping = (async () => {
      let total = 0;
      for (;;) {
        const n = await call(() => store.sweep(clock.now(), 1000));
        total += n;
        if (n < 1000) return total;
      }
    })();
    try {
      return await sweeping;
    } finally {
      sweeping = null;
    }
  }

  async function validatePlain(token: unknown, options?: ValidateOptions): Promise<ValidateResult> {
    const client = options?.client;
    const now = clock.now();
    // The common case inline (parse, one read, compare): it runs on every request.
    const parsed = parseToken(token);
    if (parsed === null) return failed('malformed', options, now);
    let record: SessionRecord | null;
    try {
      record = await read(parsed.handle);
    } catch (err) {
      throw storeError(err);
    }
    if (record === null || !secretMatches(parsed.secret, record.secretHash)) return failed('unknown', options, now);
    let viaOverlap = false;
    if (record.status !== 'active') {
      const found = await successorOf(record, now);
      if (!found.ok) return failed(found.reason, options, now);
      record = found.record;
      viaOverlap = true;
    }
    // Another engine's record: unknown here, and left exactly as it is.
    if (!accepts(record)) return failed('unknown', options, now);
    const expiry = expiryOf(record, now);
    if (expiry !== null) {
      await expire(record, expiry, now);
      return { ok: false, reason: expiry };
    }
    if (cfg.binding !== null && cfg.binding.onMismatch !== 'ignore') {
      const attribute = bindingMismatch(cfg.binding, record.client, client);
      if (attribute !== null && (await mismatched(cfg.binding.onMismatch, record, attribute, client, now))) {
        return { ok: false, reason: 'binding-mismatch' };
      }
    }
    if (!viaOverlap && cfg.renewal !== null && needsRenewal(cfg.renewal, record, now)) {
      return renew(record, cfg.renewal, now);
    }
    if (needsTouch(cfg.timeouts, record, now)) {
      const idleExpiresAt = nextIdleDeadline(cfg.timeouts, record.absoluteExpiresAt, now);
      const expiresAt = Math.min(idleExpiresAt, record.absoluteExpiresAt);
      await call(() => store.touch(record.handle, now, idleExpiresAt, expiresAt));
      if (cache !== null) cache.touched(record.handle, now, idleExpiresAt, expiresAt);
      return { ok: true, session: { ...toSession(record), lastSeenAt: now, idleExpiresAt } };
    }
    return { ok: true, session: toSession(record) };
  }

  /**
   * validate() with the cache on: a trusted, fresh cached record answers
   * without a store read; anything else (a miss, an expiry or a renewal to
   * decide, a touch the store refuses) goes to the store.
   */
  async function validateCached(token: unknown, options?: ValidateOptions): Promise<ValidateResult> {
    const c = cache as SessionCache;
    const now = clock.now();
    const parsed = parseToken(token);
    const record = parsed === null || closed ? null : c.lookup(parsed.handle, now);
    if (
      parsed !== null &&
      record !== null &&
      expiryOf(record, now) === null &&
      (cfg.renewal === null || !needsRenewal(cfg.renewal, record, now))
    ) {
      const client = options?.client;
      if (!secretMatches(parsed.secret, record.secretHash) || !accepts(record)) return failed('unknown', options, now);
      if (cfg.binding !== null && cfg.binding.onMismatch !== 'ignore') {
        const attribute = bindingMismatch(cfg.binding, record.client, client);
        if (attribute !== null && (await mismatched(cfg.binding.onMismatch, record, attribute, client, now))) {
          return { ok: false, reason: 'binding-mismatch' };
        }
      }
      if (!needsTouch(cfg.timeouts, record, now)) return { ok: true, session: toSession(record) };
      const idleExpiresAt = nextIdleDeadline(cfg.timeouts, record.absoluteExpiresAt, now);
      const expiresAt = Math.min(idleExpiresAt, record.absoluteExpiresAt);
      if (await call(() => store.touch(record.handle, now, idleExpiresAt, expiresAt))) {
        c.touched(record.handle, now, idleExpiresAt, expiresAt);
        return { ok: true, session: { ...toSession(record), lastSeenAt: now, idleExpiresAt } };
      }
      // The store no longer holds it active: it changed unannounced. Let the store answer.
      c.drop(record.handle);
    } else if (record !== null) {
      // Expired or due for renewal by the cached copy, which may be behind the store: the store decides.
      c.drop(record.handle);
    }
    return validatePlain(token, options);
  }

  /** Reports a binding mismatch and applies the policy; resolves whether the request is refused. */
  async function mismatched(
    action: Exclude<BindingAction, 'ignore'>,
    record: SessionRecord,
    attribute: 'user-agent' | 'ip',
    client: ClientInfo | undefined,
    now: number,
  ): Promise<boolean> {
    events.emit('anomaly', {
      kind: 'binding-mismatch',
      handle: record.handle,
      userId: record.userId,
      attribute,
      action,
      ip: typeof client?.ip === 'string' ? client.ip : null,
      at: now,
    });
    if (action === 'revoke') {
      const revoked = await call(() => store.revoke(record.handle, now + cfg.retentionMs)).finally(() => forget(record.handle));
      if (revoked) events.emit('revoked', { handle: record.handle, userId: record.userId, cause: 'binding', at: now });
    }
    return action !== 'log';
  }

  const api: Sessions = {
    async create(input = {}) {
      if (input === null || typeof input !== 'object') throw new TypeError('create() takes an object { userId?, data?, client?, authLevel? }');
      const userId = userIdArg(input.userId);
      const data = input.data === undefined ? EMPTY : normaliseData(input.data, cfg.maxDataBytes);
      const authLevel = authLevelArg(input.authLevel ?? 0);
      const client = clientRecord(input.client);
      const now = clock.now();
      const newDevice = userId !== null ? await beforeSignIn(userId, client, now, null) : false;
      for (let attempt = 0; ; attempt++) {
        const { token, record } = newRecord(
          { userId, createdAt: now, authTime: userId !== null ? now : null, authLevel, data, client },
          now,
        );
        if (await call(() => store.create(record))) {
          events.emit('created', { handle: record.handle, userId, client, at: now });
          if (newDevice && userId !== null && client !== null) events.emit('new-device', { handle: record.handle, userId, client, at: now });
          return { token, session: toSession(record) };
        }
        // A 128-bit handle collision means a broken random source: never retry forever.
        if (attempt >= 2) throw new StoreUnavailableError('the store refused three fresh handles; is create() atomic?');
      }
    },

    validate: cache === null ? validatePlain : validateCached,

    async rotate(token, opts = {}) {
      if (opts === null || typeof opts !== 'object') throw new TypeError('rotate() options must be an object');
      const now = clock.now();
      const found = await resolve(token, now);
      if (!found.ok) return found;
      const given = opts.successor;
      if (given !== undefined) {
        if (given === null || typeof given !== 'object' || parseToken(`${given.handle}.${given.secret}`) === null) {
          throw new TypeError('rotate() successor must be { handle, secret } in the latchkey token format');
        }
        // A derived successor belongs to the presented token's own record, never to the one an overlap leads to.
        if (found.viaOverlap) return { ok: false, reason: 'conflict' };
      }
      const old = found.record;
      const expiry = expiryOf(old, now);
      if (expiry !== null) {
        await expire(old, expiry, now);
        return { ok: false, reason: expiry };
      }
      const signsIn = opts.userId !== undefined;
      const userId = signsIn ? userIdArg(opts.userId) : old.userId;
      const authLevel = opts.authLevel !== undefined ? authLevelArg(opts.authLevel) : signsIn && userId === null ? 0 : old.authLevel;
      const authTime = signsIn ? (userId !== null ? now : null) : opts.authenticated === true ? now : old.authTime;
      const client = opts.client !== undefined ? clientRecord(opts.client) : old.client;
      const newDevice = signsIn && userId !== null && userId !== old.userId ? await beforeSignIn(userId, client, now, old.handle) : false;
      // A sign-in starts a new session lifetime; a plain rotation keeps the old deadlines.
      const createdAt = signsIn && userId !== old.userId ? now : old.createdAt;
      // Data follows an anonymous session into a sign-in (a cart), never from one user to another.
      const data = signsIn && old.userId !== null && userId !== old.userId ? EMPTY : old.data;
      const { token: newToken, record } = newRecord({ userId, createdAt, authTime, authLevel, data, client }, now, given);
      const tombstone =
        given === undefined
          ? ({ status: 'revoked', successor: null, expiresAt: now + cfg.retentionMs } as const)
          : ({ status: 'revoked', successor: record.handle, expiresAt: old.absoluteExpiresAt } as const);
      const replaced = await call(() => store.replace(old.handle, old.version, record, tombstone)).finally(() => forget(old.handle));
      if (!replaced) return { ok: false, reason: 'conflict' };
      events.emit('rotated', { from: old.handle, to: record.handle, userId, cause: given === undefined ? 'manual' : 'refresh', at: now });
      if (newDevice && userId !== null && client !== null) events.emit('new-device', { handle: record.handle, userId, client, at: now });
      if (opts.revokeOthers === true && userId !== null) await api.revokeUser(userId, { except: record.handle });
      return { ok: true, token: newToken, session: toSession(record) };
    },

    async patch(handle, patch, opts) {
      if (!isHandle(handle)) return { ok: false, reason: 'not-found' };
      const clean = normalisePatch(patch, cfg.maxDataBytes);
      const expect = opts?.expectVersion;
      if (expect !== undefined && (!Number.isSafeInteger(expect) || expect < 1)) {
        throw new TypeError('expectVersion must be a positive integer (a session.version)');
      }
      return call(() => store.patch(handle, clean, clock.now(), expect)).finally(() => forget(handle));
    },

    async get(handle) {
      if (!isHandle(handle)) return null;
      const record = await call(() => store.get(handle));
      if (record === null || record.status !== 'active' || expiryOf(record, clock.now()) !== null) return null;
      return toSession(record);
    },

    async revoke(handle) {
      if (!isHandle(handle)) return false;
      const now = clock.now();
      const record = await call(() => store.get(handle));
      if (record === null || record.status !== 'active') return false;
      const done = await call(() => store.revoke(handle, now + cfg.retentionMs)).finally(() => forget(handle));
      if (done) events.emit('revoked', { handle, userId: record.userId, cause: 'revoke', at: now });
      return done;
    },

    async revokeUser(userId, opts) {
      const id = userIdArg(userId);
      if (id === null) throw new TypeError('revokeUser() needs a userId');
      const except = opts?.except;
      const now = clock.now();
      const handles = await call(() => store.revokeUser(id, now + cfg.retentionMs, except)).finally(() => {
        if (cache !== null) cache.dropUser(id);
        announceLocally(store, { userId: id });
      });
      for (const handle of handles) events.emit('revoked', { handle, userId: id, cause: 'user', at: now });
      return handles;
    },

    async list(userId) {
      const id = userIdArg(userId);
      if (id === null) return [];
      const now = clock.now();
      const records = await call(() => store.listUser(id));
      return records
        .filter((r) => r.status === 'active' && expiryOf(r, now) === null)
        .map((r) => ({
          handle: r.handle,
          createdAt: r.createdAt,
          lastSeenAt: r.lastSeenAt,
          authTime: r.authTime,
          expiresAt: Math.min(r.idleExpiresAt, r.absoluteExpiresAt),
          ip: r.client?.ip ?? null,
          userAgent: r.client?.userAgent ?? null,
          device: r.client?.device ?? parseUserAgent(null),
        }));
    },

    isFresh(session, maxAge) {
      return isFresh(session, durationOption('maxAge', maxAge), clock.now());
    },

    throttled(ip) {
      const now = clock.now();
      return guessing.blocked(ip, now) ? guessing.retryAfterSeconds(ip, now) : 0;
    },

    on(event, listener) {
      if (typeof listener !== 'function') throw new TypeError('on() needs a listener function');
      return events.on(event, listener);
    },

    sweep: sweepNow,

    async close() {
      if (closed) return;
      sweeperDue = false;
      stopSweeper?.();
      if (sweeping !== null) await sweeping.catch(() => 0);
      closed = true;
      // What was counted is reported, not lost with the engine.
      reports.flush();
      cache?.clear();
      if (unwatch !== null) await unwatch().catch(onError);
      await store.close();
    },
  };
  // What token mode reads of the engine (tombstones, store, clock), kept out of its public type.
  registerEngine(api, { store, clock, storeTimeoutMs: timeoutMs, readRecord: (handle) => call(() => store.get(handle)) });
  return api;
}

const EMPTY: SessionData = Object.freeze({});

function normalise(o: SessionsOptions): Config {
  const idleMs = durationOption('idleTimeout', o.idleTimeout ?? '30m', { min: 1000 });
  const absoluteMs = durationOption('absoluteTimeout', o.absoluteTimeout ?? '12h', { min: 1000 });
  if (idleMs > absoluteMs) {
    throw new ConfigError(`idleTimeout (${idleMs} ms) is longer than absoluteTimeout (${absoluteMs} ms); make it shorter or equal`);
  }
  const touchIntervalMs =
    o.touchInterval !== undefined ? durationOption('touchInterval', o.touchInterval) : Math.min(Math.floor(idleMs / 10), 60_000);
  if (touchIntervalMs >= idleMs) {
    throw new ConfigError(`touchInterval (${touchIntervalMs} ms) must be shorter than idleTimeout (${idleMs} ms)`);
  }

  let limit: Config['limit'] = null;
  const m = o.maxSessionsPerUser;
  if (m !== undefined) {
    if (m === null || (typeof m !== 'number' && typeof m !== 'object')) {
      throw new ConfigError('maxSessionsPerUser must be a number or { limit, onLimit }');
    }
    const max = typeof m === 'number' ? m : m?.limit;
    const onLimit = typeof m === 'number' ? 'evict-oldest' : (m.onLimit ?? 'evict-oldest');
    if (onLimit !== 'evict-oldest' && onLimit !== 'refuse') {
      throw new ConfigError(`maxSessionsPerUser.onLimit must be 'evict-oldest' or 'refuse' (got ${describe(onLimit)})`);
    }
    limit = { max: positiveInt('maxSessionsPerUser', max), onLimit };
  }

  let binding: BindingPolicy | null = null;
  if (o.binding !== undefined) {
    const b = o.binding;
    if (b === null || typeof b !== 'object') throw new ConfigError('binding must be an object { userAgent?, ip?, onMismatch? }');
    const onMismatch = b.onMismatch ?? 'reauth';
    if (!['ignore', 'log', 'reauth', 'revoke'].includes(onMismatch)) {
      throw new ConfigError(`binding.onMismatch must be 'ignore', 'log', 'reauth' or 'revoke' (got ${describe(onMismatch)})`);
    }
    let ip: BindingPolicy['ip'] = null;
    if (b.ip === true) ip = { v4: 24, v6: 64 };
    else if (b.ip !== undefined && b.ip !== false) {
      ip = { v4: prefix('binding.ip.v4', b.ip.v4 ?? 24, 32), v6: prefix('binding.ip.v6', b.ip.v6 ?? 64, 128) };
    }
    const userAgent = b.userAgent ?? true;
    if (!userAgent && ip === null) throw new ConfigError('binding is set but binds nothing: enable binding.userAgent or binding.ip');
    binding = { userAgent, ip, onMismatch };
  }

  let renewal: RenewalPolicy | null = null;
  if (o.renewal !== undefined) {
    const r = o.renewal;
    if (r === null || typeof r !== 'object') throw new ConfigError('renewal must be an object { interval?, afterIdle?, overlap? }');
    const intervalMs = r.interval !== undefined ? durationOption('renewal.interval', r.interval, { min: 1000 }) : 0;
    const afterIdleMs = r.afterIdle !== undefined ? durationOption('renewal.afterIdle', r.afterIdle, { min: 1000 }) : 0;
    if (intervalMs === 0 && afterIdleMs === 0) throw new ConfigError('renewal needs renewal.interval or renewal.afterIdle');
    const overlapMs = durationOption('renewal.overlap', r.overlap ?? '30s');
    if (overlapMs > 600_000) throw new ConfigError('renewal.overlap must be at most 10 minutes: an old token should not outlive its use');
    renewal = { intervalMs, afterIdleMs, overlapMs };
  }

  const maxDataBytes = positiveInt('maxDataBytes', o.maxDataBytes ?? 65_536);
  const sweepMs = o.sweepInterval === false ? null : durationOption('sweepInterval', o.sweepInterval ?? '5m', { min: 1000 });
  const retentionMs = durationOption('revokedRetention', o.revokedRetention ?? '1h');

  let cache: Config['cache'] = null;
  if (o.cache !== undefined && o.cache !== false) {
    const c = o.cache;
    if (c === null || typeof c !== 'object') throw new ConfigError('cache must be false or { staleness, maxEntries? }');
    if (c.staleness === undefined) {
      throw new ConfigError("cache needs staleness: the longest a cached session is trusted without a store read, e.g. '5s'");
    }
    cache = { stalenessMs: durationOption('cache.staleness', c.staleness, { min: 1 }), maxEntries: positiveInt('cache.maxEntries', c.maxEntries ?? 10_000) };
  }
  return { timeouts: { idleMs, absoluteMs, touchIntervalMs }, limit, binding, renewal, retentionMs, maxDataBytes, sweepMs, cache };
}

function prefix(name: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new ConfigError(`${name} must be a prefix length from 0 to ${max} (got ${describe(v)})`);
  }
  return v;
}
