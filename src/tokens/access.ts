/**
 * Access tokens: short-lived JWTs (`typ: at+jwt`, RFC 9068) signed with the
 * key set's current key and verified against its live keys, with the
 * algorithm pinned to each key, `exp`/`nbf`/`iss`/`aud` checked within a
 * bounded clock skew, and typed results: an invalid token is a value, never
 * an exception, and never appears in a message or an event.
 *
 * @module
 */
import { jwtVerify, SignJWT, type JWTHeaderParameters, type JWTPayload, type JWTVerifyOptions } from 'jose';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { durationOption, type Duration } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import type { Store } from '../core/store.js';
import type { RevocationEpochs } from './epochs.js';
import type { KeySet } from './keys.js';
import { storeTimeoutMs } from '../core/store-call.js';
import { liveRecord } from './lib/lineage.js';

/** Options of {@link createAccessTokens}. */
export interface AccessTokensOptions {
  /** The signing keys: `await createKeySet(...)`. */
  keys: KeySet;
  /** `iss` of every token, checked on verification; usually your service's URL. */
  issuer: string;
  /** `aud` of every token; verification accepts any of them. */
  audience: string | readonly string[];
  /**
   * Lifetime of an access token.
   * @default '10m'
   */
  ttl?: Duration;
  /**
   * Tolerated clock difference between signer and verifier for `exp` and `nbf`, at most 5 minutes.
   * @default '30s'
   */
  clockSkew?: Duration;
  /** The session store, for `verify(token, { checkSession: true })`. @default none */
  store?: Store;
  /** How long the `checkSession` store read may take (not armed for in-process stores). @default '2s' */
  storeTimeout?: Duration;
  /** Per-user revocation epochs checked on every verification ("log out everywhere"). @default none */
  epochs?: RevocationEpochs;
  /** @default the system clock */
  clock?: Clock;
}

/** The claims of a verified access token. */
export interface AccessTokenClaims extends JWTPayload {
  readonly sub: string;
  /** The session (refresh family) handle the token was issued for. */
  readonly sid: string;
  readonly iss: string;
  readonly aud: string | string[];
  readonly iat: number;
  readonly exp: number;
  /** Space-separated scopes, as in OAuth 2.0. */
  readonly scope?: string;
  /** When the user last authenticated, seconds since epoch. */
  readonly auth_time?: number;
}

/** What to put in an access token. */
export interface AccessTokenInput {
  /** `sub`: the user. */
  subject: string;
  /** `sid`: the session handle (`session.handle`). */
  sessionId: string;
  /** `scope`: a space-separated string or a list. */
  scope?: string | readonly string[];
  /** `auth_time`, from `session.authTime` (ms since epoch). */
  authTime?: number | null;
  /** More claims. Registered names (`iss`, `sub`, `aud`, `exp`, `nbf`, `iat`, `jti`, `sid`, `scope`, `auth_time`) are refused. */
  claims?: Readonly<Record<string, unknown>>;
}

/** Why {@link AccessTokens.verify} refused a token. */
export type AccessTokenFailure =
  | 'malformed'
  | 'expired'
  | 'not-yet-valid'
  | 'bad-signature'
  | 'unknown-kid'
  | 'wrong-audience'
  | 'wrong-issuer'
  | 'wrong-type'
  | 'algorithm-not-allowed'
  | 'invalid-claims'
  | 'revoked';

/** Result of {@link AccessTokens.verify}. */
export type AccessTokenResult =
  | { readonly ok: true; readonly claims: AccessTokenClaims }
  | { readonly ok: false; readonly reason: AccessTokenFailure };

/** Options of {@link AccessTokens.verify}. */
export interface VerifyOptions {
  /**
   * Also check against the store that the session is still live (one store
   * read, more if it was refreshed since): use it for sensitive operations.
   * @default false
   */
  checkSession?: boolean;
}

/** Access tokens returned by {@link createAccessTokens}. */
export interface AccessTokens {
  /** Lifetime of a token in seconds (the `expires_in` of a token response). */
  readonly ttlSeconds: number;
  /** Signs an access token. */
  sign(input: AccessTokenInput): Promise<string>;
  /** Verifies an access token. Never throws for a bad token; throws only if a store it must read fails. */
  verify(token: unknown, options?: VerifyOptions): Promise<AccessTokenResult>;
}

/** Claims an application may not set through `claims`. */
export const REGISTERED_CLAIMS: ReadonlySet<string> = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'sid', 'scope', 'auth_time']);

/** Longest token verified; anything longer is refused before parsing. */
const MAX_TOKEN_LENGTH = 8192;
const TYP = 'at+jwt';

class UnknownKid extends Error {}
class AlgorithmMismatch extends Error {}
const UNKNOWN_KID = new UnknownKid();
const ALGORITHM_MISMATCH = new AlgorithmMismatch();

const FAILURES = Object.fromEntries(
  (
    [
      'malformed',
      'expired',
      'not-yet-valid',
      'bad-signature',
      'unknown-kid',
      'wrong-audience',
      'wrong-issuer',
      'wrong-type',
      'algorithm-not-allowed',
      'invalid-claims',
      'revoked',
    ] as const
  ).map((reason) => [reason, Object.freeze({ ok: false, reason })]),
) as { [R in AccessTokenFailure]: { readonly ok: false; readonly reason: R } };

/**
 * Creates an access-token signer and verifier.
 *
 * @example
 * ```ts
 * import { createAccessTokens, createKeySet } from 'latchkey/tokens';
 *
 * const keys = await createKeySet();
 * const access = createAccessTokens({ keys, issuer: 'https://auth.example.com', audience: 'api' });
 * const jwt = await access.sign({ subject: 'u1', sessionId: session.handle, scope: ['read'] });
 * const result = await access.verify(jwt);
 * if (result.ok) console.log(result.claims.sub);
 * else console.log(result.reason); // 'expired', 'bad-signature', ...
 * ```
 */
export function createAccessTokens(options: AccessTokensOptions): AccessTokens {
  if (options === null || typeof options !== 'object') throw new TypeError('createAccessTokens() takes an options object');
  const { keys, store, epochs } = options;
  const storeMs = store === undefined ? 0 : storeTimeoutMs(store, options.storeTimeout);
  if (keys === null || typeof keys !== 'object' || typeof keys.verificationKey !== 'function') {
    throw new ConfigError('keys must be a KeySet: await createKeySet(...)');
  }
  const issuer = options.issuer;
  if (typeof issuer !== 'string' || issuer === '') throw new ConfigError('issuer must be a non-empty string, e.g. your service URL');
  const audience = typeof options.audience === 'string' ? [options.audience] : options.audience;
  if (!Array.isArray(audience) || audience.length === 0 || !audience.every((a) => typeof a === 'string' && a !== '')) {
    throw new ConfigError('audience must be a non-empty string or a non-empty list of them');
  }
  const ttlMs = durationOption('ttl', options.ttl ?? '10m', { min: 1000 });
  if (ttlMs > 86_400_000) throw new ConfigError('ttl must be at most 1 day: access tokens cannot be revoked statelessly before they expire');
  const skewMs = durationOption('clockSkew', options.clockSkew ?? '30s');
  if (skewMs > 300_000) throw new ConfigError('clockSkew must be at most 5 minutes');
  if (keys.overlap < ttlMs + skewMs) {
    throw new ConfigError(`the key set's overlap (${keys.overlap} ms) must be at least ttl + clockSkew (${ttlMs + skewMs} ms), or tokens stop verifying before they expire`);
  }
  const ttlSeconds = Math.ceil(ttlMs / 1000);
  const skewSeconds = Math.ceil(skewMs / 1000);
  const clock = options.clock ?? systemClock;
  const systemTime = clock === systemClock;
  const signAudience = audience.length === 1 ? (audience[0] as string) : [...audience];
  const verifyAudience = [...audience];
  const requiredClaims = ['exp', 'iat', 'sub', 'sid'];

  // One resolver for every call: the `kid` picks the key and the key pins the algorithm (no key confusion).
  const resolveKey = (header: JWTHeaderParameters) => {
    const k = keys.verificationKey(header.kid);
    if (k === undefined) throw UNKNOWN_KID;
    if (k.alg !== header.alg) throw ALGORITHM_MISMATCH;
    return k.key;
  };

  // Built once per key-set change; with an injected clock, per call (it carries the time).
  let cachedOptions: JWTVerifyOptions | null = null;
  let cachedFor: readonly string[] | null = null;
  function verifyOptions(): JWTVerifyOptions {
    const algorithms = keys.algorithms();
    if (systemTime && cachedOptions !== null && cachedFor === algorithms) return cachedOptions;
    const o: JWTVerifyOptions = {
      algorithms: algorithms as string[],
      issuer,
      audience: verifyAudience,
      clockTolerance: skewSeconds,
      typ: TYP,
      requiredClaims,
    };
    if (!systemTime) o.currentDate = new Date(clock.now());
    cachedOptions = o;
    cachedFor = algorithms;
    return o;
  }

  async function check(token: string): Promise<AccessTokenResult> {
    try {
      const { payload } = await jwtVerify(token, resolveKey, verifyOptions());
      if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string' || (payload.scope !== undefined && typeof payload.scope !== 'string')) {
        return FAILURES['invalid-claims'];
      }
      return { ok: true, claims: payload as AccessTokenClaims };
    } catch (err) {
      return FAILURES[reasonOf(err)];
    }
  }

  return {
    ttlSeconds,

    async sign(input) {
      if (input === null || typeof input !== 'object') throw new TypeError('sign() takes { subject, sessionId, scope?, authTime?, claims? }');
      const { subject, sessionId, scope, authTime, claims } = input;
      if (typeof subject !== 'string' || subject === '') throw new TypeError('subject must be a non-empty string');
      if (typeof sessionId !== 'string' || sessionId === '') throw new TypeError('sessionId must be a non-empty string (session.handle)');
      const payload: Record<string, unknown> = {};
      if (claims !== undefined) {
        if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) throw new TypeError('claims must be a plain object');
        for (const [name, value] of Object.entries(claims)) {
          if (REGISTERED_CLAIMS.has(name)) throw new TypeError(`claims may not set the registered claim "${name}"`);
          payload[name] = value;
        }
      }
      payload.sid = sessionId;
      if (scope !== undefined) payload.scope = scopeString(scope);
      if (authTime !== undefined && authTime !== null) {
        if (!Number.isFinite(authTime)) throw new TypeError('authTime must be ms since epoch');
        payload.auth_time = Math.floor(authTime / 1000);
      }
      const key = await keys.signingKey();
      const now = Math.floor(clock.now() / 1000);
      return new SignJWT(payload)
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: TYP })
        .setSubject(subject)
        .setIssuer(issuer)
        .setAudience(signAudience)
        .setIssuedAt(now)
        .setNotBefore(now)
        .setExpirationTime(now + ttlSeconds)
        .sign(key.key);
    },

    async verify(token, opts) {
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return FAILURES.malformed;
      let result = await check(token);
      if (result.ok && epochs === undefined && opts?.checkSession !== true) return result;
      // Another instance may have rotated: re-read the key storage (rate-limited) and try once more.
      if (!result.ok && result.reason === 'unknown-kid' && (await keys.reloadIfStale().catch(() => false))) result = await check(token);
      if (!result.ok) return result;
      const { claims } = result;
      if (epochs !== undefined && (await epochs.isRevoked(claims.sub, claims.iat))) return FAILURES.revoked;
      if (opts?.checkSession === true) {
        if (store === undefined) throw new ConfigError('verify() with checkSession needs the store option of createAccessTokens()');
        if ((await liveRecord(store, claims.sid, clock.now(), storeMs)) === null) return FAILURES.revoked;
      }
      return result;
    },
  };
}

function scopeString(scope: string | readonly string[]): string {
  if (typeof scope === 'string') return scope;
  if (!Array.isArray(scope) || !scope.every((s) => typeof s === 'string' && s !== '' && !/\s/.test(s))) {
    throw new TypeError('scope must be a string or a list of scope names without spaces');
  }
  return scope.join(' ');
}

/** Maps whatever jose (or our key resolver) threw to a reason. Anything unexpected is `malformed`: fail closed. */
function reasonOf(err: unknown): AccessTokenFailure {
  if (err === UNKNOWN_KID) return 'unknown-kid';
  if (err === ALGORITHM_MISMATCH) return 'algorithm-not-allowed';
  const e = err as { code?: unknown; claim?: unknown } | null;
  switch (e?.code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'algorithm-not-allowed';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'bad-signature';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      switch (e.claim) {
        case 'nbf':
          return 'not-yet-valid';
        case 'iss':
          return 'wrong-issuer';
        case 'aud':
          return 'wrong-audience';
        case 'typ':
          return 'wrong-type';
        default:
          return 'invalid-claims';
      }
    default:
      return 'malformed';
  }
}
