/**
 * The sealed-blob format and its codec: AES-256-GCM from `node:crypto`,
 * with a version byte and a key id in an authenticated header, and a context
 * (the cookie name) bound as associated data.
 *
 * Layout of a blob, before base64url (no padding):
 *
 * | offset | bytes | field |
 * |---|---|---|
 * | 0 | 1 | version, `0x01` |
 * | 1 | 4 | key id, big-endian (derived from the secret with HKDF) |
 * | 5 | 12 | IV (random for every seal) |
 * | 17 | n | ciphertext of the payload |
 * | 17 + n | 16 | GCM authentication tag |
 *
 * The associated data is the 5-byte header (version and key id) followed by
 * the UTF-8 context, so a blob opens only under the name it was sealed for.
 *
 * @module
 */
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { keyringOf, type DerivedKeys, type Keyring, type SealSecret } from './keys.js';
import { ConfigError, LatchkeyTypeError } from '../core/errors.js';
import { checkOptionKeys } from '../core/option-keys.js';
import { describe } from '../core/duration.js';

/**
 * The format version this code writes: the first byte of every blob.
 *
 * @example
 * ```ts
 * Buffer.from(blob, 'base64url')[0] === SEAL_VERSION;
 * ```
 */
export const SEAL_VERSION = 1;
/**
 * Bytes before the ciphertext: version (1), key id (4), IV (12).
 *
 * @example
 * ```ts
 * const overhead = HEADER_BYTES + TAG_BYTES; // 33 bytes on top of the payload, before base64url
 * ```
 */
export const HEADER_BYTES = 17;
/**
 * Bytes of the GCM tag after the ciphertext.
 *
 * @example
 * ```ts
 * const sealedLength = Math.ceil(((HEADER_BYTES + payloadBytes + TAG_BYTES) * 4) / 3);
 * ```
 */
export const TAG_BYTES = 16;

/** Why a blob did not open. Expected outcomes: values, never exceptions. */
export type UnsealFailure = 'malformed' | 'oversized' | 'unknown-version' | 'unknown-key' | 'invalid';

/** Result of {@link Sealer.unseal}. */
export type UnsealResult =
  | {
      readonly ok: true;
      readonly plaintext: Buffer;
      /** Opened with a key other than the first: seal it again so the old key can be retired. */
      readonly staleKey: boolean;
    }
  | { readonly ok: false; readonly reason: UnsealFailure };

/** Options of {@link createSealer}. */
export interface SealerOptions {
  /**
   * Secrets of at least 32 bytes, newest first: the first seals, all open.
   * Keys are derived from them once, here.
   */
  secrets: SealSecret | readonly SealSecret[];
  /**
   * The longest blob `unseal()` looks at, in characters; longer input fails
   * with `'oversized'` before any work.
   * @default 65536
   */
  maxBlobLength?: number;
}

/** Seals and opens blobs. Created by {@link createSealer}. */
export interface Sealer {
  /** Encrypts and authenticates `plaintext` for `context` (e.g. the cookie name); returns base64url. */
  seal(plaintext: Uint8Array | string, context: string): string;
  /**
   * Opens a blob sealed for `context`. Never throws, whatever the input:
   * malformed, truncated, tampered, re-ordered, wrong-key, unknown-version and
   * oversized blobs all return `{ ok: false, reason }`.
   */
  unseal(blob: unknown, context: string): UnsealResult;
}

/** IVs come from a pool filled by the CSPRNG: one `randomBytes(12)` call costs more than the whole encryption. */
const IV_POOL = Buffer.alloc(12 * 256);
let ivAt = IV_POOL.length;

function nextIv(): Buffer {
  if (ivAt >= IV_POOL.length) {
    randomFillSync(IV_POOL);
    ivAt = 0;
  }
  const iv = IV_POOL.subarray(ivAt, ivAt + 12);
  ivAt += 12;
  return iv;
}

/**
 * Creates a sealer. The secrets are checked here; key derivation
 * (HKDF-SHA256) happens once, at the first seal or unseal.
 *
 * Every failure takes the same path up to and including a full GCM
 * decryption (with a decoy key and a decoy buffer when the blob is too short
 * or names an unknown key), so the time taken does not tell which check
 * failed.
 *
 * @example
 * ```ts
 * import { createSealer } from 'latchkey/sealed';
 *
 * const sealer = createSealer({ secrets: [process.env.SEAL_SECRET!] });
 * const blob = sealer.seal(JSON.stringify({ cart: 3 }), 'cart');
 * const opened = sealer.unseal(blob, 'cart');
 * if (opened.ok) JSON.parse(opened.plaintext.toString());
 * ```
 */
export function createSealer(options: SealerOptions): Sealer {
  checkOptionKeys(options, 'createSealer()', ['secrets', 'maxBlobLength']);
  const keyring = keyringOf(options.secrets);
  const maxBlobLength = options.maxBlobLength ?? 65_536;
  if (typeof maxBlobLength !== 'number' || !Number.isSafeInteger(maxBlobLength) || maxBlobLength < 64) {
    throw new ConfigError(`maxBlobLength must be a whole number of at least 64 characters (got ${describe(maxBlobLength)})`);
  }
  return sealerFor(keyring, maxBlobLength);
}

/** @internal */
export function sealerFor(keyring: Keyring, maxBlobLength: number): Sealer {
  let ready: { readonly keys: DerivedKeys; readonly header: Buffer } | null = null;
  function derived(): { readonly keys: DerivedKeys; readonly header: Buffer } {
    if (ready === null) {
      const keys = keyring.keys();
      const header = Buffer.alloc(5);
      header[0] = SEAL_VERSION;
      header.writeUInt32BE(keys.current.id, 1);
      ready = { keys, header };
    }
    return ready;
  }
  // A well-formed decoy: version, an id, zero IV, empty ciphertext, zero tag.
  const decoy = Buffer.alloc(HEADER_BYTES + TAG_BYTES);

  // The context is nearly always the same cookie name: keep its bytes.
  const contexts = new Map<string, Buffer>();
  function contextBytes(context: string): Buffer {
    let bytes = contexts.get(context);
    if (bytes === undefined) {
      bytes = Buffer.from(context, 'utf8');
      if (contexts.size < 64) contexts.set(context, bytes);
    }
    return bytes;
  }

  return {
    seal(plaintext, context) {
      if (typeof context !== 'string') throw new LatchkeyTypeError('seal() needs a context string, e.g. the cookie name');
      const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
      const { keys, header } = derived();
      const iv = nextIv();
      const cipher = createCipheriv('aes-256-gcm', keys.current.key, iv);
      // Associated data: the header, then the context (GCM takes it in pieces).
      cipher.setAAD(header);
      cipher.setAAD(contextBytes(context));
      const body = cipher.update(data);
      const rest = cipher.final();
      return Buffer.concat([header, iv, body, rest, cipher.getAuthTag()]).toString('base64url');
    },

    unseal(blob, context) {
      let reason: UnsealFailure | null = null;
      let text = typeof blob === 'string' ? blob : '';
      if (typeof blob !== 'string' || typeof context !== 'string') reason = 'malformed';
      if (text.length > maxBlobLength) {
        reason ??= 'oversized';
        text = '';
      }
      let bytes = Buffer.from(text, 'base64url');
      // Buffer's decoder skips stray characters, takes '+' and '/' too and ignores
      // unused low bits: only the one canonical spelling of the bytes is accepted.
      if (bytes.toString('base64url') !== text) reason ??= 'malformed';
      if (bytes.length < HEADER_BYTES + TAG_BYTES) {
        reason ??= 'malformed';
        bytes = decoy;
      }
      if (bytes[0] !== SEAL_VERSION) reason ??= 'unknown-version';
      const keys = derived().keys;
      const found = keys.byId.get(bytes.readUInt32BE(1));
      if (found === undefined) reason ??= 'unknown-key';
      const tagAt = bytes.length - TAG_BYTES;
      let plaintext: Buffer | null = null;
      try {
        const decipher = createDecipheriv('aes-256-gcm', found?.key ?? keys.decoy, bytes.subarray(5, HEADER_BYTES));
        decipher.setAuthTag(bytes.subarray(tagAt));
        decipher.setAAD(bytes.subarray(0, 5));
        decipher.setAAD(contextBytes(typeof context === 'string' ? context : ''));
        const body = decipher.update(bytes.subarray(HEADER_BYTES, tagAt));
        const rest = decipher.final();
        plaintext = rest.length === 0 ? body : Buffer.concat([body, rest]);
      } catch {
        reason ??= 'invalid';
      }
      if (reason !== null || plaintext === null || found === undefined) return { ok: false, reason: reason ?? 'invalid' };
      return { ok: true, plaintext, staleKey: found.index !== 0 };
    },
  };
}
