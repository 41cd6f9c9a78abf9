/**
 * The types of latchkey's DBSC protocol core (Device Bound Session
 * Credentials, W3C WebAppSec draft): what a binding keeps, the narrow
 * challenge store it needs, its options, and the answers it produces.
 *
 * @module
 */
import type { BoundProofFailure } from '../../core/bound-events.js';
import type { Clock } from '../../core/clock.js';
import type { Duration } from '../../core/duration.js';
import type { PublicJwk } from '../../core/proof-key.js';
import type { HeaderLine } from '../request-session.js';

/** The algorithms a browser's session key may use (Chrome knows these two; `none` is never offered). */
export type DbscAlgorithm = 'ES256' | 'RS256';

/**
 * What a session keeps once its browser registered a key: JSON, to live in
 * the session record. It survives rotation (re-authentication, step-up,
 * renewal): the browser knows the session by `id`, not by the handle.
 */
export interface DbscBinding {
  /** The DBSC `session_identifier`: random, minted at registration, never changes. */
  readonly id: string;
  readonly alg: DbscAlgorithm;
  /** The public key, its public members only. */
  readonly jwk: PublicJwk;
  /** RFC 7638 SHA-256 thumbprint of `jwk`; the bound cookie's MAC covers it. */
  readonly jkt: string;
  /** When the key was registered, ms since epoch. */
  readonly at: number;
}

/** The session a DBSC request belongs to, as the caller found it from the session cookie. */
export interface DbscSession {
  /** The session's current handle. */
  readonly handle: string;
  /** Its binding, or `null` while it has none. */
  readonly binding: DbscBinding | null;
}

/**
 * Where challenges wait to be used: each one is good once, until it
 * expires, for the owner it was issued to. `take()` must be atomic: of two
 * concurrent takes of one challenge, at most one gets its owner, on every
 * instance sharing the store.
 *
 * The owner is an opaque string latchkey makes (`r.<handle>` for a
 * registration challenge, `s.<session identifier>` for a refresh
 * challenge); a store keeps it as it is.
 *
 * @example
 * ```ts
 * const challenges: DbscChallengeStore = {
 *   put: async (c, owner, expiresAt) => void (await redis.set(`dbsc:${c}`, owner, 'PXAT', expiresAt)),
 *   take: (c) => redis.getdel(`dbsc:${c}`),
 * };
 * ```
 */
export interface DbscChallengeStore {
  /** Keeps `challenge` for `owner` until `expiresAt` (ms since epoch). */
  put(challenge: string, owner: string, expiresAt: number): Promise<void>;
  /** Removes `challenge` and answers its owner, or `null` when it is unknown, expired or already taken. */
  take(challenge: string): Promise<string | null>;
}

/** Options of the short-lived bound cookie. */
export interface DbscCookieOptions {
  /**
   * Its name. `__Host-` for an origin-scoped session (the default); with
   * `domain` (a site-scoped session) it must be `__Secure-`.
   * @default '__Host-bound'
   */
  name?: string;
  /**
   * Its lifetime: what a copied bound cookie is worth. Chrome refreshes
   * ahead of time when less than 2 minutes are left, so values under about
   * 3 minutes cost a refresh on nearly every request. At most 1 hour.
   * @default '10m'
   */
  ttl?: Duration;
  /** @default 'lax' */
  sameSite?: 'lax' | 'strict' | 'none';
  /** Share it with subdomains; only with `scope.includeSite: true`. @default none (host-only) */
  domain?: string;
}

/** Options of the session scope sent in the session instructions. */
export interface DbscScopeOptions {
  /**
   * The origin the session covers, e.g. `'https://app.example.com'` (no
   * path). When absent, the caller's per-request `origin`, else left out
   * (browsers then take the registration endpoint's origin).
   * @default none
   */
  origin?: string;
  /**
   * `true`: the whole site (registrable domain); needs `cookie.domain` and a
   * `__Secure-` cookie. `false`: this origin only.
   * @default false
   */
  includeSite?: boolean;
  /**
   * Path prefixes the browser never defers for a refresh (static assets,
   * the sign-in page).
   * @default []
   */
  exclude?: readonly string[];
}

/** Options of {@link createDbsc}. `secret` and `challenges` are required. */
export interface DbscOptions {
  /**
   * The key of the bound cookie's MAC (and of the `authorization` values):
   * at least 32 random bytes, the same on every instance. A list, newest
   * first, rotates it: the newest signs, every one verifies.
   */
  secret: string | Uint8Array | readonly (string | Uint8Array)[];
  /** Where challenges live until used; shared by every instance. */
  challenges: DbscChallengeStore;
  /** @default ['ES256', 'RS256'] */
  algorithms?: readonly DbscAlgorithm[];
  /** Path of the registration endpoint (`POST`). @default '/auth/dbsc/register' */
  registrationPath?: string;
  /** Path of the refresh endpoint (`POST`). @default '/auth/dbsc/refresh' */
  refreshPath?: string;
  /** The bound cookie. @default { name: '__Host-bound', ttl: '10m', sameSite: 'lax' } */
  cookie?: DbscCookieOptions;
  /** The session's scope. @default { includeSite: false, exclude: [] } */
  scope?: DbscScopeOptions;
  /**
   * How long a challenge answered at once (registration, a refresh's 403)
   * stays good. A challenge sent ahead of the next refresh lives the bound
   * cookie's `ttl` longer, since it is used only when that cookie runs out.
   * @default '5m'
   */
  challengeTtl?: Duration;
  /**
   * Also send a one-time `authorization` value in the registration header,
   * and require the proof to carry it back.
   * @default false
   */
  authorization?: boolean;
  /** @default the system clock */
  clock?: Clock;
}

/** An HTTP answer for the caller to send as it is. */
export interface DbscAnswer {
  readonly status: number;
  /** `set-cookie` lines are appended, the others set. */
  readonly headers: readonly HeaderLine[];
  /** A JSON body (`content-type` is among `headers`), or `null` for none. */
  readonly body: string | null;
}

/** Anything a header can be read from by lower-case name: the HTTP layer's `HttpRequest` is one. */
export interface HeaderSource {
  header(name: string): string | undefined;
}

/** Per-request facts only the caller knows. */
export interface DbscContext {
  /** The request's origin as the HTTP layer resolved it (`https://app.example.com`), for `scope.origin`. */
  readonly origin?: string;
}

/** Why a proof JWT was refused. */
export type DbscProofFailure = 'missing-proof' | 'malformed' | 'wrong-type' | 'algorithm-not-allowed' | 'invalid-key' | 'bad-signature' | 'invalid-claims';

/** Why a registration was refused. */
export type DbscRegistrationFailure = DbscProofFailure | 'no-session' | 'already-bound' | 'unknown-challenge' | 'foreign-challenge' | 'authorization-mismatch';

/** Result of `register()`: the binding to keep in the session record (before sending the answer), or the refusal. */
export type DbscRegistrationResult =
  | { readonly ok: true; readonly binding: DbscBinding; readonly answer: DbscAnswer }
  | {
      readonly ok: false;
      readonly reason: DbscRegistrationFailure;
      /** Set when a genuine browser would not have been refused: emit `anomaly` `bound-proof-failed`. */
      readonly anomaly: BoundProofFailure | null;
      readonly answer: DbscAnswer;
    };

/** Why a refresh was answered with a new challenge (403) instead of a cookie. */
export type DbscChallengeReason = DbscProofFailure | 'stale-challenge' | 'foreign-challenge';

/** Result of `refresh()`. */
export type DbscRefreshResult =
  | { readonly outcome: 'refreshed'; readonly expiresAt: number; readonly answer: DbscAnswer }
  | { readonly outcome: 'challenged'; readonly reason: DbscChallengeReason; readonly anomaly: BoundProofFailure | null; readonly answer: DbscAnswer }
  /** The session is unknown, ended or bound under another identifier: the browser is told to end its DBSC session. */
  | { readonly outcome: 'terminated'; readonly reason: 'unknown-session'; readonly answer: DbscAnswer }
  /** Not a DBSC refresh at all (no `Sec-Secure-Session-Id`). */
  | { readonly outcome: 'refused'; readonly reason: 'missing-session-id'; readonly answer: DbscAnswer };

/** Why a bound cookie was refused. */
export type BoundCookieFailure = 'missing' | 'malformed' | 'forged' | 'expired';

/** Result of `checkBoundCookie()`. */
export type BoundCookieResult = { readonly ok: true; readonly expiresAt: number } | { readonly ok: false; readonly reason: BoundCookieFailure };
