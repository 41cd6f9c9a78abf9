/**
 * DBSC proof JWTs (the draft's "DBSC proof", `typ: dbsc+jwt`), verified
 * with `jose` exactly as the draft says:
 *
 * - registration: `alg` one of those offered, the public key in the JOSE
 *   header (`jwk`, no private member) fit for `alg`, the signature valid
 *   under it, a `jti` (the challenge) and, when offered, `authorization`;
 * - refresh: `alg` the registered one, no `jwk` in the header (the draft
 *   forbids it there), the signature valid under the registered key only.
 *
 * No `aud`, `iat` or `exp` is required (the draft dropped them; Chrome
 * sends none); unknown claims are ignored. Whether the `jti` is a live
 * challenge of the right session is the caller's next step.
 *
 * @module
 * @internal
 */
import { jwtVerify, type JWTHeaderParameters } from 'jose';
import { proofKey, publicJwkFor, type ProofKey, type PublicJwk } from '../../core/proof-key.js';
import type { DbscAlgorithm, DbscBinding, DbscProofFailure } from './types.js';

const TYP = 'dbsc+jwt';
const MAX_CLAIM = 512;

/** A proof whose signature verified, with what the caller checks next. */
export interface VerifiedProof {
  readonly ok: true;
  readonly alg: DbscAlgorithm;
  readonly jwk: PublicJwk;
  readonly jkt: string;
  /** The challenge the proof signed. */
  readonly jti: string;
  /** The `authorization` claim, when there is one. */
  readonly authorization: string | undefined;
}

/** A proof refused before its challenge was looked at. */
export interface RefusedProof {
  readonly ok: false;
  readonly reason: DbscProofFailure;
}

class InvalidKey extends Error {}
const INVALID_KEY = new InvalidKey();

/** Verifies a registration proof: the key comes from its header. */
export function verifyRegistrationProof(jwt: string, algorithms: readonly DbscAlgorithm[], now: number): Promise<VerifiedProof | RefusedProof> {
  return verify(jwt, algorithms, now, async (header) => {
    const jwk = publicJwkFor(header.alg, header.jwk);
    if (jwk === null) throw INVALID_KEY;
    return { jwk, ...(await proofKey(jwk, header.alg).catch(() => Promise.reject(INVALID_KEY))) };
  });
}

/** Verifies a refresh proof: only the registered key and algorithm are accepted. */
export function verifyRefreshProof(jwt: string, binding: DbscBinding, now: number): Promise<VerifiedProof | RefusedProof> {
  return verify(jwt, [binding.alg], now, async (header) => {
    // A refresh proof never carries a key: one that does is trying to bring its own.
    if (header.jwk !== undefined) throw INVALID_KEY;
    return { jwk: binding.jwk, ...(await proofKey(binding.jwk, binding.alg).catch(() => Promise.reject(INVALID_KEY))) };
  });
}

async function verify(
  jwt: string,
  algorithms: readonly DbscAlgorithm[],
  now: number,
  keyFor: (header: JWTHeaderParameters) => Promise<ProofKey & { jwk: PublicJwk }>,
): Promise<VerifiedProof | RefusedProof> {
  let jwk: PublicJwk | null = null;
  let alg = '';
  let jkt = '';
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(
      jwt,
      async (header) => {
        const found = await keyFor(header);
        jwk = found.jwk;
        jkt = found.jkt;
        alg = header.alg;
        return found.key;
      },
      { typ: TYP, algorithms: [...algorithms], requiredClaims: ['jti'], currentDate: new Date(now) },
    ));
  } catch (err) {
    return { ok: false, reason: reasonOf(err) };
  }
  const key = jwk as PublicJwk | null;
  const { jti, authorization } = payload;
  if (key === null) return { ok: false, reason: 'invalid-key' };
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_CLAIM) return { ok: false, reason: 'invalid-claims' };
  if (authorization !== undefined && (typeof authorization !== 'string' || authorization.length > MAX_CLAIM)) return { ok: false, reason: 'invalid-claims' };
  return { ok: true, alg: alg as DbscAlgorithm, jwk: key, jkt, jti, authorization };
}

/** Maps what jose (or the key resolver) threw to a reason; anything unexpected is `malformed`: fail closed. */
function reasonOf(err: unknown): DbscProofFailure {
  if (err === INVALID_KEY) return 'invalid-key';
  const e = err as { code?: unknown; claim?: unknown } | null;
  switch (e?.code) {
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'algorithm-not-allowed';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'bad-signature';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return e.claim === 'typ' ? 'wrong-type' : 'invalid-claims';
    case 'ERR_JWT_EXPIRED':
      return 'invalid-claims';
    default:
      return 'malformed';
  }
}
