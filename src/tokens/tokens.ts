/**
 * Token mode in one object: sign-in issues a short-lived access JWT and a
 * rotating refresh token; refresh rotates both; verification checks the
 * signature and claims, and that the token's session (refresh family) is
 * still live through a cache that needs no store read per verification;
 * sign-out, "log out everywhere" and theft detection end the family, and with
 * it every access token issued for it.
 *
 * @module
 */
import type { Duration } from '../core/duration.js';
import { engineInternals } from '../core/engine-internals.js';
import { ConfigError, LatchkeyTypeError } from '../core/errors.js';
import type { ClientInfo, Session } from '../core/model.js';
import { checkOptionKeys } from '../core/option-keys.js';
import type { CreateInput, Sessions } from '../core/sessions.js';
import type { JSONWebKeySet } from 'jose';
import { accessTokensOver, type AccessTokenResult, type AccessTokens, type AccessTokensOptions, type VerifyOptions } from './access.js';
import type { KeySet } from './keys.js';
import { createRefreshTokens, type RefreshEvents, type RefreshResult, type RefreshTokens, type RefreshTokensOptions } from './refresh.js';

/** Options of {@link createTokens}. */
export interface TokensOptions {
  /**
   * The session engine, from `createSessions()`: its timeouts are the refresh
   * tokens' lifetimes (e.g. `idleTimeout: '14d'`, `absoluteTimeout: '30d'`),
   * and token mode reads its store on its clock, within its `storeTimeout`.
   */
  sessions: Sessions;
  /** The signing keys: `await createKeySet(...)`. */
  keys: KeySet;
  /** `iss` of access tokens. */
  issuer: string;
  /** `aud` of access tokens. */
  audience: string | readonly string[];
  /** Key(s) deriving refresh-token successors, at least 32 bytes; see `createRefreshTokens()`. */
  refreshSecret: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /** Access-token lifetime. @default '5m' */
  accessTtl?: Duration;
  /** Clock skew tolerated on `exp`/`nbf`. @default '30s' */
  clockSkew?: Duration;
  /** Grace window of refresh-token rotation. @default '10s' */
  graceWindow?: Duration;
  /**
   * The refresh-token guessing throttle: see `RefreshTokensOptions.guessing`.
   * @default { threshold: 20, window: '1m', maxClients: 10000 }
   */
  guessing?: RefreshTokensOptions['guessing'];
  /**
   * How verification learns that a token's session (refresh family) ended:
   * see `AccessTokensOptions.revocation`. A family ended in this process is
   * refused at once; one ended by another process as soon as the store
   * announces it, and in any case within `staleness`. `false`: access tokens
   * stay valid until they expire, whatever happens to their session.
   * @default { staleness: '10s', maxEntries: 100000 }
   */
  revocation?: AccessTokensOptions['revocation'];
  /**
   * Scope and extra claims of the access tokens of a session, computed at
   * sign-in and at every refresh (e.g. from `session.data`).
   * @default none
   */
  claims?: (session: Session) => AccessClaimsOf | Promise<AccessClaimsOf>;
  /** Called with errors thrown by event listeners. @default none */
  onError?: (error: unknown) => void;
}

/** What {@link TokensOptions.claims} returns. */
export interface AccessClaimsOf {
  scope?: string | readonly string[];
  claims?: Readonly<Record<string, unknown>>;
}

/** An access token and a refresh token, as a token endpoint answers them. */
export interface TokenPair {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly tokenType: 'Bearer';
  /** Access-token lifetime in seconds. */
  readonly expiresIn: number;
  readonly session: Session;
}

/** Result of {@link Tokens.refresh}: a new pair, or why not (`'throttled'` with `retryAfter` seconds). */
export type TokenRefreshResult = ({ readonly ok: true } & TokenPair) | Extract<RefreshResult, { readonly ok: false }>;

/** Token mode returned by {@link createTokens}. */
export interface Tokens {
  /** Signs in: a new family and its first token pair. */
  issue(input: CreateInput & { userId: string }): Promise<TokenPair>;
  /** Rotates the refresh token and issues a new access token. */
  refresh(refreshToken: unknown, options?: { client?: ClientInfo }): Promise<TokenRefreshResult>;
  /**
   * Verifies an access token: signature, claims, and that its session
   * (refresh family) is live (cached; see {@link TokensOptions.revocation}).
   * `{ checkSession: true }` reads the store instead of the cache.
   */
  verify(accessToken: unknown, options?: VerifyOptions): Promise<AccessTokenResult>;
  /** Signs out: revokes the family of this refresh token, and with it the family's access tokens. */
  revoke(refreshToken: unknown): Promise<boolean>;
  /**
   * Ends the family that `handle` belongs to (any handle it ever had, such as
   * an access token's `sid`): "sign out that device". Resolves whether a live
   * family was ended.
   */
  revokeFamily(handle: string): Promise<boolean>;
  /** "Log out everywhere": revokes every family of the user, and with them their access tokens. */
  revokeUser(userId: string): Promise<string[]>;
  /** The public JWKS document. */
  jwks(): JSONWebKeySet;
  /** Subscribes to `token-theft` and `anomaly` (a client throttled for a burst of invalid refresh tokens). */
  on<K extends keyof RefreshEvents>(event: K, listener: (event: RefreshEvents[K]) => void): () => void;
  /** The underlying access-token signer and verifier. */
  readonly access: AccessTokens;
  /** The underlying refresh-token rotation. */
  readonly refreshTokens: RefreshTokens;
}

const TOKENS_OPTIONS = [
  'sessions',
  'keys',
  'issuer',
  'audience',
  'refreshSecret',
  'accessTtl',
  'clockSkew',
  'graceWindow',
  'guessing',
  'revocation',
  'claims',
  'onError',
];

const ENGINE_OWNS = "token mode reads the engine's store, on the engine's clock, within the engine's storeTimeout: pass createSessions({ store, clock, storeTimeout }) as sessions and remove";
const RETIRED: Record<string, string> = {
  // What callers of the per-user epochs, which the revocation check replaced, are told.
  epochs:
    'access tokens are refused once their session ends (sign-out, log out everywhere, theft) through the revocation check; remove epochs, and tune it with revocation: { staleness } (or turn it off with revocation: false)',
  store: `${ENGINE_OWNS} store`,
  clock: `${ENGINE_OWNS} clock`,
  storeTimeout: `${ENGINE_OWNS} storeTimeout`,
};

/**
 * Creates token mode over a session engine and a key set.
 *
 * @example
 * ```ts
 * import { createSessions } from 'latchkey';
 * import { sqliteStore } from 'latchkey/stores/sqlite';
 * import { createKeySet, createTokens } from 'latchkey/tokens';
 * import { fileKeyStorage } from 'latchkey/tokens/file';
 *
 * const store = sqliteStore({ path: './data/sessions.db' });
 * const sessions = createSessions({ store, idleTimeout: '14d', absoluteTimeout: '30d' });
 * const keys = await createKeySet({ storage: fileKeyStorage('./data/keys.json'), rotateEvery: '30d' });
 * const tokens = createTokens({
 *   sessions, keys,
 *   issuer: 'https://auth.example.com', audience: 'api',
 *   refreshSecret: process.env.REFRESH_SECRET!,
 * });
 *
 * const pair = await tokens.issue({ userId: 'u1' });        // after checking the password
 * const again = await tokens.refresh(pair.refreshToken);    // { ok: true, accessToken, refreshToken, ... }
 * const result = await tokens.verify(pair.accessToken);     // { ok: true, claims } or { ok: false, reason }
 * ```
 */
export function createTokens(options: TokensOptions): Tokens {
  checkOptionKeys(options, 'createTokens()', TOKENS_OPTIONS, { retired: RETIRED });
  const engine = engineInternals(options.sessions);
  if (engine === undefined) throw new ConfigError('sessions must be the engine from createSessions()');
  const claimsOf = options.claims;
  if (claimsOf !== undefined && typeof claimsOf !== 'function') throw new ConfigError('claims must be a function (session) => { scope?, claims? }');
  const access = accessTokensOver(
    {
      keys: options.keys,
      issuer: options.issuer,
      audience: options.audience,
      ttl: options.accessTtl,
      clockSkew: options.clockSkew,
      revocation: options.revocation,
      onError: options.onError,
    },
    { store: engine.store, read: engine.readRecord },
    engine.clock,
  );
  const refreshTokens = createRefreshTokens({
    sessions: options.sessions,
    secret: options.refreshSecret,
    ...(options.graceWindow !== undefined ? { graceWindow: options.graceWindow } : {}),
    ...(options.guessing !== undefined ? { guessing: options.guessing } : {}),
    ...(options.onError !== undefined ? { onError: options.onError } : {}),
  });
  async function pair(refreshToken: string, session: Session): Promise<TokenPair> {
    if (session.userId === null) throw new LatchkeyTypeError('token mode needs sessions with a userId');
    const extra = claimsOf === undefined ? undefined : await claimsOf(session);
    const accessToken = await access.sign({
      subject: session.userId,
      sessionId: session.handle,
      authTime: session.authTime,
      scope: extra?.scope,
      claims: extra?.claims,
    });
    return { accessToken, refreshToken, tokenType: 'Bearer', expiresIn: access.ttlSeconds, session };
  }

  return {
    access,
    refreshTokens,

    async issue(input) {
      if (input === null || typeof input !== 'object' || typeof input.userId !== 'string') {
        throw new LatchkeyTypeError('issue() takes { userId, data?, client?, authLevel? }');
      }
      const { token, session } = await refreshTokens.issue(input);
      return pair(token, session);
    },

    async refresh(refreshToken, opts) {
      const r = await refreshTokens.refresh(refreshToken, opts);
      if (!r.ok) return r;
      return { ok: true, ...(await pair(r.token, r.session)) };
    },

    verify: access.verify,

    revoke: (token) => refreshTokens.revoke(token),

    revokeFamily: (handle) => refreshTokens.revokeFamily(handle),

    revokeUser: (userId) => options.sessions.revokeUser(userId),

    jwks: () => options.keys.jwks(),

    on: (event, listener) => refreshTokens.on(event, listener),
  };
}
