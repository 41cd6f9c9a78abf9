/**
 * The primitives on the Web platform alone (package.json `imports`: every
 * condition but `node`, e.g. workerd, edge-light, deno, bun, browser):
 * `crypto.getRandomValues`, `crypto.subtle` (HMAC, HKDF, AES-GCM: native
 * and constant-time), `TextEncoder`/`TextDecoder` and `btoa`/`atob`. SHA-256
 * comes from `@noble/hashes` (audited) because its callers are synchronous:
 * secret hashing on the validate path and the CSRF-token getter. No `node:`
 * module and no `Buffer`.
 *
 * @module
 */
import { hmac } from '@noble/hashes/hmac';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2';
import type { AesGcmKey, HmacKey, Primitives } from './types.js';

export type { AesGcmKey, HmacKey } from './types.js';

/** A Web Crypto key. */
type WebKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes as Web Crypto takes them (an ArrayBuffer-backed view). */
const view = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => bytes as Uint8Array<ArrayBuffer>;

function concat(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let length = 0;
  for (const p of parts) length += p.byteLength;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

export const randomFill: Primitives['randomFill'] = (bytes) => crypto.getRandomValues(bytes);

export const toBase64url: Primitives['toBase64url'] = (bytes) => {
  let binary = '';
  // String.fromCharCode takes its arguments on the stack: a chunk at a time.
  for (let i = 0; i < bytes.byteLength; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
};

export const fromBase64url: Primitives['fromBase64url'] = (text) => {
  let binary: string;
  try {
    binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    // Not base64 at all: as Node's lenient decoder would, nothing usable.
    return new Uint8Array(0);
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
};

export const toUtf8: Primitives['toUtf8'] = (text) => encoder.encode(text);

export const utf8Length: Primitives['utf8Length'] = (text) => {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair: one code point, four bytes.
      n += 4;
      i++;
    } else n += 3; // including a lone surrogate, which UTF-8 writes as U+FFFD
  }
  return n;
};

export const fromUtf8: Primitives['fromUtf8'] = (bytes) => decoder.decode(bytes);

export const sha256: Primitives['sha256'] = (text) => nobleSha256(encoder.encode(text));

export const sha256Base64url: Primitives['sha256Base64url'] = (text) => toBase64url(sha256(text));

export const timingSafeEqual: Primitives['timingSafeEqual'] = (a, b) => {
  if (a.byteLength !== b.byteLength) return false;
  // The usual constant-time construction (as in @noble/ciphers' equalBytes): no early exit, one OR of every XOR.
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
};

export const hmacSha256: Primitives['hmacSha256'] = (key, parts) => {
  const mac = hmac.create(nobleSha256, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
};

export const hmacSha512Key: Primitives['hmacSha512Key'] = async (raw) =>
  (await crypto.subtle.importKey('raw', view(raw), { name: 'HMAC', hash: 'SHA-512' }, false, ['sign'])) as unknown as HmacKey;

export const hmacSha512: Primitives['hmacSha512'] = async (key, text) =>
  new Uint8Array(await crypto.subtle.sign('HMAC', key as unknown as WebKey, encoder.encode(text)));

export const hkdfSha256: Primitives['hkdfSha256'] = async (ikm, salt, info, length) => {
  const key = await crypto.subtle.importKey('raw', view(ikm), 'HKDF', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: view(salt), info: view(info) }, key, length * 8));
};

export const aesGcmKey: Primitives['aesGcmKey'] = async (raw) =>
  (await crypto.subtle.importKey('raw', view(raw), 'AES-GCM', false, ['encrypt', 'decrypt'])) as unknown as AesGcmKey;

export const aesGcmSeal: Primitives['aesGcmSeal'] = async (key, iv, aad, plaintext, prefix) => {
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: 'AES-GCM', iv: view(iv), additionalData: concat(aad), tagLength: 128 }, key as unknown as WebKey, view(plaintext)),
  );
  return prefix.length === 0 ? sealed : concat([...prefix, sealed]);
};

export const aesGcmOpen: Primitives['aesGcmOpen'] = async (key, iv, aad, sealed) => {
  try {
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: view(iv), additionalData: concat(aad), tagLength: 128 }, key as unknown as WebKey, view(sealed));
    return new Uint8Array(plain);
  } catch {
    return null;
  }
};
