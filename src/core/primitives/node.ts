/**
 * The primitives on Node.js (package.json `imports`, condition `node`):
 * `node:crypto` and `Buffer`. Synchronous where Node allows it, which is
 * what keeps validation at about the cost of a bare HMAC check and sealed
 * mode's open near a bare AES-GCM decryption: AES-GCM answers without a
 * promise; key import, HKDF and HMAC (once per process, or off the hot
 * path) resolve at once.
 *
 * @module
 */
import * as nodeCrypto from 'node:crypto';
import { createCipheriv, createDecipheriv, createHash, createHmac, createSecretKey, hkdfSync, randomFillSync, timingSafeEqual as nodeTimingSafeEqual, type KeyObject } from 'node:crypto';
import type { AesGcmKey, HmacKey, Primitives } from './types.js';

export type { AesGcmKey, HmacKey } from './types.js';

const bufferOf = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));

// crypto.hash (Node >= 20.12) is a one-shot digest without a Hash object: about twice as fast for a short input.
const oneShot = (nodeCrypto as { hash?: (alg: string, data: string, enc: 'base64url' | 'buffer') => string | Buffer }).hash;

export const randomFill: Primitives['randomFill'] = (bytes) => randomFillSync(bytes);

export const toBase64url: Primitives['toBase64url'] = (bytes) => bufferOf(bytes).toString('base64url');

export const fromBase64url: Primitives['fromBase64url'] = (text) => Buffer.from(text, 'base64url');

// Buffer.from takes small strings from Node's pool: cheaper than TextEncoder's fresh ArrayBuffer.
export const toUtf8: Primitives['toUtf8'] = (text) => Buffer.from(text, 'utf8');

export const utf8Length: Primitives['utf8Length'] = (text) => Buffer.byteLength(text, 'utf8');

export const fromUtf8: Primitives['fromUtf8'] = (bytes) => bufferOf(bytes).toString('utf8');

export const sha256: Primitives['sha256'] = (text) =>
  oneShot !== undefined ? (oneShot('sha256', text, 'buffer') as Buffer) : createHash('sha256').update(text).digest();

export const sha256Base64url: Primitives['sha256Base64url'] = (text) =>
  oneShot !== undefined ? (oneShot('sha256', text, 'base64url') as string) : createHash('sha256').update(text).digest('base64url');

export const timingSafeEqual: Primitives['timingSafeEqual'] = (a, b) => a.byteLength === b.byteLength && nodeTimingSafeEqual(a, b);

export const hmacSha256: Primitives['hmacSha256'] = (key, parts) => {
  const mac = createHmac('sha256', key);
  for (const part of parts) mac.update(part);
  return mac.digest();
};

export const hmacSha512Key: Primitives['hmacSha512Key'] = async (raw) => createSecretKey(Buffer.from(raw)) as unknown as HmacKey;

export const hmacSha512: Primitives['hmacSha512'] = async (key, text) => createHmac('sha512', key as unknown as KeyObject).update(text).digest();

export const hkdfSha256: Primitives['hkdfSha256'] = async (ikm, salt, info, length) => new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));

// A Buffer, not a KeyObject: createCipheriv/createDecipheriv take a Buffer key about 10% faster.
export const aesGcmKey: Primitives['aesGcmKey'] = async (raw) => Buffer.from(raw) as unknown as AesGcmKey;

export const aesGcmSeal: Primitives['aesGcmSeal'] = (key, iv, aad, plaintext, prefix) => {
  const cipher = createCipheriv('aes-256-gcm', key as unknown as Buffer, iv);
  // GCM takes its associated data in pieces: the same as their concatenation.
  for (const part of aad) cipher.setAAD(part);
  const body = cipher.update(plaintext);
  const rest = cipher.final();
  const parts: Uint8Array[] = prefix.slice();
  parts.push(body);
  if (rest.length !== 0) parts.push(rest);
  parts.push(cipher.getAuthTag());
  return Buffer.concat(parts);
};

export const aesGcmOpen: Primitives['aesGcmOpen'] = (key, iv, aad, sealed) => {
  try {
    const tagAt = sealed.byteLength - 16;
    if (tagAt < 0) return null;
    const decipher = createDecipheriv('aes-256-gcm', key as unknown as Buffer, iv);
    decipher.setAuthTag(sealed.subarray(tagAt));
    for (const part of aad) decipher.setAAD(part);
    const body = decipher.update(sealed.subarray(0, tagAt));
    const rest = decipher.final();
    return rest.length === 0 ? body : Buffer.concat([body, rest]);
  } catch {
    return null;
  }
};
