/**
 * The public key a proof of possession carries in its JOSE header (`jwk`),
 * as DPoP (RFC 9449) and DBSC proofs do: checked against the header's
 * algorithm, refused when it holds any private member, reduced to its
 * public members (the ones RFC 7638 hashes), imported with `jose`, and
 * named by its RFC 7638 SHA-256 thumbprint.
 *
 * @module
 * @internal
 */
import { calculateJwkThumbprint, importJWK, type CryptoKey, type JWK } from 'jose';

/** The public members of a proof key: what a binding keeps and what its thumbprint covers. */
export type PublicJwk =
  | { readonly kty: 'EC'; readonly crv: string; readonly x: string; readonly y: string }
  | { readonly kty: 'RSA'; readonly n: string; readonly e: string }
  | { readonly kty: 'OKP'; readonly crv: string; readonly x: string };

/** Members that only a private or symmetric key has (RFC 7517, RFC 7518 section 6). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const B64URL = /^[A-Za-z0-9_-]+$/;

/** What each accepted algorithm requires of the key: the key type, and the curve with its coordinate length in bytes. */
const SHAPES: Readonly<Record<string, { kty: 'EC' | 'RSA' | 'OKP'; crv?: string; bytes?: number }>> = {
  ES256: { kty: 'EC', crv: 'P-256', bytes: 32 },
  ES384: { kty: 'EC', crv: 'P-384', bytes: 48 },
  EdDSA: { kty: 'OKP', crv: 'Ed25519', bytes: 32 },
  RS256: { kty: 'RSA' },
  PS256: { kty: 'RSA' },
};

/** A base64url member of exactly `bytes` bytes (unpadded: ceil(4n / 3) characters). */
function b64urlOf(value: unknown, bytes: number): value is string {
  return typeof value === 'string' && value.length === Math.ceil((bytes * 4) / 3) && B64URL.test(value);
}

/** A base64url member of at most `maxChars` characters. */
function b64urlUpTo(value: unknown, maxChars: number): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= maxChars && B64URL.test(value);
}

/**
 * The public members of `jwk` when it is a well-formed public key fit for
 * `alg`, else `null`. A key with a private member is refused whole, not
 * stripped: a client that sends its private key has lost it.
 */
export function publicJwkFor(alg: string, jwk: unknown): PublicJwk | null {
  const shape = SHAPES[alg];
  if (shape === undefined || jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) return null;
  const k = jwk as Record<string, unknown>;
  if (PRIVATE_MEMBERS.some((m) => Object.hasOwn(k, m))) return null;
  if (k.kty !== shape.kty) return null;
  if (k.use !== undefined && k.use !== 'sig') return null;
  if (k.alg !== undefined && k.alg !== alg) return null;
  switch (shape.kty) {
    case 'EC':
      if (k.crv !== shape.crv || !b64urlOf(k.x, shape.bytes as number) || !b64urlOf(k.y, shape.bytes as number)) return null;
      return { kty: 'EC', crv: shape.crv as string, x: k.x, y: k.y };
    case 'OKP':
      if (k.crv !== shape.crv || !b64urlOf(k.x, shape.bytes as number)) return null;
      return { kty: 'OKP', crv: shape.crv as string, x: k.x };
    case 'RSA':
      // jose refuses moduli under 2048 bits when it verifies; 8192 bits (1366 characters) is the most we take.
      if (!b64urlUpTo(k.n, 1366) || !b64urlUpTo(k.e, 8)) return null;
      return { kty: 'RSA', n: k.n, e: k.e };
  }
}

/** An imported proof key and its RFC 7638 SHA-256 thumbprint (base64url). */
export interface ProofKey {
  readonly key: CryptoKey;
  readonly jkt: string;
}

/**
 * The most proof keys kept imported. A client signs every proof with the
 * same key, so importing it (about 70 µs for P-256) and hashing it once per
 * client rather than once per request is most of a proof's cost; the keys
 * are public, so sharing them between verifiers is harmless, and a flood of
 * fresh keys only churns the cache.
 */
const MAX_CACHED_KEYS = 1024;
const cache = new Map<string, Promise<ProofKey>>();

/**
 * Imports a public JWK for `alg` with `jose` and computes its thumbprint
 * with `jose`, or answers them from a small LRU cache keyed by `alg` and
 * the key's public members. Rejects (jose's error) when the key is not a
 * valid point or modulus; failures are not cached.
 */
export function proofKey(jwk: PublicJwk, alg: string): Promise<ProofKey> {
  const id = jwk.kty === 'RSA' ? `${alg} ${jwk.n} ${jwk.e}` : `${alg} ${jwk.crv} ${jwk.x} ${jwk.kty === 'EC' ? jwk.y : ''}`;
  let entry = cache.get(id);
  if (entry !== undefined) {
    // Most recently used last: the oldest entry is the first to go.
    cache.delete(id);
    cache.set(id, entry);
    return entry;
  }
  entry = (async () => ({
    key: (await importJWK({ ...jwk } as JWK, alg)) as CryptoKey,
    jkt: await calculateJwkThumbprint({ ...jwk } as JWK, 'sha256'),
  }))();
  cache.set(id, entry);
  if (cache.size > MAX_CACHED_KEYS) cache.delete(cache.keys().next().value as string);
  entry.catch(() => {
    if (cache.get(id) === entry) cache.delete(id);
  });
  return entry;
}
