/**
 * Session tokens. A token is `handle.secret`: the handle is a public random
 * identifier (128 bits, safe to log and to show on a "your devices" page), the
 * secret is 256 random bits known only to the client. Stores keep a SHA-256
 * hash of the secret, never the secret, and compare in constant time.
 *
 * @module
 */
import { randomFill, sha256Base64url, timingSafeEqual, toBase64url } from '#primitives';

/** Length of a handle: 16 random bytes in base64url. */
export const HANDLE_LENGTH = 22;
/** Length of a secret: 32 random bytes in base64url. */
export const SECRET_LENGTH = 43;
/** Length of a whole token, `handle.secret`. */
export const TOKEN_LENGTH = HANDLE_LENGTH + 1 + SECRET_LENGTH;

/**
 * Longest access token (JWT) accepted, in characters, by token mode's
 * `verify()` and by the HTTP guard alike (one limit): room for RS256 tokens
 * with generous claims; anything longer is refused before it is parsed.
 * Exported by `latchkey/tokens`; kept here, below both.
 *
 * @example
 * ```ts
 * if (token.length > MAX_ACCESS_TOKEN_LENGTH) return unauthorized();
 * ```
 */
export const MAX_ACCESS_TOKEN_LENGTH = 8192;

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/;
const HANDLE_SHAPE = /^[A-Za-z0-9_-]{22}$/;

/** The two halves of a well-formed token. */
export interface ParsedToken {
  readonly handle: string;
  readonly secret: string;
}

/** A freshly minted token with its halves and the hash the store keeps. */
export interface MintedToken extends ParsedToken {
  readonly token: string;
  /** SHA-256 of the secret, base64url: what the store keeps. */
  readonly secretHash: string;
}

/**
 * Mints a new token from the platform CSPRNG.
 *
 * @example
 * ```ts
 * const { token, handle, secretHash } = mintToken();
 * ```
 */
export function mintToken(): MintedToken {
  const bytes = randomChunk();
  const handle = toBase64url(bytes.subarray(0, 16));
  const secret = toBase64url(bytes.subarray(16, 48));
  bytes.fill(0);
  return { token: `${handle}.${secret}`, handle, secret, secretHash: hashSecret(secret) };
}

// A CSPRNG call per token costs ~1.6 µs, most of it call overhead; filling a
// pool from the same CSPRNG 128 tokens at a time costs ~0.1 µs per token.
// Each chunk is handed out once and zeroed after use, as Node's randomUUID()
// cache does. The pool is allocated here but filled on first use: a Workers
// module's global scope refuses random numbers.
const CHUNK = 48;
const pool = new Uint8Array(CHUNK * 128);
let poolOffset = pool.length;

function randomChunk(): Uint8Array {
  if (poolOffset === pool.length) {
    randomFill(pool);
    poolOffset = 0;
  }
  const chunk = pool.subarray(poolOffset, poolOffset + CHUNK);
  poolOffset += CHUNK;
  return chunk;
}

/** Mints a new random handle (128 bits), e.g. for a record without a token. */
export function mintHandle(): string {
  return randomString(16);
}

/**
 * `bytes` random bytes from the platform CSPRNG, base64url: a secret of
 * `bytes * 8` bits of entropy.
 *
 * @example
 * ```ts
 * const csrfSecret = randomString(32); // 43 characters, 256 bits
 * ```
 */
export function randomString(bytes: number): string {
  return toBase64url(randomFill(new Uint8Array(bytes)));
}

/**
 * Splits a token into handle and secret, or returns `null` when it is not a
 * well-formed latchkey token. Never throws, whatever the input, and never
 * reads the store.
 *
 * @example
 * ```ts
 * parseToken(cookieValue)?.handle; // the public handle, or undefined
 * ```
 */
export function parseToken(value: unknown): ParsedToken | null {
  if (typeof value !== 'string' || value.length !== TOKEN_LENGTH || !TOKEN_SHAPE.test(value)) return null;
  return { handle: value.slice(0, HANDLE_LENGTH), secret: value.slice(HANDLE_LENGTH + 1) };
}

/** Whether a value has the shape of a handle (22 base64url characters). */
export function isHandle(value: unknown): value is string {
  return typeof value === 'string' && value.length === HANDLE_LENGTH && HANDLE_SHAPE.test(value);
}

/**
 * SHA-256 of a secret, base64url, as stored. The secret already has 256 bits
 * of entropy, so no salt or key stretching is needed: a leaked hash cannot be
 * turned back into a usable token.
 */
export function hashSecret(secret: string): string {
  return sha256Base64url(secret);
}

// Scratch space for the constant-time compare. secretMatches() is synchronous,
// so one pair serves every call; it only ever holds hashes, never a secret.
// Reusing it (instead of decoded bytes per call) halves the compare's cost.
const presentedBytes = new Uint8Array(SECRET_LENGTH);
const storedBytes = new Uint8Array(SECRET_LENGTH);

/** Compares a presented secret with a stored hash in constant time. Never throws. */
export function secretMatches(secret: string, storedHash: string): boolean {
  if (typeof storedHash !== 'string' || storedHash.length !== SECRET_LENGTH) return false;
  const presented = hashSecret(secret);
  // Both are 43 base64url (ASCII) characters: one byte each.
  for (let i = 0; i < SECRET_LENGTH; i++) {
    presentedBytes[i] = presented.charCodeAt(i);
    storedBytes[i] = storedHash.charCodeAt(i);
  }
  return timingSafeEqual(presentedBytes, storedBytes);
}
