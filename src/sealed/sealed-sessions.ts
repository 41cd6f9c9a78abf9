/**
 * Client-side sealed sessions: the whole session travels in the cookie,
 * encrypted and authenticated, with its idle and absolute deadlines inside.
 * A {@link Store} keeps their revocation epochs, so that sign-out ends a
 * session (one by one or per user) even where a copy of its cookie lives on,
 * and a session too big for its cookies can spill its data there. Going
 * without a store is an explicit choice: `revocable: false`.
 *
 * @module
 */
import type { Clock } from '../core/clock.js';
import { registerClock, systemClock } from '../core/clock.js';
import { describe, durationOption, type Duration } from '../core/duration.js';
import { ConfigError, InvalidDataError, LatchkeyTypeError } from '../core/errors.js';
import { callStore, storeTimeoutMs } from '../core/store-call.js';
import type { SessionData } from '../core/model.js';
import type { SessionDataInput } from '../core/session-data.js';
import type { DataPatch, Store } from '../core/store.js';
import { expiryOf, isFresh, needsTouch, nextIdleDeadline, timeoutPolicy, type TimeoutPolicy } from '../core/policy.js';
import { refuseUnknownKeys } from '../core/option-keys.js';
import { mintHandle } from '../core/token.js';
import { authLevelArg, normaliseData, normalisePatch, positiveInt, userIdArg } from '../core/arguments.js';
import { chunkName, joinBlob, splitBlob, type ChunkLimits, type CookieReader, type CookieWrite } from './chunks.js';
import { keyringOf, type SealSecret } from './keys.js';
import { decodePayload, encodePayload, SEALED_KIND, type SealedSession } from './payload.js';
import { Revocations } from './revocation.js';
import { putSpill, readSpill } from './spill.js';
import { requireKeyValues } from '../core/key-values.js';
import { sealerCore, type UnsealFailure } from './sealer.js';
import { telemetryOption, tracedStore, type TelemetryApi } from '../core/telemetry.js';
import { tracedSealed } from './telemetry.js';

/** Options of {@link createSealedSessions}. Every field but `secrets` has a default. */
export interface SealedSessionsOptions {
  /**
   * Random secrets of at least 32 bytes, newest first: the first seals, all
   * open, and a session opened with an older one is re-sealed with the first.
   * Keys are derived from them once (HKDF-SHA256), at the first seal or open.
   */
  secrets: SealSecret | readonly SealSecret[];
  /**
   * Name of the session cookie. It is bound to the blob as associated data:
   * a blob copied into another cookie does not open. The HTTP layer
   * requires the `__Host-` prefix outside development.
   * @default '__Host-session'
   */
  cookieName?: string;
  /** A session unused for this long expires (sliding). @default '30m' */
  idleTimeout?: Duration;
  /** A session expires this long after it was created, however active. @default '12h' */
  absoluteTimeout?: Duration;
  /**
   * Minimum time between two re-seals that only extend the idle deadline.
   * @default one tenth of idleTimeout, at most '1m'
   */
  touchInterval?: Duration;
  /**
   * Budget of one cookie in bytes: name, `=`, value and attributes
   * (`cookieAttributeBytes`). Browsers keep at least 4096 bytes per cookie.
   * @default 4000
   */
  maxCookieBytes?: number;
  /** What the cookie attributes (`; Max-Age=…; Path=/; Secure; HttpOnly; SameSite=Lax`) are assumed to take. @default 120 */
  cookieAttributeBytes?: number;
  /**
   * Budget of all parts of a chunked session together, names and values, as
   * they travel in the request's `Cookie` header. The HTTP layer ignores
   * `Cookie` headers over 8192 bytes, so keep room for other cookies.
   * @default 6000
   */
  maxTotalBytes?: number;
  /** The most cookies one session may be split into. @default 4 */
  maxChunks?: number;
  /** Largest JSON size of session data; larger data is refused with `InvalidDataError`. @default 65536 */
  maxDataBytes?: number;
  /**
   * Where revocation epochs live (per session and per user), and spilled
   * data: sealed mode keeps them in the store's key-value facet
   * (`store.kv`, namespace `'sealed'`), one revocation value per user (or
   * anonymous session) and the data of each spilled session, never as
   * session records. Required unless `revocable: false`.
   */
  store?: Store;
  /**
   * `false` runs without a store, giving up revocation: sign-out only
   * deletes the cookie in the browser that signs out, and a copy of the
   * cookie (stolen, or saved before sign-out) keeps working until its idle
   * or absolute deadline; "sign out everywhere" is impossible. The HTTP
   * layer says so once, at startup. `false` does not go with a store.
   * @default true: a store is required
   */
  revocable?: boolean;
  /**
   * What to do with a session too big for one cookie: `'chunk'` splits it
   * across numbered cookies (within `maxTotalBytes`); `'spill'` keeps its
   * data in the store and only a handle in the cookie (needs `store`).
   * @default 'spill' with a store, 'chunk' without
   */
  overflow?: 'chunk' | 'spill';
  /**
   * Cache revocation records in this process for `ttl`, so that opening a
   * session reads the store at most once per `ttl` per user instead of once
   * per request. A revocation made by another process is then honoured
   * within `ttl` (the staleness bound); revocations made through this object
   * are honoured at once.
   * @default false (one store read per request)
   */
  revocationCache?: false | { ttl: Duration; maxEntries?: number };
  /** How long one store operation may take before it fails with `StoreUnavailableError`, as the engine's `storeTimeout`. @default '2s' */
  storeTimeout?: Duration;
  /** The time source. @default the system clock */
  clock?: Clock;
  /**
   * OpenTelemetry: pass the `@opentelemetry/api` module (`import * as otel
   * from '@opentelemetry/api'`), as for `createSessions()`. Spans for
   * `open`, `seal`, `create`, `login`, `revoke`, `revokeUser` and their store
   * calls, and the `latchkey.sealed.opens` counter by result. Without it
   * nothing wraps a call. See docs/observability.md.
   * @default off
   */
  telemetry?: TelemetryApi;
}

/** Why {@link SealedSessions.open} found no usable session. */
export type OpenFailure = UnsealFailure | 'missing' | 'expired-idle' | 'expired-absolute' | 'revoked' | 'spill-missing';

/** Result of {@link SealedSessions.open}. */
export type OpenResult =
  | {
      readonly ok: true;
      readonly session: SealedSession;
      /**
       * Why the cookie must be sealed again on this response, or `null`:
       * `'key-rotation'` (opened with a retired key) or `'touch'` (the idle
       * deadline moved; at most once per `touchInterval`).
       */
      readonly reseal: 'key-rotation' | 'touch' | null;
      /** How many cookies the session came in; pass it to `seal()` so that leftover parts are deleted. */
      readonly chunks: number;
    }
  | {
      readonly ok: false;
      readonly reason: OpenFailure;
      /** How many cookies to delete (`clear(chunks)`); 0 when none was presented. */
      readonly chunks: number;
    };

/** Input of {@link SealedSessions.create}. */
export interface SealedCreateInput {
  /** The signed-in user; omit for an anonymous session. */
  userId?: string | null;
  /** Initial data (JSON), typed by the application's `SessionDataTypes` (module augmentation of `'latchkey'`). */
  data?: SessionDataInput;
  /** Strength of the authentication. @default 0 */
  authLevel?: number;
}

/** Sealed sessions, created by {@link createSealedSessions}. */
export interface SealedSessions {
  /** The session cookie's name (the first part when chunked). */
  readonly cookieName: string;
  /** Whether sessions can be revoked: a store keeps their revocation epochs (`false` only with `revocable: false`). */
  readonly revocable: boolean;
  /**
   * Opens the session carried by a request's cookies. Never throws for bad
   * cookies: the result says why. Rejects only with `StoreUnavailableError`
   * when a configured store fails (fail closed).
   */
  open(read: CookieReader): Promise<OpenResult>;
  /** A new session with a fresh id (never chosen by the client). Reads the store once when one is configured. */
  create(input?: SealedCreateInput): Promise<SealedSession>;
  /** A copy of the session with data keys set and removed; other keys are kept. */
  update(session: SealedSession, patch: DataPatch): SealedSession;
  /**
   * Signs a user in (or out with `null`) from a fresh payload: a new session
   * id, a new lifetime, the user's current revocation epoch, and no data:
   * nothing of `session` is carried (its `authLevel` is the default of
   * `options.authLevel`). Copy what must survive with `update()`; revoke the
   * old id with `revoke()` when `revocable`.
   */
  login(session: SealedSession | null, userId: string | null, options?: { authLevel?: number }): Promise<SealedSession>;
  /**
   * The cookies that carry `session`: its parts, then deletions of parts left
   * over from a bigger previous version (`previousChunks`). Throws
   * `InvalidDataError` when the session fits no limit; nothing is dropped.
   */
  seal(session: SealedSession, options?: { previousChunks?: number }): Promise<CookieWrite[]>;
  /** Deletions of a session's cookies (sign-out, or a refused cookie). */
  clear(chunks?: number): CookieWrite[];
  /** Revokes one session at once (needs a store). */
  revoke(session: Pick<SealedSession, 'handle' | 'userId' | 'absoluteExpiresAt'>): Promise<void>;
  /**
   * "Log out everywhere": revokes every session of the user. With `except`,
   * resolves that session re-stamped with the new epoch (seal it on this
   * response), else `null`.
   */
  revokeUser(userId: string, options?: { except?: SealedSession }): Promise<SealedSession | null>;
  /** Whether the session's user authenticated within `maxAge` (by this object's clock). */
  isFresh(session: Pick<SealedSession, 'authTime'>, maxAge: Duration): boolean;
}

interface Config {
  timeouts: TimeoutPolicy;
  limits: ChunkLimits;
  maxDataBytes: number;
}

const OPTION_NAMES = [
  'secrets',
  'cookieName',
  'idleTimeout',
  'absoluteTimeout',
  'touchInterval',
  'maxCookieBytes',
  'cookieAttributeBytes',
  'maxTotalBytes',
  'maxChunks',
  'maxDataBytes',
  'store',
  'revocable',
  'overflow',
  'revocationCache',
  'storeTimeout',
  'clock',
  'telemetry',
] as const satisfies readonly (keyof SealedSessionsOptions)[];
const OWNER = 'createSealedSessions()';
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Creates sealed sessions.
 *
 * @throws {ConfigError} for a bad option, and without a store unless `revocable: false`.
 * @example
 * ```ts
 * import { createSealedSessions } from 'latchkey/sealed';
 * import { sqliteStore } from 'latchkey/stores/sqlite';
 *
 * const sealed = createSealedSessions({ secrets: [process.env.SESSION_SECRET!], store: sqliteStore({ path: 'sessions.db' }), idleTimeout: '30m' });
 * // sign-in
 * const session = await sealed.create({ userId: 'u1', data: { theme: 'dark' } });
 * const cookies = await sealed.seal(session); // [{ name, value, maxAge }]
 * // a later request
 * const opened = await sealed.open((name) => cookieHeader[name]);
 * if (opened.ok) console.log(opened.session.userId);
 * ```
 */
export function createSealedSessions(options: SealedSessionsOptions): SealedSessions {
  if (options === null || typeof options !== 'object') throw new LatchkeyTypeError('createSealedSessions() takes an options object { secrets, ... }');
  refuseUnknownKeys(options, OPTION_NAMES, OWNER);
  const keyring = keyringOf(options.secrets);
  const cfg = normalise(options);
  const name = cookieNameOption(options.cookieName);
  const clock = options.clock ?? systemClock;
  const store = options.store ?? null;
  if (store !== null && (typeof store !== 'object' || typeof store.get !== 'function' || store.capabilities === undefined)) {
    throw new ConfigError('store must be a latchkey Store, e.g. memoryStore() from latchkey/stores/memory or sqliteStore() from latchkey/stores/sqlite');
  }
  if (store !== null) requireKeyValues(store);
  revocableOption(options.revocable, store !== null);
  const overflow = options.overflow ?? (store !== null ? 'spill' : 'chunk');
  if (overflow !== 'chunk' && overflow !== 'spill') throw new ConfigError(`overflow must be 'chunk' or 'spill' (got ${describe(overflow)})`);
  if (overflow === 'spill' && store === null) throw new ConfigError("overflow: 'spill' needs a store; pass store, or use overflow: 'chunk'");
  const timeoutMs = store === null ? 0 : storeTimeoutMs(store, options.storeTimeout);
  const call = <T>(op: () => Promise<T>): Promise<T> => callStore(op, timeoutMs);
  let cache: { ttlMs: number; maxEntries: number } | null = null;
  const rc = options.revocationCache;
  if (rc !== undefined && rc !== false) {
    if (store === null) throw new ConfigError('revocationCache needs a store: revocation records live there');
    if (rc === null || typeof rc !== 'object') throw new ConfigError("revocationCache must be false or { ttl: Duration }, e.g. { ttl: '5s' }");
    refuseUnknownKeys(rc, ['ttl', 'maxEntries'], OWNER, 'revocationCache');
    cache = {
      ttlMs: durationOption('revocationCache.ttl', rc.ttl, { min: 1 }),
      maxEntries: positiveInt('revocationCache.maxEntries', rc.maxEntries ?? 10_000),
    };
  }
  const telemetry = telemetryOption(options.telemetry);
  // Revocation epochs and spills are read and written through a traced view of the store when telemetry is on.
  const calls = store === null || telemetry === null ? store : tracedStore(store, telemetry);
  const revocations = calls === null ? null : new Revocations(calls, clock, cfg.timeouts.absoluteMs, cache, call);
  // The largest blob worth looking at: every part full.
  const sealer = sealerCore(keyring, cfg.limits.maxChunks * cfg.limits.cookieBytes);
  /** Which store record holds a spilled session's data, by the data object it was read into: unchanged data is not written again. */
  const spilledData = new WeakMap<SessionData, { readonly handle: string; readonly sessionId: string }>();

  function fail(reason: OpenFailure, chunks: number): OpenResult {
    return { ok: false, reason, chunks };
  }

  function fresh(input: { userId: string | null; data: SessionData; authLevel: number }, now: number, userEpoch: number): SealedSession {
    const absoluteExpiresAt = now + cfg.timeouts.absoluteMs;
    return {
      handle: mintHandle(),
      kind: SEALED_KIND,
      userId: input.userId,
      createdAt: now,
      issuedAt: now,
      lastSeenAt: now,
      authTime: input.userId !== null ? now : null,
      authLevel: input.authLevel,
      idleExpiresAt: nextIdleDeadline(cfg.timeouts, absoluteExpiresAt, now),
      absoluteExpiresAt,
      version: 1,
      data: input.data,
      client: null,
      userEpoch,
    };
  }

  async function epochFor(userId: string | null): Promise<number> {
    return revocations === null ? 0 : revocations.currentEpoch(userId);
  }

  function maxAge(session: SealedSession, now: number): number {
    return Math.max(1, Math.ceil((session.absoluteExpiresAt - now) / 1000));
  }

  function writes(parts: string[], age: number, previousChunks: number): CookieWrite[] {
    const out: CookieWrite[] = parts.map((value, i) => ({ name: chunkName(name, i), value, maxAge: age }));
    for (let i = parts.length; i < previousChunks; i++) out.push({ name: chunkName(name, i), value: '', maxAge: 0 });
    return out;
  }

  async function spill(session: SealedSession, now: number): Promise<string> {
    const known = spilledData.get(session.data);
    // Only for the same session: another (e.g. after login) has another lifetime.
    if (known !== undefined && known.sessionId === session.handle) return known.handle;
    const handle = mintHandle();
    await putSpill(calls as Store, call, handle, session.data, now, session.absoluteExpiresAt);
    spilledData.set(session.data, { handle, sessionId: session.handle });
    return handle;
  }

  const sealed: SealedSessions = {
    cookieName: name,
    revocable: store !== null,

    async open(read) {
      if (typeof read !== 'function') throw new LatchkeyTypeError('open() takes a function that reads a cookie by name');
      const joined = joinBlob(name, read, cfg.limits.maxChunks);
      if (joined === 'missing') return fail('missing', 0);
      if (joined === 'malformed') {
        // The same work as any other refused cookie: a full (decoy) decryption.
        await sealer.unseal('', name);
        return fail('malformed', cfg.limits.maxChunks);
      }
      // On Node the codec answers at once: await only a promise (Web Crypto).
      const unsealing = sealer.unseal(joined.blob, name);
      const opened = unsealing instanceof Promise ? await unsealing : unsealing;
      if (!opened.ok) return fail(opened.reason, joined.chunks);
      const payload = decodePayload(opened.plaintext);
      if (payload === null) return fail('malformed', joined.chunks);
      let session = payload.session;
      const now = clock.now();
      const expiry = expiryOf(session, now);
      if (expiry !== null) return fail(expiry, joined.chunks);
      if (payload.spill !== null && store === null) return fail('spill-missing', joined.chunks);
      if (revocations !== null) {
        const spillHandle = payload.spill;
        if (spillHandle === null) {
          if (await revocations.isRevoked(session.userId, session.handle, session.userEpoch)) return fail('revoked', joined.chunks);
        } else {
          const s = calls as Store;
          // Revocation and spill are read together: one round trip.
          const [revoked, data] = await Promise.all([
            revocations.isRevoked(session.userId, session.handle, session.userEpoch),
            readSpill(s, call, spillHandle, now),
          ]);
          if (revoked) return fail('revoked', joined.chunks);
          if (data === null) return fail('spill-missing', joined.chunks);
          session = { ...session, data };
          spilledData.set(data, { handle: spillHandle, sessionId: session.handle });
        }
      }
      let reseal: 'key-rotation' | 'touch' | null = opened.staleKey ? 'key-rotation' : null;
      if (needsTouch(cfg.timeouts, session, now)) {
        session = { ...session, lastSeenAt: now, idleExpiresAt: nextIdleDeadline(cfg.timeouts, session.absoluteExpiresAt, now) };
        reseal ??= 'touch';
      }
      return { ok: true, session, reseal, chunks: joined.chunks };
    },

    async create(input = {}) {
      if (input === null || typeof input !== 'object') throw new LatchkeyTypeError('create() takes an object { userId?, data?, authLevel? }');
      const userId = userIdArg(input.userId);
      const data = input.data === undefined ? EMPTY : normaliseData(input.data, cfg.maxDataBytes);
      const authLevel = authLevelArg(input.authLevel ?? 0);
      return fresh({ userId, data, authLevel }, clock.now(), await epochFor(userId));
    },

    update(session, patch) {
      const clean = normalisePatch(patch, cfg.maxDataBytes);
      const out: Record<string, unknown> = { ...session.data };
      for (const k of clean.unset ?? []) delete out[k];
      if (clean.set !== undefined) Object.assign(out, clean.set);
      const data = normaliseData(out, cfg.maxDataBytes);
      return { ...session, data, version: session.version + 1 };
    },

    async login(session, userId, opts = {}) {
      const id = userIdArg(userId);
      const authLevel = authLevelArg(opts.authLevel ?? (id === null ? 0 : (session?.authLevel ?? 0)));
      // A fresh payload: data of the session signed out of (an anonymous visitor's, possibly planted) never rides into the new one.
      return fresh({ userId: id, data: EMPTY, authLevel }, clock.now(), await epochFor(id));
    },

    async seal(session, opts = {}) {
      if (session === null || typeof session !== 'object' || typeof session.handle !== 'string') {
        throw new LatchkeyTypeError('seal() takes a session from open(), create(), update() or login()');
      }
      const previous = opts.previousChunks ?? 0;
      const now = clock.now();
      const age = maxAge(session, now);
      const spilled = spilledData.get(session.data);
      if (overflow === 'spill' && spilled !== undefined && spilled.sessionId === session.handle) {
        // Unchanged spilled data (a touch or key-rotation re-seal): only the handle travels.
        const small = splitBlob(name, await sealer.seal(encodePayload(session, spilled.handle), name), { ...cfg.limits, maxChunks: 1 });
        if (small !== null) return writes(small, age, previous);
      }
      const sealing = sealer.seal(encodePayload(session, null), name);
      const whole = typeof sealing === 'string' ? sealing : await sealing;
      const parts = splitBlob(name, whole, overflow === 'spill' ? { ...cfg.limits, maxChunks: 1 } : cfg.limits);
      if (parts !== null) return writes(parts, age, previous);
      if (overflow === 'spill') {
        const handle = await spill(session, now);
        const small = splitBlob(name, await sealer.seal(encodePayload(session, handle), name), { ...cfg.limits, maxChunks: 1 });
        if (small !== null) return writes(small, age, previous);
        throw new InvalidDataError(
          `the sealed session does not fit one cookie of ${cfg.limits.cookieBytes} bytes even with its data in the store; shorten userId or raise maxCookieBytes`,
        );
      }
      throw new InvalidDataError(
        `the sealed session is ${whole.length} characters and does not fit ${cfg.limits.maxChunks} cookies (maxTotalBytes ${cfg.limits.totalBytes}); store less data in it, or configure a store so that large sessions spill there`,
      );
    },

    clear(chunks = 1) {
      const out: CookieWrite[] = [];
      for (let i = 0; i < Math.max(1, Math.min(chunks, cfg.limits.maxChunks)); i++) out.push({ name: chunkName(name, i), value: '', maxAge: 0 });
      return out;
    },

    async revoke(session) {
      if (revocations === null) throw new ConfigError('revoke() needs revocation: configure store (and remove revocable: false) to revoke sealed sessions before they expire');
      await revocations.revokeSession(session.userId, session.handle, session.absoluteExpiresAt);
    },

    async revokeUser(userId, opts = {}) {
      if (revocations === null) throw new ConfigError('revokeUser() needs revocation: configure store (and remove revocable: false) to revoke sealed sessions before they expire');
      const id = userIdArg(userId);
      if (id === null) throw new LatchkeyTypeError('revokeUser() needs a userId');
      const epoch = await revocations.revokeUser(id);
      const except = opts.except;
      return except !== undefined && except.userId === id ? { ...except, userEpoch: epoch } : null;
    },

    isFresh(session, maxAge) {
      return isFresh(session, durationOption('maxAge', maxAge), clock.now());
    },
  };
  const made = telemetry === null ? sealed : tracedSealed(sealed, telemetry);
  // The HTTP layer tells the browser its deadlines by this clock (Latchkey-Deadlines).
  registerClock(made, clock);
  return made;
}

const EMPTY: SessionData = Object.freeze({});

function normalise(o: SealedSessionsOptions): Config {
  const timeouts = timeoutPolicy(o);
  const cookieBytes = positiveInt('maxCookieBytes', o.maxCookieBytes ?? 4000);
  const attributeBytes = nonNegativeInt('cookieAttributeBytes', o.cookieAttributeBytes ?? 120);
  if (cookieBytes - attributeBytes < 200) {
    throw new ConfigError(`maxCookieBytes (${cookieBytes}) leaves less than 200 bytes beside cookieAttributeBytes (${attributeBytes}); raise it`);
  }
  if (cookieBytes > 4096) throw new ConfigError(`maxCookieBytes must be at most 4096: browsers may drop larger cookies (got ${cookieBytes})`);
  const totalBytes = positiveInt('maxTotalBytes', o.maxTotalBytes ?? 6000);
  const maxChunks = positiveInt('maxChunks', o.maxChunks ?? 4);
  if (maxChunks > 20) throw new ConfigError(`maxChunks must be at most 20 (got ${maxChunks})`);
  const maxDataBytes = positiveInt('maxDataBytes', o.maxDataBytes ?? 65_536);
  return { timeouts, limits: { cookieBytes, attributeBytes, totalBytes, maxChunks }, maxDataBytes };
}

function cookieNameOption(v: unknown): string {
  const n = v ?? '__Host-session';
  if (typeof n !== 'string' || !COOKIE_NAME.test(n) || n.length > 200) {
    throw new ConfigError(`cookieName must be a cookie name token such as '__Host-session' (got ${describe(n)})`);
  }
  return n;
}

/** Revocation is the default: going without it must be said, with `revocable: false`, and is not mixed with a store. */
function revocableOption(v: unknown, hasStore: boolean): void {
  if (v !== undefined && typeof v !== 'boolean') throw new ConfigError(`revocable must be a boolean (got ${describe(v)})`);
  if (v !== false) {
    if (hasStore) return;
    throw new ConfigError(
      'sealed sessions need a store for their revocation epochs, so that sign-out ends a session even where a copy of its cookie lives on: pass store (e.g. sqliteStore() from latchkey/stores/sqlite, or your Redis or PostgreSQL store), or give up revocation explicitly with revocable: false',
    );
  }
  if (hasStore) {
    throw new ConfigError('revocable: false and a store contradict each other: a store makes sealed sessions revocable; remove revocable: false to keep revocation, or remove store');
  }
}

function nonNegativeInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ConfigError(`${name} must be a whole number of 0 or more (got ${describe(v)})`);
  return v;
}

