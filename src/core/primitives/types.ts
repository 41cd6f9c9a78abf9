/**
 * The primitives latchkey's code is written against: randomness, base64url,
 * SHA-256, HMAC-SHA-512, HKDF-SHA-256, AES-256-GCM and a constant-time
 * compare. The logic that uses them (token format, sealing, CSRF tokens,
 * refresh derivation) exists once; only these functions differ per runtime,
 * one file each implementing this type:
 *
 * - `node.ts`: `node:crypto` and `Buffer` (synchronous hashing and HMAC, the
 *   fastest path on Node);
 * - `web.ts`: the Web platform alone (`crypto.getRandomValues`,
 *   `crypto.subtle`, `TextEncoder`, `btoa`/`atob`), with SHA-256 from the
 *   audited `@noble/hashes` where the API must stay synchronous.
 *
 * Code imports them as `#primitives`; package.json's `imports` map picks the
 * file by runtime condition (`node` → node.js; `workerd`, `edge-light`,
 * `deno`, `bun`, `browser`, `worker` and `default` → web.js). Both produce
 * the same bytes: test/core/primitives.test.ts runs one suite against both,
 * and test/runtimes/ opens on workerd what Node sealed and the reverse.
 *
 * @module
 */

declare const aesGcmKeyBrand: unique symbol;
declare const hmacKeyBrand: unique symbol;

/** An AES-256-GCM key in the runtime's own form (a `KeyObject`, a `CryptoKey`). */
export interface AesGcmKey {
  readonly [aesGcmKeyBrand]: true;
}

/** An HMAC-SHA-512 key in the runtime's own form. */
export interface HmacKey {
  readonly [hmacKeyBrand]: true;
}

/** What each runtime's primitives file exports. */
export interface Primitives {
  /** Fills `bytes` from the platform CSPRNG and returns it. At most 65,536 bytes per call. */
  randomFill(bytes: Uint8Array): Uint8Array;
  /** base64url without padding. */
  toBase64url(bytes: Uint8Array): string;
  /**
   * The bytes of base64url text. Lenient (what it does with characters
   * outside the alphabet is the runtime's): callers that need one canonical
   * spelling check the text first (see `isCanonicalBase64url`).
   */
  fromBase64url(text: string): Uint8Array;
  /** The UTF-8 bytes of `text`. */
  toUtf8(text: string): Uint8Array;
  /** How many bytes `text` takes in UTF-8. */
  utf8Length(text: string): number;
  /** UTF-8 text of `bytes` (invalid sequences become U+FFFD). */
  fromUtf8(bytes: Uint8Array): string;
  /** SHA-256 of the UTF-8 of `text`. Synchronous: it is on the validate path and behind getters. */
  sha256(text: string): Uint8Array;
  /** SHA-256 of the UTF-8 of `text`, base64url. */
  sha256Base64url(text: string): string;
  /** Whether two byte strings are equal, in time that depends on their length only. `false` for different lengths. */
  timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean;
  /**
   * HMAC-SHA-256 of the parts in order, with a raw key. Synchronous: a bound
   * cookie is checked on every request of a device-bound session.
   */
  hmacSha256(key: Uint8Array, parts: readonly Uint8Array[]): Uint8Array;
  /** An HMAC-SHA-512 key from raw bytes. */
  hmacSha512Key(raw: Uint8Array): Promise<HmacKey>;
  /** HMAC-SHA-512 of the UTF-8 of `text`. */
  hmacSha512(key: HmacKey, text: string): Promise<Uint8Array>;
  /** HKDF-SHA-256 (RFC 5869): `length` bytes. */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array>;
  /** An AES-256-GCM key from 32 raw bytes. */
  aesGcmKey(raw: Uint8Array): Promise<AesGcmKey>;
  /**
   * AES-256-GCM encryption with a 16-byte tag: returns `prefix` (its parts in
   * order), then the ciphertext, then the tag, in one array. The associated
   * data is the parts of `aad` in order. Node answers at once (no promise: it
   * is on every request of sealed mode), Web Crypto with a promise.
   */
  aesGcmSeal(key: AesGcmKey, iv: Uint8Array, aad: readonly Uint8Array[], plaintext: Uint8Array, prefix: readonly Uint8Array[]): Uint8Array | Promise<Uint8Array>;
  /**
   * AES-256-GCM decryption of ciphertext ‖ 16-byte tag; `null` when it does
   * not authenticate. Never throws (nor rejects). At once on Node, a promise
   * on the Web.
   */
  aesGcmOpen(key: AesGcmKey, iv: Uint8Array, aad: readonly Uint8Array[], sealed: Uint8Array): Uint8Array | null | Promise<Uint8Array | null>;
}
