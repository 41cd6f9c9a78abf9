/**
 * The sealed-blob format and its codec: AES-256-GCM (`node:crypto` on
 * Node, Web Crypto elsewhere: the same bytes), with a version byte and a key id in an authenticated header, and a context
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
import { aesGcmOpen, aesGcmSeal, fromBase64url, randomFill, toBase64url, toUtf8 } from '#primitives';
import { keyringOf, type DerivedKeys, type Keyring, type SealKey, type SealSecret } from './keys.js';
import { ConfigError, LatchkeyTypeError } from '../core/errors.js';
import { checkOptionKeys } from '../core/option-keys.js';
import { describe } from '../core/duration.js';

/**
 * The format version this code writes: the first byte of every blob.
 *
 * @example
 * ```ts
 * blob.startsWith('AQ'); // base64url of the first byte, SEAL_VERSION (1)
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
      readonly plaintext: Uint8Array;
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

/**
 * Seals and opens blobs. Created by {@link createSealer}. Both methods are
 * asynchronous: Web Crypto, which does the work outside Node, is.
 */
export interface Sealer {
  /** Encrypts and authenticates `plaintext` for `context` (e.g. the cookie name); resolves base64url. */
  seal(plaintext: Uint8Array | string, context: string): Promise<string>;
  /**
   * Opens a blob sealed for `context`. Never rejects, whatever the input:
   * malformed, truncated, tampered, re-ordered, wrong-key, unknown-version and
   * oversized blobs all resolve `{ ok: false, reason }`.
   */
  unseal(blob: unknown, context: string): Promise<UnsealResult>;
}

/** IVs come from a pool filled by the CSPRNG: one CSPRNG call per IV costs more than the whole encryption. Filled on first use. */
const IV_POOL = new Uint8Array(12 * 256);
let ivAt = IV_POOL.length;

function nextIv(): Uint8Array {
  if (ivAt >= IV_POOL.length) {
    randomFill(IV_POOL);
    ivAt = 0;
  }
  const iv = IV_POOL.subarray(ivAt, ivAt + 12);
  ivAt += 12;
  return iv;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Whether `text` is the one canonical base64url spelling (no padding) of
 * some bytes: only alphabet characters, no impossible length, and zero
 * unused low bits in the last character. Decoders take more (stray
 * characters, `+` and `/`, set low bits): a blob is accepted in one spelling
 * only. Checked on the text, without encoding the bytes again.
 */
function isCanonicalBase64url(text: string): boolean {
  const tail = text.length % 4;
  if (tail === 1 || !BASE64URL.test(text)) return false;
  if (tail === 0) return true;
  const last = ALPHABET.indexOf(text[text.length - 1] as string);
  // 2 characters carry 1 byte (4 unused bits), 3 carry 2 bytes (2 unused bits).
  return (last & (tail === 2 ? 0x0f : 0x03)) === 0;
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
 * The same blob opens on every runtime: on Node (node:crypto) and on the
 * Web platform (Web Crypto), whichever sealed it.
 *
 * @example
 * ```ts
 * import { createSealer } from 'latchkey/sealed';
 *
 * const sealer = createSealer({ secrets: [process.env.SEAL_SECRET!] });
 * const blob = await sealer.seal(JSON.stringify({ cart: 3 }), 'cart');
 * const opened = await sealer.unseal(blob, 'cart');
 * if (opened.ok) JSON.parse(new TextDecoder().decode(opened.plaintext));
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

interface Ready {
  readonly keys: DerivedKeys;
  /** Version and the current key's id: the first 5 bytes of every blob sealed now. */
  readonly header: Uint8Array;
}

const encoder = new TextEncoder();

/**
 * @internal the sealer as sealed mode calls it: each method answers at once
 * when the runtime's AES-GCM does (Node), and with a promise when it does not
 * (Web Crypto) or when the keys are not derived yet. Sealed mode opens a
 * cookie on every request: no promise it does not need.
 */
export interface SealerCore {
  seal(plaintext: Uint8Array | string, context: string): string | Promise<string>;
  unseal(blob: unknown, context: string): UnsealResult | Promise<UnsealResult>;
}

/** @internal */
export function sealerFor(keyring: Keyring, maxBlobLength: number): Sealer {
  const core = sealerCore(keyring, maxBlobLength);
  return {
    seal: async (plaintext, context) => core.seal(plaintext, context),
    unseal: async (blob, context) => core.unseal(blob, context),
  };
}

/** @internal */
export function sealerCore(keyring: Keyring, maxBlobLength: number): SealerCore {
  // Derived once; after that, seal and unseal read it without awaiting.
  let ready: Ready | null = null;
  async function derive(): Promise<Ready> {
    const keys = await keyring.keys();
    const header = new Uint8Array(5);
    header[0] = SEAL_VERSION;
    new DataView(header.buffer).setUint32(1, keys.current.id);
    return (ready ??= { keys, header });
  }
  // A well-formed decoy: version, an id, zero IV, empty ciphertext, zero tag.
  const decoy = new Uint8Array(HEADER_BYTES + TAG_BYTES);

  // The context is nearly always the same cookie name: keep its bytes.
  const contexts = new Map<string, Uint8Array>();
  function contextBytes(context: string): Uint8Array {
    let bytes = contexts.get(context);
    if (bytes === undefined) {
      bytes = encoder.encode(context);
      if (contexts.size < 64) contexts.set(context, bytes);
    }
    return bytes;
  }

  function seal(plaintext: Uint8Array | string, context: string): string | Promise<string> {
    if (typeof context !== 'string') throw new LatchkeyTypeError('seal() needs a context string, e.g. the cookie name');
    if (ready === null) return derive().then(() => seal(plaintext, context));
    const data = typeof plaintext === 'string' ? toUtf8(plaintext) : plaintext;
    const { keys, header } = ready;
    const iv = nextIv();
    // Associated data: the header, then the context. The blob: header, IV, ciphertext, tag.
    const blob = aesGcmSeal(keys.current.key, iv, [header, contextBytes(context)], data, [header, iv]);
    return blob instanceof Uint8Array ? toBase64url(blob) : blob.then(toBase64url);
  }

  function unseal(blob: unknown, context: string): UnsealResult | Promise<UnsealResult> {
    if (ready === null) return derive().then(() => unseal(blob, context));
    let reason: UnsealFailure | null = null;
    let text = typeof blob === 'string' ? blob : '';
    if (typeof blob !== 'string' || typeof context !== 'string') reason = 'malformed';
    if (text.length > maxBlobLength) {
      reason ??= 'oversized';
      text = '';
    }
    // Only the one canonical spelling of the bytes is accepted.
    if (!isCanonicalBase64url(text)) {
      reason ??= 'malformed';
      text = '';
    }
    let bytes = fromBase64url(text);
    if (bytes.length < HEADER_BYTES + TAG_BYTES) {
      reason ??= 'malformed';
      bytes = decoy;
    }
    if (bytes[0] !== SEAL_VERSION) reason ??= 'unknown-version';
    const { keys } = ready;
    const found = keys.byId.get(((bytes[1] as number) * 0x1000000 + (((bytes[2] as number) << 16) | ((bytes[3] as number) << 8) | (bytes[4] as number))) >>> 0);
    if (found === undefined) reason ??= 'unknown-key';
    const opening = aesGcmOpen(
      found?.key ?? keys.decoy,
      bytes.subarray(5, HEADER_BYTES),
      [bytes.subarray(0, 5), contextBytes(typeof context === 'string' ? context : '')],
      bytes.subarray(HEADER_BYTES),
    );
    return opening instanceof Promise ? opening.then((plaintext) => settle(reason, found, plaintext)) : settle(reason, found, opening);
  }

  return { seal, unseal };
}

/** The result once decryption is done: every check was made before, whatever failed first. */
function settle(reason: UnsealFailure | null, found: SealKey | undefined, plaintext: Uint8Array | null): UnsealResult {
  if (plaintext === null) reason ??= 'invalid';
  if (reason !== null || plaintext === null || found === undefined) return { ok: false, reason: reason ?? 'invalid' };
  return { ok: true, plaintext, staleKey: found.index !== 0 };
}
