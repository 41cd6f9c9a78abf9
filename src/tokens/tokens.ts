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
import type { Session } from '../core/model.js';
import { checkOptionKeys } from '../core/option-keys.js';
import type { CreateInput, Sessions } from '../core/sessions.js';
import type { JSONWebKeySet } from 'jose';
import { accessTokensOver, type AccessTokenResult, type AccessTokens, type AccessTokensOptions, type VerifyOptions } from './access.js';
import type { KeySet } from './keys.js';
import { createDpopVerifier, type DpopAlgorithm, type DpopFailure, type DpopNonceOptions, type DpopProof, type DpopVerifier } from './dpop.js';
import { checkDpopBinding, DPOP_DESCRIPTIONS, dpopChallenge, type DpopBindingFailure } from './dpop-answers.js';
import { storeReplayCache, type DpopReplayCache } from './dpop-replay.js';
import { boundJkt } from './lib/binding.js';
import { createRefreshTokens, type RefreshEvents, type RefreshOptions, type RefreshResult, type RefreshTokens, type RefreshTokensOptions } from './refresh.js';
import { tracedTokens } from './telemetry.js';

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
  /**
   * DPoP (RFC 9449): clients that send a `DPoP` proof at sign-in get access
   * tokens bound to their key (`cnf.jkt`, `token_type: DPoP`) and a refresh
   * family bound to it for its whole life; see {@link TokensDpopOptions}.
   * `false`: no DPoP (proofs are ignored, every token is a bearer token).
   * @default false
   */
  dpop?: TokensDpopOptions | false;
  /** Called with errors thrown by event listeners. @default none */
  onError?: (error: unknown) => void;
}

/** DPoP in token mode, see {@link TokensOptions.dpop}. */
export interface TokensDpopOptions {
  /** Accepted proof algorithms, all asymmetric. @default ['ES256'] */
  algorithms?: readonly DpopAlgorithm[];
  /** How old a proof may be (its `iat`), and how long its `jti` is remembered. @default '1m' */
  maxAge?: Duration;
  /** How far in the future a proof's `iat` may be (client clocks). @default '10s' */
  clockSkew?: Duration;
  /**
   * Server nonces (`DPoP-Nonce`, `use_dpop_nonce`): every proof must carry a
   * recent one, which bounds its age by the server's clock. The secret is
   * the same on every instance.
   * @default false
   */
  nonce?: DpopNonceOptions | false;
  /**
   * Refuse clients without a key: sign-in and refresh need a proof, and no
   * access token is accepted as a plain bearer token.
   * @default false (a client without a proof gets bearer tokens)
   */
  required?: boolean;
  /**
   * Where the `jti` of every accepted proof is kept: shared by every
   * instance over the engine's store unless given.
   * @default storeReplayCache(the engine's store)
   */
  replayCache?: DpopReplayCache;
}

/** Token mode's DPoP verifier, see {@link Tokens.dpop}. */
export interface TokensDpop extends DpopVerifier {
  /** Whether a proof is required (no bearer tokens). */
  readonly required: boolean;
  /** {@link checkDpopBinding}: whether an access token's claims and the way it was presented go together. */
  binding: typeof checkDpopBinding;
  /** {@link dpopChallenge}: a `WWW-Authenticate: DPoP` challenge. */
  challenge: typeof dpopChallenge;
  /** What a refusal says to the client (never the proof). */
  describe(reason: DpopFailure | DpopBindingFailure): string;
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
  /** `'DPoP'` when the access token is bound to the client's key (`cnf.jkt`), `'Bearer'` otherwise. */
  readonly tokenType: 'Bearer' | 'DPoP';
  /** Access-token lifetime in seconds. */
  readonly expiresIn: number;
  readonly session: Session;
}

/** Result of {@link Tokens.refresh}: a new pair, or why not (`'throttled'` with `retryAfter` seconds). */
export type TokenRefreshResult = ({ readonly ok: true } & TokenPair) | Extract<RefreshResult, { readonly ok: false }>;

/** Token mode returned by {@link createTokens}. */
export interface Tokens {
  /**
   * Signs in: a new family and its first token pair. With `dpop` (a proof
   * {@link Tokens.dpop} verified at the sign-in endpoint), the access token
   * and the family are bound to the proof's key.
   *
   * @throws {LatchkeyTypeError} without `dpop` when DPoP is `required`.
   */
  issue(input: CreateInput & { userId: string; dpop?: DpopProof }): Promise<TokenPair>;
  /**
   * Rotates the refresh token and issues a new access token. A family bound
   * to a key needs `dpop`, a verified proof of that key: without it, or with
   * another key, the family is revoked (`'wrong-key'`, `token-theft`).
   */
  refresh(refreshToken: unknown, options?: RefreshOptions): Promise<TokenRefreshResult>;
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
  /** The DPoP proof verifier (RFC 9449), or `null` when DPoP is off. */
  readonly dpop: TokensDpop | null;
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
  'dpop',
  'onError',
];
const DPOP_OPTIONS = ['algorithms', 'maxAge', 'clockSkew', 'nonce', 'required', 'replayCache'];

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
  const dpop = dpopOf(options.dpop, engine);
  async function pair(refreshToken: string, session: Session, jkt: string | null): Promise<TokenPair> {
    if (session.userId === null) throw new LatchkeyTypeError('token mode needs sessions with a userId');
    const extra = claimsOf === undefined ? undefined : await claimsOf(session);
    const accessToken = await access.sign({
      subject: session.userId,
      sessionId: session.handle,
      authTime: session.authTime,
      scope: extra?.scope,
      claims: extra?.claims,
      ...(jkt === null ? {} : { jkt }),
    });
    return { accessToken, refreshToken, tokenType: jkt === null ? 'Bearer' : 'DPoP', expiresIn: access.ttlSeconds, session };
  }

  /** The proof a call came with, refused when DPoP is off or required and missing. */
  function proofOf(proof: DpopProof | undefined, what: string): DpopProof | undefined {
    if (proof !== undefined && dpop === null) throw new LatchkeyTypeError(`${what} got a DPoP proof, but DPoP is off: add the dpop option to createTokens()`);
    if (proof === undefined && dpop?.required === true) throw new LatchkeyTypeError(`${what} needs a DPoP proof: dpop.required is on`);
    return proof;
  }

  const tokens: Tokens = {
    access,
    refreshTokens,
    dpop,

    async issue(input) {
      if (input === null || typeof input !== 'object' || typeof input.userId !== 'string') {
        throw new LatchkeyTypeError('issue() takes { userId, data?, client?, authLevel? }');
      }
      const proof = proofOf(input.dpop, 'issue()');
      const { token, session } = await refreshTokens.issue(input);
      return pair(token, session, proof?.jkt ?? null);
    },

    async refresh(refreshToken, opts) {
      const proof = opts?.dpop;
      if (proof !== undefined && dpop === null) throw new LatchkeyTypeError('refresh() got a DPoP proof, but DPoP is off: add the dpop option to createTokens()');
      const r = await refreshTokens.refresh(refreshToken, opts);
      if (!r.ok) return r;
      if (proof === undefined && dpop?.required === true && boundJkt(r.session.data) === null) {
        // A family from before dpop.required: it has no key to prove, and bearer tokens are no longer accepted.
        await refreshTokens.revokeFamily(r.session.handle);
        return { ok: false, reason: 'wrong-key' };
      }
      // A bound family's access tokens carry its key; an unbound family's carry the key of a proof sent now, if any.
      return { ok: true, ...(await pair(r.token, r.session, boundJkt(r.session.data) ?? proof?.jkt ?? null)) };
    },

    verify: access.verify,

    revoke: (token) => refreshTokens.revoke(token),

    revokeFamily: (handle) => refreshTokens.revokeFamily(handle),

    revokeUser: (userId) => options.sessions.revokeUser(userId),

    jwks: () => options.keys.jwks(),

    on: (event, listener) => refreshTokens.on(event, listener),
  };
  // The engine's telemetry option traces token mode too; without it nothing wraps a call.
  return engine.telemetry === null ? tokens : tracedTokens(tokens, engine.telemetry);
}

/** The verifier `option` asks for, or `null` when DPoP is off. */
function dpopOf(option: TokensOptions['dpop'], engine: NonNullable<ReturnType<typeof engineInternals>>): TokensDpop | null {
  if (option === undefined || option === false) return null;
  if (option === null || typeof option !== 'object') throw new ConfigError("dpop must be false or { algorithms?, maxAge?, clockSkew?, nonce?, required?, replayCache? }, e.g. { algorithms: ['ES256'] }");
  checkOptionKeys(option, 'createTokens()', DPOP_OPTIONS, { prefix: 'dpop.' });
  const required = option.required ?? false;
  if (typeof required !== 'boolean') throw new ConfigError('dpop.required must be a boolean');
  const verifier = createDpopVerifier({
    replayCache: option.replayCache ?? storeReplayCache(engine.store, { clock: engine.clock }),
    clock: engine.clock,
    ...(option.algorithms !== undefined ? { algorithms: option.algorithms } : {}),
    ...(option.maxAge !== undefined ? { maxAge: option.maxAge } : {}),
    ...(option.clockSkew !== undefined ? { clockSkew: option.clockSkew } : {}),
    ...(option.nonce !== undefined ? { nonce: option.nonce } : {}),
  });
  return Object.freeze({
    algorithms: verifier.algorithms,
    requiresNonce: verifier.requiresNonce,
    nonce: () => verifier.nonce(),
    verify: (request: Parameters<DpopVerifier['verify']>[0]) => verifier.verify(request),
    required,
    binding: checkDpopBinding,
    challenge: dpopChallenge,
    describe: (reason: DpopFailure | DpopBindingFailure) => DPOP_DESCRIPTIONS[reason],
  });
}
