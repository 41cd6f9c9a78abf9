/**
 * DPoP proofs (RFC 9449): the check a token endpoint and a protected
 * resource run on the `DPoP` request header, so that a token bound to a
 * client's key (`cnf.jkt`) is worthless without that key.
 *
 * {@link createDpopVerifier} checks everything section 4.3 lists: one
 * header holding one JWT; `typ` `dpop+jwt`; an asymmetric algorithm from an
 * allow-list; a public `jwk` in the header (a private member refuses the
 * proof) with which the signature verifies (`jose` does every JOSE step);
 * `htm` equal to the request method; `htu` equal to the request URI once
 * both are normalised (query and fragment ignored); `iat` within
 * `maxAge` in the past and `clockSkew` in the future; `ath` equal to the
 * hash of the access token presented with it; the server nonce when nonces
 * are on; and a `jti` seen for the first time (a replay cache shared by
 * every instance). Results are values: a refused proof never throws, and
 * nothing of the proof or the token ever reaches a message.
 *
 * Nonces are stateless: an HMAC of a time step under a server secret, so
 * instances agree without sharing anything (see {@link DpopNonceOptions}).
 *
 * @module
 */
import { jwtVerify, type CryptoKey, type JWTHeaderParameters } from 'jose';
import { sha256Base64url } from '#primitives';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { secretListArg } from '../core/arguments.js';
import { durationOption, type Duration } from '../core/duration.js';
import { ConfigError, LatchkeyTypeError } from '../core/errors.js';
import type { DpopReplayCache } from './dpop-replay.js';
import { DpopNonces } from './lib/dpop-nonce.js';
import { normalisedHtu } from './lib/htu.js';
import { proofKey, publicJwkFor, type PublicJwk } from '../core/proof-key.js';

/** The asymmetric algorithms a DPoP proof may be signed with. */
export type DpopAlgorithm = 'ES256' | 'ES384' | 'EdDSA' | 'RS256' | 'PS256';

/** Stateless server nonces (`DPoP-Nonce`), see {@link DpopVerifierOptions.nonce}. */
export interface DpopNonceOptions {
  /**
   * The key nonces are derived from: at least 32 random bytes, the same on
   * every instance. A list (newest first) rotates it: the newest mints,
   * every one verifies.
   */
  secret: string | Uint8Array | readonly (string | Uint8Array)[];
  /**
   * How often the nonce changes. A nonce is accepted during its own step
   * and one step either side, so a proof carrying one was made at most two
   * steps ago, whatever the client's clock says.
   * @default '5m'
   */
  step?: Duration;
}

/** Options of {@link createDpopVerifier}. Only `replayCache` is required. */
export interface DpopVerifierOptions {
  /**
   * Where the `jti` of every accepted proof is kept until the proof would
   * be too old anyway: `memoryReplayCache()` for one instance, a cache every
   * instance shares otherwise.
   */
  replayCache: DpopReplayCache;
  /**
   * The signature algorithms accepted, all asymmetric (`none` and HMAC never
   * are). Sent to clients as `algs` in `WWW-Authenticate`.
   * @default ['ES256']
   */
  algorithms?: readonly DpopAlgorithm[];
  /**
   * How old a proof may be (its `iat`), on top of `clockSkew`. Also how long
   * the replay cache keeps a `jti`. RFC 9449 asks for seconds or minutes.
   * @default '1m'
   */
  maxAge?: Duration;
  /**
   * Tolerated difference between the client's clock and the server's: a
   * proof may come from up to this far in the future (and this much older
   * than `maxAge`). At most 5 minutes.
   * @default '10s'
   */
  clockSkew?: Duration;
  /**
   * Require a server nonce in every proof (RFC 9449 sections 8 and 9): a
   * proof without one, or with a stale one, is refused with
   * `use_dpop_nonce` and the nonce to use. Nonces bound the age of a proof
   * by the server's clock, not the client's.
   * @default false
   */
  nonce?: DpopNonceOptions | false;
  /** @default the system clock */
  clock?: Clock;
}

/** The request a proof came with. */
export interface DpopRequest {
  /** The `DPoP` header: its value, or every value when it was sent more than once. */
  proof: string | readonly string[] | null | undefined;
  /** The request method, as sent (`'GET'`, `'POST'`). */
  method: string;
  /**
   * The absolute URL the client addressed (`https://api.example.com/v1/me?x=1`),
   * as the server knows itself from outside (behind a proxy, its public
   * origin). Query and fragment are ignored.
   */
  url: string | URL;
  /**
   * The access token presented with the proof, at a protected resource: the
   * proof must then carry its hash (`ath`). Leave it out at a token endpoint.
   */
  accessToken?: string;
}

/** Why a proof was refused. */
export type DpopFailure =
  | 'missing'
  | 'multiple'
  | 'malformed'
  | 'wrong-type'
  | 'algorithm-not-allowed'
  | 'invalid-key'
  | 'bad-signature'
  | 'invalid-claims'
  | 'htm-mismatch'
  | 'htu-mismatch'
  | 'iat-too-old'
  | 'iat-in-future'
  | 'ath-missing'
  | 'ath-mismatch'
  | 'nonce-missing'
  | 'nonce-stale'
  | 'nonce-invalid'
  | 'replayed';

/** A proof that passed every check. */
export interface DpopProof {
  readonly ok: true;
  /** RFC 7638 SHA-256 thumbprint of the proof key: what `cnf.jkt` of a bound token holds. */
  readonly jkt: string;
  readonly alg: DpopAlgorithm;
  /** The proof key's public members. */
  readonly jwk: PublicJwk;
  readonly jti: string;
  /** The proof's `iat`, seconds since epoch. */
  readonly iat: number;
  /** With nonces on, the nonce to send back in `DPoP-Nonce` (the current one); else `null`. */
  readonly nonce: string | null;
  /**
   * With nonces on, whether the proof's nonce is due to be replaced: good
   * now, but of the previous step (or minted with an older secret), so it
   * goes stale at the next step. A protected resource then sends `nonce` in
   * `DPoP-Nonce` with its successful answer (RFC 9449 section 8.2), and the
   * client moves on without a `use_dpop_nonce` refusal. `false` otherwise.
   */
  readonly nonceDue: boolean;
}

/** A refused proof: `error` is the OAuth error code to answer with, `reason` the exact cause. */
export interface DpopRefusal {
  readonly ok: false;
  /** `use_dpop_nonce` when the proof lacks a valid nonce, `invalid_dpop_proof` otherwise. */
  readonly error: 'invalid_dpop_proof' | 'use_dpop_nonce';
  readonly reason: DpopFailure;
  /** With nonces on, the nonce to send in `DPoP-Nonce` (the client needs it to retry); else `null`. */
  readonly nonce: string | null;
}

/** Result of {@link DpopVerifier.verify}. */
export type DpopResult = DpopProof | DpopRefusal;

/** The verifier returned by {@link createDpopVerifier}. */
export interface DpopVerifier {
  /** The accepted algorithms, for `algs` of `WWW-Authenticate` and `dpop_signing_alg_values_supported`. */
  readonly algorithms: readonly DpopAlgorithm[];
  /** Whether proofs must carry a server nonce. */
  readonly requiresNonce: boolean;
  /** The current nonce to send in `DPoP-Nonce`, or `null` when nonces are off. */
  nonce(): string | null;
  /**
   * Checks a proof against its request. Never throws for a bad proof; throws
   * only a `TypeError` for a bad `request` (a caller's mistake) or what the
   * replay cache throws (unreachable: answer 503).
   */
  verify(request: DpopRequest): Promise<DpopResult>;
}

/**
 * Longest `DPoP` header accepted, in characters: room for an RSA-8192 key
 * in the header and its signature; anything longer is refused unparsed.
 */
export const MAX_DPOP_PROOF_LENGTH = 8192;
const MAX_JTI = 256;
const TYP = 'dpop+jwt';
const JWS_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const ALGORITHMS: ReadonlySet<string> = new Set<DpopAlgorithm>(['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256']);
const OPTIONS: ReadonlySet<string> = new Set(['replayCache', 'algorithms', 'maxAge', 'clockSkew', 'nonce', 'clock']);

class InvalidKey extends Error {}
const INVALID_KEY = new InvalidKey();

/**
 * Creates a DPoP proof verifier.
 *
 * @throws {ConfigError} for an unknown option or an unsafe value, saying how to fix it.
 * @example
 * ```ts
 * import { createDpopVerifier, memoryReplayCache } from 'latchkey/tokens';
 *
 * const dpop = createDpopVerifier({ replayCache: memoryReplayCache(), algorithms: ['ES256', 'EdDSA'] });
 * const result = await dpop.verify({
 *   proof: req.headers.dpop,
 *   method: req.method,
 *   url: `https://api.example.com${req.url}`,
 *   accessToken, // at a protected resource
 * });
 * if (!result.ok) return unauthorized(dpopChallenge({ algs: dpop.algorithms, error: result.error }));
 * if (result.jkt !== claims.cnf?.jkt) return unauthorized(...); // or checkDpopBinding()
 * ```
 */
export function createDpopVerifier(options: DpopVerifierOptions): DpopVerifier {
  if (options === null || typeof options !== 'object') throw new LatchkeyTypeError('createDpopVerifier() takes an options object { replayCache, ... }');
  for (const key of Object.keys(options)) {
    if (!OPTIONS.has(key)) throw new ConfigError(`${key} is not an option of createDpopVerifier(); known options: ${[...OPTIONS].join(', ')}`);
  }
  const cache = options.replayCache;
  if (cache === null || typeof cache !== 'object' || typeof cache.add !== 'function') {
    throw new ConfigError('replayCache must be a DpopReplayCache { add(key, expiresAt) }: memoryReplayCache() for one instance, a shared one for several');
  }
  const algorithms = options.algorithms ?? ['ES256'];
  if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every((a) => ALGORITHMS.has(a))) {
    throw new ConfigError(`algorithms must be a non-empty list of ${[...ALGORITHMS].join(', ')}`);
  }
  const maxAgeMs = durationOption('maxAge', options.maxAge ?? '1m', { min: 1000 });
  if (maxAgeMs > 3_600_000) throw new ConfigError('maxAge must be at most 1 hour: a proof is meant to be used at once');
  const skewMs = durationOption('clockSkew', options.clockSkew ?? '10s');
  if (skewMs > 300_000) throw new ConfigError('clockSkew must be at most 5 minutes');
  const nonces = nonceOption(options.nonce);
  const clock = options.clock ?? systemClock;
  const allowed = [...new Set(algorithms)] as DpopAlgorithm[];
  const maxAgeSeconds = Math.floor(maxAgeMs / 1000);
  const skewSeconds = Math.ceil(skewMs / 1000);

  function refuse(reason: DpopFailure, now: number): DpopRefusal {
    const error = reason === 'nonce-missing' || reason === 'nonce-stale' || reason === 'nonce-invalid' ? 'use_dpop_nonce' : 'invalid_dpop_proof';
    return { ok: false, error, reason, nonce: nonces === null ? null : nonces.current(now) };
  }

  return {
    algorithms: Object.freeze(allowed),
    requiresNonce: nonces !== null,

    nonce() {
      return nonces === null ? null : nonces.current(clock.now());
    },

    async verify(request) {
      if (request === null || typeof request !== 'object') throw new LatchkeyTypeError('verify() takes { proof, method, url, accessToken? }');
      const { method, accessToken } = request;
      if (typeof method !== 'string' || !METHOD.test(method)) throw new LatchkeyTypeError('method must be the request method, e.g. "GET"');
      const htu = normalisedHtu(request.url);
      if (htu === null) throw new LatchkeyTypeError('url must be the absolute http(s) URL of the request, e.g. "https://api.example.com/v1/me"');
      if (accessToken !== undefined && (typeof accessToken !== 'string' || accessToken === '')) throw new LatchkeyTypeError('accessToken must be a non-empty string when given');
      const now = clock.now();

      let proof: unknown = request.proof;
      if (Array.isArray(proof)) {
        if (proof.length > 1) return refuse('multiple', now);
        proof = proof[0];
      }
      if (proof === undefined || proof === null || proof === '') return refuse('missing', now);
      // One JWT, nothing else: a comma-joined pair of repeated headers fails here.
      if (typeof proof !== 'string' || proof.length > MAX_DPOP_PROOF_LENGTH || !JWS_SHAPE.test(proof)) return refuse('malformed', now);

      let jwk: PublicJwk | null = null;
      let alg = '';
      let jkt = '';
      const resolveKey = async (header: JWTHeaderParameters): Promise<CryptoKey> => {
        jwk = publicJwkFor(header.alg, header.jwk);
        if (jwk === null) throw INVALID_KEY;
        alg = header.alg;
        try {
          const found = await proofKey(jwk, alg);
          jkt = found.jkt;
          return found.key;
        } catch {
          throw INVALID_KEY;
        }
      };
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jwtVerify(proof, resolveKey, {
          typ: TYP,
          algorithms: allowed,
          requiredClaims: ['jti', 'htm', 'htu', 'iat'],
          maxTokenAge: maxAgeSeconds,
          clockTolerance: skewSeconds,
          currentDate: new Date(now),
        }));
      } catch (err) {
        return refuse(reasonOf(err), now);
      }
      const key = jwk as PublicJwk | null;
      if (key === null) return refuse('invalid-key', now);
      const { jti, htm, iat } = payload;
      if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI || typeof htm !== 'string' || typeof payload.htu !== 'string' || typeof iat !== 'number') {
        return refuse('invalid-claims', now);
      }
      if (htm !== method) return refuse('htm-mismatch', now);
      if (normalisedHtu(payload.htu) !== htu) return refuse('htu-mismatch', now);
      let nonceDue = false;
      if (nonces !== null) {
        if (payload.nonce === undefined) return refuse('nonce-missing', now);
        const verdict = nonces.check(payload.nonce, now);
        if (verdict === 'stale' || verdict === 'invalid') return refuse(verdict === 'stale' ? 'nonce-stale' : 'nonce-invalid', now);
        nonceDue = verdict === 'due';
      }
      if (accessToken !== undefined) {
        if (payload.ath === undefined) return refuse('ath-missing', now);
        if (payload.ath !== sha256Base64url(accessToken)) return refuse('ath-mismatch', now);
      }
      // Last, once everything else holds, so that a refused proof never takes a place in the cache.
      const expiresAt = Math.max(iat * 1000, now) + maxAgeMs + skewMs;
      const replayKey = sha256Base64url(`${jkt}\0${jti}`);
      if (!(await cache.add(replayKey, expiresAt))) return refuse('replayed', now);
      return { ok: true, jkt, alg: alg as DpopAlgorithm, jwk: key, jti, iat, nonce: nonces === null ? null : nonces.current(now), nonceDue };
    },
  };
}

function nonceOption(option: DpopVerifierOptions['nonce']): DpopNonces | null {
  if (option === undefined || option === false) return null;
  if (option === null || typeof option !== 'object') throw new ConfigError("nonce must be false or { secret, step? }, e.g. { secret: process.env.DPOP_NONCE_SECRET, step: '5m' }");
  for (const key of Object.keys(option)) {
    if (key !== 'secret' && key !== 'step') throw new ConfigError(`nonce.${key} is not an option; nonce takes { secret, step? }`);
  }
  const keys = secretListArg('nonce.secret', option.secret, 'DPoP nonce secret', "nonce: { secret: process.env.DPOP_NONCE_SECRET }").map((k) => new Uint8Array(k));
  const stepMs = durationOption('nonce.step', option.step ?? '5m', { min: 10_000 });
  if (stepMs > 86_400_000) throw new ConfigError('nonce.step must be at most 1 day');
  return new DpopNonces(keys, stepMs);
}

/** Maps what jose (or the key resolver) threw to a reason. Anything unexpected is `malformed`: fail closed. */
function reasonOf(err: unknown): DpopFailure {
  if (err === INVALID_KEY) return 'invalid-key';
  const e = err as { code?: unknown; claim?: unknown; reason?: unknown } | null;
  switch (e?.code) {
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'algorithm-not-allowed';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'bad-signature';
    case 'ERR_JWT_EXPIRED':
      return e.claim === 'iat' ? 'iat-too-old' : 'invalid-claims';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (e.claim === 'typ') return 'wrong-type';
      if (e.claim === 'iat' && e.reason === 'check_failed') return 'iat-in-future';
      return 'invalid-claims';
    default:
      return 'malformed';
  }
}
