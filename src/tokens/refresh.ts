/**
 * Refresh tokens on the session engine. The session is the token family; a
 * refresh token is the engine's opaque `handle.secret`, only its hash is
 * stored, and every use rotates it. Presenting an already-rotated token after
 * the grace window is theft: the family is revoked and `token-theft` fires.
 *
 * Race-proof: the successor of a token is derived from it with a server-side
 * key (HMAC-SHA-512), so concurrent refreshes with one token all compute the
 * same successor without it ever being stored. The store's atomic `replace`
 * lets exactly one of them write it; the others find the old record's
 * tombstone naming that successor, re-derive it, check it against the stored
 * hash and answer with it. If the successor was itself rotated meanwhile
 * (a fast client refreshed again), they walk the lineage forward, deriving
 * each next token, to the live one. See docs/tokens.md.
 *
 * @module
 */
import { hmacSha512, hmacSha512Key, toBase64url, type HmacKey } from '#primitives';
import { positiveInt, secretListArg } from '../core/arguments.js';
import { durationOption, type Duration } from '../core/duration.js';
import { engineInternals, type EngineInternals } from '../core/engine-internals.js';
import { ConfigError, LatchkeyTypeError } from '../core/errors.js';
import type { AnomalyEvent } from '../core/events.js';
import type { StoreBrake } from '../core/brake.js';
import type { ClientInfo, SessionRecord, Session } from '../core/model.js';
import { toSession } from '../core/model.js';
import { checkOptionKeys } from '../core/option-keys.js';
import { expiryOf } from '../core/policy.js';
import type { CreateInput, Sessions } from '../core/sessions.js';
import { parseToken, secretMatches, type ParsedToken } from '../core/token.js';
import type { DpopProof } from './dpop.js';
import { boundJkt, FAMILY_JKT } from './lib/binding.js';
import { liveRecord, MAX_LINEAGE } from './lib/lineage.js';

/** Options of {@link createRefreshTokens}. */
export interface RefreshTokensOptions {
  /**
   * The session engine, from `createSessions()`. Its `idleTimeout` is how
   * long an unused refresh token lives, its `absoluteTimeout` how long a
   * family lives (e.g. `'14d'`, `'30d'`); refresh rotation reads the
   * engine's store on its clock, within its `storeTimeout`. Families are
   * records of the engine's kind: give it `kind: 'refresh'` when it shares
   * its store with a cookie engine, so that neither honours the other's
   * tokens (as `latchkey serve` does).
   */
  sessions: Sessions;
  /**
   * Key(s) that derive each successor token, at least 32 bytes each (e.g. 32
   * random bytes, base64url). The first derives new successors; the others are
   * still tried, so that a refresh racing a key change still converges. Keep
   * it as secret as a signing key, and the same on every instance.
   */
  secret: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /**
   * How long after a rotation the old token still refreshes (to the same
   * successor): several tabs, retried requests, lost responses. After it,
   * presenting the old token is theft.
   * @default '10s'
   */
  graceWindow?: Duration;
  /**
   * The refresh-token guessing throttle: malformed, unknown, reused and
   * wrong-key refresh tokens are counted per `client.ip` in a sliding
   * `window`; once `threshold` of them fall within it, every refresh from
   * that IP is refused as `'throttled'` (with `retryAfter` seconds, never a
   * store read) until the oldest of them leaves the window, and an
   * `anomaly` event (`invalid-token-burst`) is emitted. The failures are
   * counted in the engine's store when it has shared counters (Redis,
   * PostgreSQL: `store.counters`), so that every instance on the store
   * spends one budget and a brake one engages is announced to all; else in
   * this process, at most `maxClients` IPs, the stalest dropped first. Only
   * failures reach the counters: a successful refresh costs nothing more.
   * `false` turns it off.
   * @default { threshold: 20, window: '1m', maxClients: 10000 }
   */
  guessing?: false | { threshold?: number; window?: Duration; maxClients?: number };
  /** Called with errors thrown by event listeners. @default none */
  onError?: (error: unknown) => void;
}

/**
 * Why {@link RefreshTokens.refresh} refused a token. `'reused'` means theft
 * was detected and the family revoked; so does `'wrong-key'`: the family is
 * bound to a DPoP key and the refresh came with a proof of another key, or
 * with none. `'throttled'` means that the client sent a burst of invalid
 * refresh tokens and must wait (see {@link RefreshTokensOptions.guessing}).
 */
export type RefreshFailure = 'malformed' | 'unknown' | 'expired' | 'revoked' | 'reused' | 'wrong-key' | 'throttled';

/** Options of {@link RefreshTokens.refresh}. */
export interface RefreshOptions {
  /** The client, as the caller knows it; `client.ip` is what the guessing throttle counts. */
  client?: ClientInfo;
  /**
   * The verified DPoP proof that came with the refresh (RFC 9449), from
   * `createDpopVerifier().verify()` at the token endpoint. A family bound to
   * a key refreshes only with a proof of that key: another key, or no
   * proof, is theft (`'wrong-key'`, the family revoked).
   */
  dpop?: DpopProof;
}

/** Result of {@link RefreshTokens.refresh}. */
export type RefreshResult =
  | {
      readonly ok: true;
      /** The new refresh token: send it to the client in place of the old one. */
      readonly token: string;
      /** The family's live session; `session.handle` is the access token's `sid`. */
      readonly session: Session;
    }
  | { readonly ok: false; readonly reason: Exclude<RefreshFailure, 'throttled'> }
  | {
      readonly ok: false;
      readonly reason: 'throttled';
      /** Seconds the client must wait (an HTTP answer's `Retry-After`). */
      readonly retryAfter: number;
    };

/**
 * A refresh token was used by someone who should not have it: a rotated one
 * after the grace window (`cause: 'reuse'`), or a DPoP-bound one without a
 * proof of its key (`cause: 'dpop-key'`). Handles only, never tokens.
 */
export interface TokenTheftEvent {
  /** What gave the thief away. */
  readonly cause: 'reuse' | 'dpop-key';
  /** The handle of the reused (rotated) token. */
  readonly handle: string;
  /** The live handles revoked as a result (the family's current session). */
  readonly revoked: readonly string[];
  readonly userId: string | null;
  /** The client that presented it, as the caller reported it. */
  readonly ip: string | null;
  readonly at: number;
}

/** Events of {@link RefreshTokens}. */
export interface RefreshEvents {
  'token-theft': TokenTheftEvent;
  /** A client sent a burst of invalid refresh tokens and is throttled (see {@link RefreshTokensOptions.guessing}). */
  anomaly: Extract<AnomalyEvent, { kind: 'invalid-token-burst' }>;
}

/** Refresh tokens returned by {@link createRefreshTokens}. */
export interface RefreshTokens {
  /**
   * Starts a family (signs in): a session with a fresh refresh token. With
   * `dpop` (a verified proof), the family is bound to the proof's key for
   * its whole life.
   */
  issue(input?: CreateInput & { dpop?: DpopProof }): Promise<{ token: string; session: Session }>;
  /**
   * Rotates a refresh token. Never throws for a bad token; throws only if the
   * store fails.
   */
  refresh(token: unknown, options?: RefreshOptions): Promise<RefreshResult>;
  /**
   * Signs out: revokes the family the token belongs to. Resolves whether a
   * live session was revoked. A token whose live record is of another kind
   * than the engine's (another engine's session) is left alone: `false`.
   */
  revoke(token: unknown): Promise<boolean>;
  /**
   * The live session of the family that `handle` (any handle it ever had,
   * e.g. an access token's `sid`) belongs to; `null` when it ended, or when
   * the handle leads to a record of another kind than the engine's.
   */
  session(handle: string): Promise<Session | null>;
  /**
   * Revokes the family that `handle` (any handle it ever had) belongs to.
   * Resolves whether a live session (of the engine's kind) was revoked.
   */
  revokeFamily(handle: string): Promise<boolean>;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof RefreshEvents>(event: K, listener: (event: RefreshEvents[K]) => void): () => void;
}

/** How far a theft revocation follows a family's lineage (one step per refresh ever made). */
const MAX_FAMILY = 100_000;
const INFO = 'latchkey/refresh-successor/v1\0';

/**
 * Creates refresh-token rotation with theft detection over a session engine.
 *
 * @example
 * ```ts
 * import { createSessions } from 'latchkey';
 * import { sqliteStore } from 'latchkey/stores/sqlite';
 * import { createRefreshTokens } from 'latchkey/tokens';
 *
 * const store = sqliteStore({ path: './data/sessions.db' });
 * const sessions = createSessions({ store, idleTimeout: '14d', absoluteTimeout: '30d' });
 * const refresh = createRefreshTokens({ sessions, secret: process.env.REFRESH_SECRET! });
 * refresh.on('token-theft', (e) => log.warn('refresh token reuse', e));
 *
 * const { token } = await refresh.issue({ userId: 'u1' });
 * const next = await refresh.refresh(token); // { ok: true, token, session }
 * ```
 */
export function createRefreshTokens(options: RefreshTokensOptions): RefreshTokens {
  checkOptionKeys(options, 'createRefreshTokens()', REFRESH_OPTIONS, { retired: RETIRED });
  const { sessions } = options;
  // The engine's own store, clock and storeTimeout: a refresh read never disagrees with the engine's rotation.
  const engine = engineInternals(sessions);
  if (engine === undefined) throw new ConfigError('sessions must be the engine from createSessions()');
  // A family is a lineage whose live record is of the engine's kind: nothing else is ended or shown by handle.
  const { clock, readRecord: read, kind, reportError } = engine;
  const secrets = secretListArg('secret', options.secret, 'refresh secret', 'secret: process.env.REFRESH_SECRET');
  // Imported into the runtime's key form on first use (a Workers module's global scope allows no crypto work).
  let imported: Promise<HmacKey[]> | null = null;
  const keys = (): Promise<HmacKey[]> => (imported ??= Promise.all(secrets.map((s) => hmacSha512Key(s))));
  const graceMs = durationOption('graceWindow', options.graceWindow ?? '10s');
  if (graceMs > 60_000) throw new ConfigError('graceWindow must be at most 1 minute: an old refresh token should not outlive its use');
  const guessing = guessingBrake(options.guessing, engine);
  const onError = options.onError ?? (() => {});
  if (typeof onError !== 'function') throw new ConfigError('onError must be a function');
  const listeners: { [K in keyof RefreshEvents]: Array<(e: RefreshEvents[K]) => void> } = { 'token-theft': [], anomaly: [] };

  function emit<K extends keyof RefreshEvents>(event: K, e: RefreshEvents[K]): void {
    for (const fn of listeners[event].slice()) {
      try {
        fn(e);
      } catch (err) {
        onError(err);
      }
    }
  }

  /**
   * Counts a refusal that guessing (or replaying a stolen token) produces
   * against the client's IP. A failure past the budget, spent meanwhile on
   * another instance whose announcement this one has not heard yet, is
   * answered as throttled, as one instance would have answered it.
   */
  function counted(result: RefreshResult, ip: string | null, now: number): RefreshResult | Promise<RefreshResult> {
    // A success (and every refusal guessing does not produce) returns as it is: no promise, no frame.
    if (ip === null || guessing === null || result.ok || !(result.reason === 'malformed' || result.reason === 'unknown' || result.reason === 'reused' || result.reason === 'wrong-key')) {
      return result;
    }
    return countFailure(result, ip, now);
  }

  async function countFailure(result: RefreshResult, ip: string, now: number): Promise<RefreshResult> {
    if (guessing === null) return result;
    try {
      const v = await guessing.brake.failed(ip, now);
      if (v.reached) emit('anomaly', { kind: 'invalid-token-burst', ip, count: v.count, at: now });
      if (v.count > guessing.limit && v.retryAfter > 0) return { ok: false, reason: 'throttled', retryAfter: v.retryAfter };
    } catch (err) {
      // The token is refused either way; a count the store could not keep is reported, not the caller's failure.
      reportError(err);
    }
    return result;
  }

  /** The successor `tombstone.successor` names, if `from` derives it under one of our keys. */
  async function successorOf(from: ParsedToken, named: string): Promise<ParsedToken | null> {
    for (const key of await keys()) {
      const next = await derive(key, from);
      if (next.handle === named) return next;
    }
    return null;
  }

  async function revokeFamily(from: string): Promise<string[]> {
    const revoked: string[] = [];
    let h: string | null = from;
    for (let i = 0; h !== null && i < MAX_FAMILY; i++) {
      const r: SessionRecord | null = await read(h);
      if (r === null) break;
      if (r.status === 'active') {
        if (r.kind === kind && (await sessions.revoke(r.handle))) revoked.push(r.handle);
        break;
      }
      h = r.successor;
    }
    return revoked;
  }

  /** The presented token is no longer active: within the grace window, converge on the live successor; after it, theft. */
  async function follow(presented: ParsedToken, tombstone: SessionRecord, client: ClientInfo | undefined, jkt: string | null, now: number): Promise<RefreshResult> {
    let cur = presented;
    let r = tombstone;
    for (let step = 0; step < MAX_LINEAGE; step++) {
      if (r.status === 'active') {
        if (expiryOf(r, now) !== null) return { ok: false, reason: 'expired' };
        if (!holdsKey(r, jkt)) return stolen(presented.handle, r, client, now);
        return { ok: true, token: `${cur.handle}.${cur.secret}`, session: toSession(r) };
      }
      if (r.successor === null) return { ok: false, reason: 'revoked' };
      const next = await successorOf(cur, r.successor);
      // Not a refresh rotation of ours (a manual rotate, a renewal): the old token is simply dead.
      if (next === null) return { ok: false, reason: 'revoked' };
      const s = await read(next.handle);
      if (s === null || !secretMatches(next.secret, s.secretHash)) return { ok: false, reason: 'revoked' };
      if (step === 0 && now - s.issuedAt >= graceMs) {
        const revoked = await revokeFamily(s.handle);
        emit('token-theft', { cause: 'reuse', handle: presented.handle, revoked, userId: tombstone.userId, ip: typeof client?.ip === 'string' ? client.ip : null, at: now });
        return { ok: false, reason: 'reused' };
      }
      cur = next;
      r = s;
    }
    return { ok: false, reason: 'revoked' };
  }

  /** Whether a refresh presenting `jkt` (a proof's key, or `null` for none) may use this family. */
  function holdsKey(r: SessionRecord, jkt: string | null): boolean {
    const bound = boundJkt(r.data);
    return bound === null || bound === jkt;
  }

  /** A bound family's token without a proof of its key: whoever sent it copied it. The family ends. */
  async function stolen(handle: string, live: SessionRecord, client: ClientInfo | undefined, now: number): Promise<RefreshResult> {
    const revoked = await revokeFamily(live.handle);
    emit('token-theft', { cause: 'dpop-key', handle, revoked, userId: live.userId, ip: typeof client?.ip === 'string' ? client.ip : null, at: now });
    return { ok: false, reason: 'wrong-key' };
  }

  async function rotate(token: unknown, client: ClientInfo | undefined, jkt: string | null, now: number): Promise<RefreshResult> {
    const parsed = parseToken(token);
    if (parsed === null) return { ok: false, reason: 'malformed' };
    for (let attempt = 0; ; attempt++) {
      const rec = await read(parsed.handle);
      if (rec === null || !secretMatches(parsed.secret, rec.secretHash)) return { ok: false, reason: 'unknown' };
      if (rec.status !== 'active') return follow(parsed, rec, client, jkt, now);
      if (rec.kind === kind && expiryOf(rec, now) === null && !holdsKey(rec, jkt)) return stolen(parsed.handle, rec, client, now);
      const successor = await derive((await keys())[0] as HmacKey, parsed);
      const rotated = await sessions.rotate(`${parsed.handle}.${parsed.secret}`, client === undefined ? { successor } : { successor, client });
      if (rotated.ok) return { ok: true, token: rotated.token, session: rotated.session };
      if (rotated.reason === 'expired-idle' || rotated.reason === 'expired-absolute') return { ok: false, reason: 'expired' };
      if (rotated.reason !== 'conflict' && rotated.reason !== 'revoked') return { ok: false, reason: rotated.reason === 'malformed' ? 'malformed' : 'unknown' };
      // Lost the race (or a data patch moved the version): look again. A concurrent winner left a tombstone to follow.
      if (attempt >= 3) return { ok: false, reason: 'revoked' };
    }
  }

  return {
    issue(input) {
      if (input?.data !== null && typeof input?.data === 'object' && Object.hasOwn(input.data, FAMILY_JKT)) {
        throw new LatchkeyTypeError(`data.${FAMILY_JKT} is where a family keeps its DPoP key: pass a verified proof as dpop instead`);
      }
      if (input?.dpop === undefined) return sessions.create(input);
      const { dpop, ...rest } = input;
      if (dpop === null || typeof dpop !== 'object' || dpop.ok !== true || typeof dpop.jkt !== 'string') {
        throw new LatchkeyTypeError('dpop must be a verified proof: the result of createDpopVerifier().verify() when it is ok');
      }
      const data = rest.data ?? {};
      if (data === null || typeof data !== 'object') throw new LatchkeyTypeError('data must be a plain object');
      return sessions.create({ ...rest, data: { ...data, [FAMILY_JKT]: dpop.jkt } });
    },

    async refresh(token, opts) {
      const client = opts?.client;
      const dpop = opts?.dpop;
      if (dpop !== undefined && (dpop === null || typeof dpop !== 'object' || dpop.ok !== true || typeof dpop.jkt !== 'string')) {
        throw new LatchkeyTypeError('dpop must be a verified proof: the result of createDpopVerifier().verify() when it is ok');
      }
      const ip = typeof client?.ip === 'string' && client.ip !== '' ? client.ip : null;
      const now = clock.now();
      // A throttled client is answered before anything is parsed or read: what this process knows, no store call.
      if (ip !== null && guessing !== null) {
        const retryAfter = guessing.brake.retryAfter(ip, now);
        if (retryAfter > 0) return { ok: false, reason: 'throttled', retryAfter };
      }
      return counted(await rotate(token, client, dpop?.jkt ?? null, now), ip, now);
    },

    async revoke(token) {
      const parsed = parseToken(token);
      if (parsed === null) return false;
      const rec = await read(parsed.handle);
      if (rec === null || !secretMatches(parsed.secret, rec.secretHash)) return false;
      return (await revokeFamily(rec.handle)).length > 0;
    },

    async revokeFamily(handle) {
      if (typeof handle !== 'string' || handle === '') return false;
      return (await revokeFamily(handle)).length > 0;
    },

    async session(handle) {
      if (typeof handle !== 'string' || handle === '') return null;
      const r = await liveRecord(read, handle, clock.now());
      return r === null || r.kind !== kind ? null : toSession(r);
    },

    on(event, listener) {
      if (event !== 'token-theft' && event !== 'anomaly') {
        throw new LatchkeyTypeError(`unknown event ${JSON.stringify(String(event)).slice(0, 40)}; RefreshTokens emits 'token-theft' and 'anomaly'`);
      }
      if (typeof listener !== 'function') throw new LatchkeyTypeError('on() needs a listener function');
      const list = listeners[event] as Array<typeof listener>;
      list.push(listener);
      return () => {
        const i = list.indexOf(listener);
        if (i !== -1) list.splice(i, 1);
      };
    },
  };
}

const REFRESH_OPTIONS = ['sessions', 'secret', 'graceWindow', 'guessing', 'onError'];
const ENGINE_OWNS = "refresh rotation reads the engine's store, on the engine's clock, within the engine's storeTimeout: pass createSessions({ store, clock, storeTimeout }) as sessions and remove";
const RETIRED: Record<string, string> = {
  store: `${ENGINE_OWNS} store`,
  clock: `${ENGINE_OWNS} clock`,
  storeTimeout: `${ENGINE_OWNS} storeTimeout`,
};

/** The throttle `option` asks for, on the engine's store, or `null` when it is off. */
function guessingBrake(option: RefreshTokensOptions['guessing'], engine: EngineInternals): { brake: StoreBrake; limit: number } | null {
  if (option === false) return null;
  const o = option ?? {};
  checkOptionKeys(o, 'createRefreshTokens()', ['threshold', 'window', 'maxClients'], { prefix: 'guessing.' });
  const limit = positiveInt('guessing.threshold', o.threshold ?? 20);
  const brake = engine.brake({
    // Per kind, apart from the engine's own guessing throttle on validation.
    name: `refresh-guessing:${engine.kind}`,
    limit,
    windowMs: durationOption('guessing.window', o.window ?? '1m', { min: 1 }),
    maxClients: positiveInt('guessing.maxClients', o.maxClients ?? 10_000),
  });
  return { brake, limit };
}

/** HMAC-SHA-512(key, info ‖ handle.secret): 16 bytes of handle, 32 of secret, in the engine's token format. */
async function derive(key: HmacKey, from: ParsedToken): Promise<ParsedToken> {
  const mac = await hmacSha512(key, `${INFO}${from.handle}.${from.secret}`);
  return { handle: toBase64url(mac.subarray(0, 16)), secret: toBase64url(mac.subarray(16, 48)) };
}
