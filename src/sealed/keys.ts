/**
 * Sealing keys: derived once, at construction, from the configured secrets
 * with HKDF-SHA256, never per request. The first secret seals; every secret
 * opens, so that keys can be rotated without logging anyone out.
 *
 * @module
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import { ConfigError } from '../core/errors.js';

/** A secret to derive sealing keys from: at least 32 bytes (a string counts its UTF-8 bytes). */
export type SealSecret = string | Uint8Array;

/**
 * The smallest secret accepted, in bytes.
 *
 * @example
 * ```ts
 * const secret = crypto.randomBytes(MIN_SECRET_BYTES).toString('base64url');
 * ```
 */
export const MIN_SECRET_BYTES = 32;

/** @internal one derived key */
export interface SealKey {
  /** 32-bit identifier written in the blob; derived from the secret, so it does not depend on the order of the list. */
  readonly id: number;
  /** AES-256-GCM key. */
  readonly key: Buffer;
  /** Position in the configured list; 0 seals. */
  readonly index: number;
}

/** @internal the derived keys, by id */
export interface Keyring {
  readonly current: SealKey;
  readonly byId: ReadonlyMap<number, SealKey>;
  /** A random key no blob was sealed with: unseal decrypts with it when the id is unknown, so that every failure takes the same path. */
  readonly decoy: Buffer;
}

// Domain separation: these keys are for sealed sessions only, even if the
// same secret is (wrongly) reused elsewhere.
const SALT = Buffer.from('latchkey/sealed/v1');
const KEY_INFO = Buffer.from('aes-256-gcm key');
const ID_INFO = Buffer.from('key id');

/** @internal validates the secrets and derives every key once */
export function deriveKeyring(secrets: unknown): Keyring {
  const list = typeof secrets === 'string' || secrets instanceof Uint8Array ? [secrets] : secrets;
  if (!Array.isArray(list) || list.length === 0) {
    throw new ConfigError(
      "secrets is required: pass one or more random secrets of at least 32 bytes, newest first, e.g. secrets: [process.env.SESSION_SECRET] (generate one with: node -e \"console.log(require('node:crypto').randomBytes(32).toString('base64url'))\")",
    );
  }
  const byId = new Map<number, SealKey>();
  list.forEach((secret: unknown, index) => {
    const ikm = secretBytes(secret, index);
    const key = Buffer.from(hkdfSync('sha256', ikm, SALT, KEY_INFO, 32));
    const id = Buffer.from(hkdfSync('sha256', ikm, SALT, ID_INFO, 4)).readUInt32BE(0);
    const same = byId.get(id);
    if (same !== undefined) {
      throw new ConfigError(`secrets[${index}] is the same as secrets[${same.index}]; remove the duplicate`);
    }
    byId.set(id, { id, key, index });
  });
  const current = [...byId.values()][0] as SealKey;
  return { current, byId, decoy: randomBytes(32) };
}

function secretBytes(secret: unknown, index: number): Buffer {
  if (typeof secret === 'string') {
    const bytes = Buffer.from(secret, 'utf8');
    if (bytes.length < MIN_SECRET_BYTES) {
      throw new ConfigError(
        `secrets[${index}] is ${bytes.length} bytes; a sealing secret must be at least ${MIN_SECRET_BYTES} random bytes. Generate one with: node -e "console.log(require('node:crypto').randomBytes(32).toString('base64url'))"`,
      );
    }
    return bytes;
  }
  if (secret instanceof Uint8Array) {
    if (secret.byteLength < MIN_SECRET_BYTES) {
      throw new ConfigError(
        `secrets[${index}] is ${secret.byteLength} bytes; a sealing secret must be at least ${MIN_SECRET_BYTES} random bytes, e.g. crypto.randomBytes(32)`,
      );
    }
    return Buffer.from(secret);
  }
  throw new ConfigError(`secrets[${index}] must be a string or a Uint8Array of at least ${MIN_SECRET_BYTES} bytes (got ${typeof secret})`);
}
