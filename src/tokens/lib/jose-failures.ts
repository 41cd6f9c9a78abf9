/**
 * What jose (or the key resolver) threw, as the reason `verify()` gives: an
 * invalid token is a value, never an exception.
 *
 * @internal
 * @module
 */

/** The refusals jose's errors map to: a part of `AccessTokenFailure` (`revoked` is decided elsewhere). */
export type JoseFailure =
  | 'malformed'
  | 'expired'
  | 'not-yet-valid'
  | 'bad-signature'
  | 'unknown-kid'
  | 'wrong-audience'
  | 'wrong-issuer'
  | 'wrong-type'
  | 'algorithm-not-allowed'
  | 'invalid-claims';

class UnknownKid extends Error {}
class AlgorithmMismatch extends Error {}
/** Thrown by the key resolver for a `kid` no live key has; never leaves `verify()`. */
export const UNKNOWN_KID = new UnknownKid();
/** Thrown by the key resolver for a header `alg` that is not its key's; never leaves `verify()`. */
export const ALGORITHM_MISMATCH = new AlgorithmMismatch();

/** Maps whatever jose (or our key resolver) threw to a reason. Anything unexpected is `malformed`: fail closed. */
export function reasonOf(err: unknown): JoseFailure {
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
