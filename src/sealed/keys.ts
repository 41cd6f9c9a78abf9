/**
 * Sealing keys: derived once from the configured secrets with HKDF-SHA256,
 * on first use rather than at construction (the secrets are checked at
 * construction), and never per request. The first secret seals; every
 * secret opens, so that keys can be rotated without logging anyone out.
 *
 * @module
 */
import { aesGcmKey, hkdfSha256, randomFill, type AesGcmKey } from '#primitives';
import { secretListArg } from '../core/arguments.js';
import { ConfigError } from '../core/errors.js';

/** A secret to derive sealing keys from: at least 32 bytes (a string counts its UTF-8 bytes). */
export type SealSecret = string | Uint8Array;

/** The smallest secret accepted, in bytes (shared with refresh-token secrets). */
export { MIN_SECRET_BYTES } from '../core/arguments.js';

/** @internal one derived key */
export interface SealKey {
  /** 32-bit identifier written in the blob; derived from the secret, so it does not depend on the order of the list. */
  readonly id: number;
  /** AES-256-GCM key. */
  readonly key: AesGcmKey;
  /** Position in the configured list; 0 seals. */
  readonly index: number;
}

/** @internal the derived keys, by id */
export interface DerivedKeys {
  readonly current: SealKey;
  readonly byId: ReadonlyMap<number, SealKey>;
  /** A random key no blob was sealed with: unseal decrypts with it when the id is unknown, so that every failure takes the same path. */
  readonly decoy: AesGcmKey;
}

// Domain separation: these keys are for sealed sessions only, even if the
// same secret is (wrongly) reused elsewhere.
const encoder = new TextEncoder();
const SALT = encoder.encode('latchkey/sealed/v1');
const KEY_INFO = encoder.encode('aes-256-gcm key');
const ID_INFO = encoder.encode('key id');

/** @internal the keys of a list of secrets, derived when first asked for */
export interface Keyring {
  /** The derived keys: the first call derives them, later calls resolve the same object. */
  keys(): Promise<DerivedKeys>;
}

/**
 * @internal validates the secrets now; derives the keys on first use. Nothing
 * here draws random bytes or computes at construction, so that sealed
 * sessions can be created where a runtime forbids it (a Workers module's
 * global scope) and cost nothing until a request needs them.
 */
export function keyringOf(secrets: unknown): Keyring {
  const list = secretListArg('secrets', secrets, 'sealing secret', 'secrets: [process.env.SESSION_SECRET]');
  let derived: Promise<DerivedKeys> | null = null;
  return { keys: () => (derived ??= derive(list)) };
}

async function derive(secrets: readonly Uint8Array[]): Promise<DerivedKeys> {
  const byId = new Map<number, SealKey>();
  for (const [index, ikm] of secrets.entries()) {
    const raw = await hkdfSha256(ikm, SALT, KEY_INFO, 32);
    const idBytes = await hkdfSha256(ikm, SALT, ID_INFO, 4);
    const id = new DataView(idBytes.buffer, idBytes.byteOffset, 4).getUint32(0);
    const same = byId.get(id);
    // Distinct secrets with one 32-bit id (one chance in 2^32; equal secrets are refused at construction): a blob could not say which key sealed it.
    if (same !== undefined) throw new ConfigError(`secrets[${index}] has the same key id as secrets[${same.index}]; use another random secret`);
    byId.set(id, { id, key: await aesGcmKey(raw), index });
    raw.fill(0);
  }
  const current = [...byId.values()][0] as SealKey;
  const decoyRaw = randomFill(new Uint8Array(32));
  const decoy = await aesGcmKey(decoyRaw);
  decoyRaw.fill(0);
  return { current, byId, decoy };
}
