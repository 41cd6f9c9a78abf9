/**
 * The signature algorithms of token mode's keys, named once for the key set
 * and its storage (which would otherwise import each other).
 *
 * @module
 */

/**
 * Signature algorithms a key set can use. `EdDSA` is Ed25519. `HS256` shares
 * one secret between signer and verifiers, so it suits a single service only
 * and is never published in the JWKS.
 *
 * @example
 * ```ts
 * const algorithm: SigningAlgorithm = 'ES256';
 * ```
 */
export type SigningAlgorithm = 'EdDSA' | 'ES256' | 'RS256' | 'HS256';

/** Every {@link SigningAlgorithm}, for checks of untrusted input (a key file, an option). @internal */
export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['EdDSA', 'ES256', 'RS256', 'HS256'];
