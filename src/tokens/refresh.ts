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
import { createHmac } from 'node:crypto';
import { secretListArg } from '../core/arguments.js';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { durationOption, type Duration } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import type { ClientInfo, SessionRecord, Session } from '../core/model.js';
import { toSession } from '../core/model.js';
import { expiryOf } from '../core/policy.js';
import type { CreateInput, Sessions } from '../core/sessions.js';
import type { Store } from '../core/store.js';
import { parseToken, secretMatches, type ParsedToken } from '../core/token.js';
import { callStore, storeTimeoutMs } from '../core/store-call.js';
import { liveRecord, MAX_LINEAGE } from './lib/lineage.js';

/** Options of {@link createRefreshTokens}. */
export interface RefreshTokensOptions {
  /**
   * The session engine. Its `idleTimeout` is how long an unused refresh token
   * lives, its `absoluteTimeout` how long a family lives (e.g. `'14d'`, `'30d'`).
   */
  sessions: Sessions;
  /** The store given to `createSessions()`: refresh reads tombstones the engine does not expose. */
  store: Store;
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
   * How long one store read may take before it fails with
   * `StoreUnavailableError`, as the engine's `storeTimeout`. Give the
   * engine's.
   * @default '2s'
   */
  storeTimeout?: Duration;
  /** The engine's clock. @default the system clock */
  clock?: Clock;
  /** Called with errors thrown by event listeners. @default none */
  onError?: (error: unknown) => void;
}

/** Why {@link RefreshTokens.refresh} refused a token. `'reused'` means theft was detected and the family revoked. */
export type RefreshFailure = 'malformed' | 'unknown' | 'expired' | 'revoked' | 'reused';

/** Result of {@link RefreshTokens.refresh}. */
export type RefreshResult =
  | {
      readonly ok: true;
      /** The new refresh token: send it to the client in place of the old one. */
      readonly token: string;
      /** The family's live session; `session.handle` is the access token's `sid`. */
      readonly session: Session;
    }
  | { readonly ok: false; readonly reason: RefreshFailure };

/** A rotated refresh token was presented after the grace window. Handles only, never tokens. */
export interface TokenTheftEvent {
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
}

/** Refresh tokens returned by {@link createRefreshTokens}. */
export interface RefreshTokens {
  /** Starts a family (signs in): a session with a fresh refresh token. */
  issue(input?: CreateInput): Promise<{ token: string; session: Session }>;
  /** Rotates a refresh token. Never throws for a bad token; throws only if the store fails. */
  refresh(token: unknown, options?: { client?: ClientInfo }): Promise<RefreshResult>;
  /** Signs out: revokes the family the token belongs to. Resolves whether a live session was revoked. */
  revoke(token: unknown): Promise<boolean>;
  /** The live session of the family that `handle` (any handle it ever had, e.g. an access token's `sid`) belongs to. */
  session(handle: string): Promise<Session | null>;
  /** Revokes the family that `handle` (any handle it ever had) belongs to. Resolves whether a live session was revoked. */
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
 * const refresh = createRefreshTokens({ sessions, store, secret: process.env.REFRESH_SECRET! });
 * refresh.on('token-theft', (e) => log.warn('refresh token reuse', e));
 *
 * const { token } = await refresh.issue({ userId: 'u1' });
 * const next = await refresh.refresh(token); // { ok: true, token, session }
 * ```
 */
export function createRefreshTokens(options: RefreshTokensOptions): RefreshTokens {
  if (options === null || typeof options !== 'object') throw new TypeError('createRefreshTokens() takes an options object');
  const { sessions, store } = options;
  if (sessions === null || typeof sessions !== 'object' || typeof sessions.rotate !== 'function') {
    throw new ConfigError('sessions must be the engine from createSessions()');
  }
  if (store === null || typeof store !== 'object' || typeof store.get !== 'function') {
    throw new ConfigError('store must be the Store given to createSessions()');
  }
  const keys = secretListArg('secret', options.secret, 'refresh secret', 'secret: process.env.REFRESH_SECRET');
  const timeoutMs = storeTimeoutMs(store, options.storeTimeout);
  const graceMs = durationOption('graceWindow', options.graceWindow ?? '10s');
  if (graceMs > 60_000) throw new ConfigError('graceWindow must be at most 1 minute: an old refresh token should not outlive its use');
  const clock = options.clock ?? systemClock;
  const onError = options.onError ?? (() => {});
  const listeners: Array<(e: TokenTheftEvent) => void> = [];

  function emit(e: TokenTheftEvent): void {
    for (const fn of listeners.slice()) {
      try {
        fn(e);
      } catch (err) {
        onError(err);
      }
    }
  }

  /** The successor `tombstone.successor` names, if `from` derives it under one of our keys. */
  function successorOf(from: ParsedToken, named: string): ParsedToken | null {
    for (const key of keys) {
      const next = derive(key, from);
      if (next.handle === named) return next;
    }
    return null;
  }

  async function revokeFamily(from: string): Promise<string[]> {
    const revoked: string[] = [];
    let h: string | null = from;
    for (let i = 0; h !== null && i < MAX_FAMILY; i++) {
      const r: SessionRecord | null = await callStore(() => store.get(h as string), timeoutMs);
      if (r === null) break;
      if (r.status === 'active') {
        if (await sessions.revoke(r.handle)) revoked.push(r.handle);
        break;
      }
      h = r.successor;
    }
    return revoked;
  }

  /** The presented token is no longer active: within the grace window, converge on the live successor; after it, theft. */
  async function follow(presented: ParsedToken, tombstone: SessionRecord, client: ClientInfo | undefined, now: number): Promise<RefreshResult> {
    let cur = presented;
    let r = tombstone;
    for (let step = 0; step < MAX_LINEAGE; step++) {
      if (r.status === 'active') {
        if (expiryOf(r, now) !== null) return { ok: false, reason: 'expired' };
        return { ok: true, token: `${cur.handle}.${cur.secret}`, session: toSession(r) };
      }
      if (r.successor === null) return { ok: false, reason: 'revoked' };
      const next = successorOf(cur, r.successor);
      // Not a refresh rotation of ours (a manual rotate, a renewal): the old token is simply dead.
      if (next === null) return { ok: false, reason: 'revoked' };
      const s = await callStore(() => store.get(next.handle), timeoutMs);
      if (s === null || !secretMatches(next.secret, s.secretHash)) return { ok: false, reason: 'revoked' };
      if (step === 0 && now - s.issuedAt >= graceMs) {
        const revoked = await revokeFamily(s.handle);
        emit({ handle: presented.handle, revoked, userId: tombstone.userId, ip: typeof client?.ip === 'string' ? client.ip : null, at: now });
        return { ok: false, reason: 'reused' };
      }
      cur = next;
      r = s;
    }
    return { ok: false, reason: 'revoked' };
  }

  return {
    issue(input) {
      return sessions.create(input);
    },

    async refresh(token, opts) {
      const client = opts?.client;
      const parsed = parseToken(token);
      if (parsed === null) return { ok: false, reason: 'malformed' };
      const now = clock.now();
      for (let attempt = 0; ; attempt++) {
        const rec = await callStore(() => store.get(parsed.handle), timeoutMs);
        if (rec === null || !secretMatches(parsed.secret, rec.secretHash)) return { ok: false, reason: 'unknown' };
        if (rec.status !== 'active') return follow(parsed, rec, client, now);
        const successor = derive(keys[0] as Buffer, parsed);
        const rotated = await sessions.rotate(`${parsed.handle}.${parsed.secret}`, client === undefined ? { successor } : { successor, client });
        if (rotated.ok) return { ok: true, token: rotated.token, session: rotated.session };
        if (rotated.reason === 'expired-idle' || rotated.reason === 'expired-absolute') return { ok: false, reason: 'expired' };
        if (rotated.reason !== 'conflict' && rotated.reason !== 'revoked') return { ok: false, reason: rotated.reason === 'malformed' ? 'malformed' : 'unknown' };
        // Lost the race (or a data patch moved the version): look again. A concurrent winner left a tombstone to follow.
        if (attempt >= 3) return { ok: false, reason: 'revoked' };
      }
    },

    async revoke(token) {
      const parsed = parseToken(token);
      if (parsed === null) return false;
      const rec = await callStore(() => store.get(parsed.handle), timeoutMs);
      if (rec === null || !secretMatches(parsed.secret, rec.secretHash)) return false;
      return (await revokeFamily(rec.handle)).length > 0;
    },

    async revokeFamily(handle) {
      if (typeof handle !== 'string' || handle === '') return false;
      return (await revokeFamily(handle)).length > 0;
    },

    async session(handle) {
      if (typeof handle !== 'string' || handle === '') return null;
      const r = await liveRecord(store, handle, clock.now(), timeoutMs);
      return r === null ? null : toSession(r);
    },

    on(event, listener) {
      if (event !== 'token-theft') throw new TypeError(`unknown event ${JSON.stringify(String(event))}; RefreshTokens emits 'token-theft'`);
      if (typeof listener !== 'function') throw new TypeError('on() needs a listener function');
      listeners.push(listener);
      return () => {
        const i = listeners.indexOf(listener);
        if (i !== -1) listeners.splice(i, 1);
      };
    },
  };
}

/** HMAC-SHA-512(key, info ‖ handle.secret): 16 bytes of handle, 32 of secret, in the engine's token format. */
function derive(key: Buffer, from: ParsedToken): ParsedToken {
  const mac = createHmac('sha512', key).update(INFO).update(from.handle).update('.').update(from.secret).digest();
  return { handle: mac.subarray(0, 16).toString('base64url'), secret: mac.subarray(16, 48).toString('base64url') };
}
