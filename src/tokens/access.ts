/**
 * Access tokens: short-lived JWTs (`typ: at+jwt`, RFC 9068) signed with the
 * key set's current key and verified against its live keys, with the
 * algorithm pinned to each key, `exp`/`nbf`/`iss`/`aud` checked within a
 * bounded clock skew, and typed results: an invalid token is a value, never
 * an exception, and never appears in a message or an event.
 *
 * Given the session store, verification also refuses a token whose session
 * (refresh family) has ended, without a store read per verification: see
 * {@link AccessTokensOptions.revocation}.
 *
 * @module
 */
import { jwtVerify, SignJWT, type JWTHeaderParameters, type JWTPayload, type JWTVerifyOptions } from 'jose';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { durationOption, type Duration } from '../core/duration.js';
import { ConfigError, LatchkeyTypeError } from '../core/errors.js';
import { checkOptionKeys } from '../core/option-keys.js';
import type { Store } from '../core/store.js';
import { callStore, storeTimeoutMs } from '../core/store-call.js';
import { MAX_ACCESS_TOKEN_LENGTH } from '../core/token.js';
import type { KeySet } from './keys.js';
import { ALGORITHM_MISMATCH, reasonOf, UNKNOWN_KID } from './lib/jose-failures.js';
import { liveRecord, type RecordReader } from './lib/lineage.js';
import { FamilyLiveness } from './lib/liveness.js';

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
   * @default '5m'
   */
  ttl?: Duration;
  /**
   * Tolerated clock difference between signer and verifier for `exp` and `nbf`, at most 5 minutes.
   * @default '30s'
   */
  clockSkew?: Duration;
  /**
   * The session store the tokens' sessions (`sid`) live in: needed for the
   * revocation check and for `verify(token, { checkSession: true })`.
   * Without it, verification is stateless: a token is valid until its `exp`.
   * @default none
   */
  store?: Store;
  /** How long one store read of verification may take (not armed for in-process stores). @default '2s' */
  storeTimeout?: Duration;
  /**
   * The revocation check of every verification (needs `store`): a token
   * whose session (refresh family) has ended (signed out, revoked, "log out
   * everywhere", theft, expired) is refused as `'revoked'`. Whether a
   * session is live is cached per `sid`; a cache miss costs one store read
   * (one more per refresh since the token was signed), a hit none.
   *
   * A session ended in this process is refused at once, whichever engine
   * over the same store object ended it. One ended by another process is
   * refused as soon as the store announces it (Redis pub/sub, PostgreSQL
   * LISTEN/NOTIFY: milliseconds), and in any case within `staleness`, the
   * longest a live verdict is trusted without a store read: the bound with a
   * store that announces nothing (memory, SQLite shared by several
   * processes), while the store's subscription is down, or if an
   * announcement is lost. `false` turns the check off: tokens then stay
   * valid until they expire.
   *
   * @default { staleness: '10s', maxEntries: 100000 } when `store` is given
   */
  revocation?: false | { staleness?: Duration; maxEntries?: number };
  /** @default the system clock */
  clock?: Clock;
  /** Called with background errors (the store's invalidation subscription could not be set up). @default none */
  onError?: (error: unknown) => void;
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
  /** The key the token is bound to (DPoP, RFC 9449): the RFC 7638 thumbprint of the client's public key. */
  readonly cnf?: { readonly jkt: string };
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
  /**
   * Binds the token to a client key (DPoP, RFC 9449): the key's RFC 7638
   * SHA-256 thumbprint, put in `cnf.jkt`. Such a token is accepted only with
   * a proof of that key.
   */
  jkt?: string;
  /** More claims. Registered names (`iss`, `sub`, `aud`, `exp`, `nbf`, `iat`, `jti`, `sid`, `scope`, `auth_time`, `cnf`) are refused. */
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
export const REGISTERED_CLAIMS: ReadonlySet<string> = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'sid', 'scope', 'auth_time', 'cnf']);
const JKT = /^[A-Za-z0-9_-]{43}$/;

export { MAX_ACCESS_TOKEN_LENGTH };
const TYP = 'at+jwt';

/** A compact JWS: three base64url parts (the last empty for `alg: none`, which jose then refuses by name), nothing else. */
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Whether a token is spelt the one way its bytes encode: compact, and the
 * signature's last character free of stray low bits. jose's decoder skips
 * whitespace and ignores those bits, so without this check several strings
 * verify as the same token. Header and payload need no such check: they are
 * signed as the text they are.
 */
function canonical(token: string): boolean {
  if (!COMPACT.test(token)) return false;
  const rest = (token.length - token.lastIndexOf('.') - 1) % 4;
  if (rest === 0) return true;
  if (rest === 1) return false;
  const bits = B64URL.indexOf(token.charAt(token.length - 1));
  return (bits & (rest === 2 ? 0b1111 : 0b11)) === 0;
}

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

const ACCESS_OPTIONS = ['keys', 'issuer', 'audience', 'ttl', 'clockSkew', 'store', 'storeTimeout', 'revocation', 'clock', 'onError'];

/** Where verification finds the sessions (refresh families) of its tokens. @internal */
export interface SessionSource {
  /** The store whose invalidations reach the revocation cache. */
  readonly store: Store;
  /** A bounded, mapped read of any record (tombstones included). */
  readonly read: RecordReader;
}

/** What {@link accessTokensOver} takes: the options that are not the session source's. @internal */
export type AccessSettings = Omit<AccessTokensOptions, 'store' | 'storeTimeout' | 'clock'>;

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
  checkOptionKeys(options, 'createAccessTokens()', ACCESS_OPTIONS, {
    retired: { epochs: 'give the store option, and access tokens are refused once their session ends (see revocation)' },
  });
  const { store } = options;
  if (store !== undefined && (store === null || typeof store !== 'object' || typeof store.get !== 'function' || store.capabilities === undefined)) {
    throw new ConfigError('store must be the latchkey Store the sessions live in');
  }
  let source: SessionSource | null = null;
  if (store !== undefined) {
    const storeMs = storeTimeoutMs(store, options.storeTimeout);
    source = { store, read: (handle) => callStore(() => store.get(handle), storeMs) };
  }
  const { keys, issuer, audience, ttl, clockSkew, revocation, onError } = options;
  return accessTokensOver({ keys, issuer, audience, ttl, clockSkew, revocation, onError }, source, options.clock ?? systemClock);
}

/**
 * Access tokens over a session source: `createAccessTokens()` builds one
 * from its `store` option, token mode from its engine.
 * @internal
 */
export function accessTokensOver(options: AccessSettings, source: SessionSource | null, clock: Clock): AccessTokens {
  const { keys } = options;
  if (keys === null || typeof keys !== 'object' || typeof keys.verificationKey !== 'function') {
    throw new ConfigError('keys must be a KeySet: await createKeySet(...)');
  }
  const issuer = options.issuer;
  if (typeof issuer !== 'string' || issuer === '') throw new ConfigError('issuer must be a non-empty string, e.g. your service URL');
  const audience = typeof options.audience === 'string' ? [options.audience] : options.audience;
  if (!Array.isArray(audience) || audience.length === 0 || !audience.every((a) => typeof a === 'string' && a !== '')) {
    throw new ConfigError('audience must be a non-empty string or a non-empty list of them');
  }
  const ttlMs = durationOption('ttl', options.ttl ?? '5m', { min: 1000 });
  if (ttlMs > 86_400_000) throw new ConfigError('ttl must be at most 1 day: access tokens cannot be revoked statelessly before they expire');
  const skewMs = durationOption('clockSkew', options.clockSkew ?? '30s');
  if (skewMs > 300_000) throw new ConfigError('clockSkew must be at most 5 minutes');
  if (keys.overlap < ttlMs + skewMs) {
    throw new ConfigError(`the key set's overlap (${keys.overlap} ms) must be at least ttl + clockSkew (${ttlMs + skewMs} ms), or tokens stop verifying before they expire`);
  }
  const onError = options.onError ?? (() => {});
  if (typeof onError !== 'function') throw new ConfigError('onError must be a function');
  const liveness = livenessOf(options.revocation, source, { clock, endedForMs: ttlMs + skewMs, onError });
  const ttlSeconds = Math.ceil(ttlMs / 1000);
  const skewSeconds = Math.ceil(skewMs / 1000);
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
      if (input === null || typeof input !== 'object') throw new LatchkeyTypeError('sign() takes { subject, sessionId, scope?, authTime?, jkt?, claims? }');
      const { subject, sessionId, scope, authTime, claims, jkt } = input;
      if (typeof subject !== 'string' || subject === '') throw new LatchkeyTypeError('subject must be a non-empty string');
      if (typeof sessionId !== 'string' || sessionId === '') throw new LatchkeyTypeError('sessionId must be a non-empty string (session.handle)');
      const payload: Record<string, unknown> = {};
      if (claims !== undefined) {
        if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) throw new LatchkeyTypeError('claims must be a plain object');
        for (const [name, value] of Object.entries(claims)) {
          if (REGISTERED_CLAIMS.has(name)) throw new LatchkeyTypeError(`claims may not set the registered claim "${name}"`);
          payload[name] = value;
        }
      }
      payload.sid = sessionId;
      if (jkt !== undefined) {
        if (typeof jkt !== 'string' || !JKT.test(jkt)) throw new LatchkeyTypeError('jkt must be an RFC 7638 SHA-256 thumbprint (43 base64url characters)');
        payload.cnf = { jkt };
      }
      if (scope !== undefined) payload.scope = scopeString(scope);
      if (authTime !== undefined && authTime !== null) {
        if (!Number.isFinite(authTime)) throw new LatchkeyTypeError('authTime must be ms since epoch');
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
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_ACCESS_TOKEN_LENGTH || !canonical(token)) return FAILURES.malformed;
      const checkSession = opts?.checkSession === true;
      let result = await check(token);
      if (result.ok) {
        if (liveness === null && !checkSession) return result;
      } else if (result.reason === 'unknown-kid' && (await keys.reloadIfStale().catch(() => false))) {
        // Another instance may have rotated: the key storage was re-read (rate-limited); try once more.
        result = await check(token);
      }
      if (!result.ok) return result;
      const sid = result.claims.sid;
      if (checkSession) {
        if (source === null) throw new ConfigError('verify() with checkSession needs the store option of createAccessTokens()');
        return (await liveRecord(source.read, sid, clock.now())) === null ? FAILURES.revoked : result;
      }
      if (liveness !== null) {
        const cached = liveness.lookup(sid, clock.now());
        if (cached === undefined ? !(await liveness.read(sid)) : !cached) return FAILURES.revoked;
      }
      return result;
    },
  };
}

/** The revocation check `option` asks for, or `null` for none. */
function livenessOf(
  option: AccessTokensOptions['revocation'],
  source: SessionSource | null,
  o: { clock: Clock; endedForMs: number; onError: (error: unknown) => void },
): FamilyLiveness | null {
  if (option === false) return null;
  if (option !== undefined && (option === null || typeof option !== 'object')) {
    throw new ConfigError("revocation must be false or { staleness?, maxEntries? }, e.g. { staleness: '10s' }");
  }
  checkOptionKeys(option ?? {}, 'createAccessTokens()', ['staleness', 'maxEntries'], { prefix: 'revocation.' });
  if (source === null) {
    if (option === undefined) return null;
    throw new ConfigError('revocation needs the store option: the store the sessions (refresh families) live in');
  }
  const stalenessMs = durationOption('revocation.staleness', option?.staleness ?? '10s', { min: 1 });
  const maxEntries = option?.maxEntries ?? 100_000;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new ConfigError('revocation.maxEntries must be a positive whole number');
  return new FamilyLiveness({ store: source.store, read: source.read, stalenessMs, maxEntries, ...o });
}

function scopeString(scope: string | readonly string[]): string {
  if (typeof scope === 'string') return scope;
  if (!Array.isArray(scope) || !scope.every((s) => typeof s === 'string' && s !== '' && !/\s/.test(s))) {
    throw new LatchkeyTypeError('scope must be a string or a list of scope names without spaces');
  }
  return scope.join(' ');
}
