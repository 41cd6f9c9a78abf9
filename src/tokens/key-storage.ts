/**
 * Where a {@link KeySet} keeps its signing keys between restarts: a small
 * load/save interface, a key file (JWK JSON, mode 0600) and an in-memory
 * implementation for tests and single-process apps.
 *
 * @module
 */
import { chmod, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { JWK } from 'jose';
import { ConfigError, LatchkeyTypeError } from '../core/errors.js';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from './algorithms.js';

/** One persisted key: private JWK (or `oct` secret for HS256) and its lifecycle. */
export interface StoredKey {
  /** Key id, carried as `kid` in every token it signs. */
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** When the key was generated, ms since epoch. */
  readonly createdAt: number;
  /** When the key stops verifying, ms since epoch, or `null` while it is the signing key. */
  readonly retiresAt: number | null;
  /** The private key (asymmetric) or the secret (`oct`, HS256) as a JWK. */
  readonly jwk: JWK;
}

/**
 * Persistence of a key set. `load()` resolves `null` when nothing was saved yet
 * (first start); `save()` replaces everything saved before.
 */
export interface KeyStorage {
  load(): Promise<StoredKey[] | null>;
  save(keys: readonly StoredKey[]): Promise<void>;
}

/**
 * Keeps keys in this process only: every restart generates new keys (tokens
 * issued before the restart stop verifying). For tests and throwaway setups.
 *
 * @example
 * ```ts
 * const keys = await createKeySet({ storage: memoryKeyStorage() });
 * ```
 */
export function memoryKeyStorage(): KeyStorage {
  let saved: string | null = null;
  return {
    async load() {
      return saved === null ? null : (JSON.parse(saved) as StoredKey[]);
    },
    async save(keys) {
      saved = JSON.stringify(keys);
    },
  };
}

/**
 * Keeps keys in a JSON file of private JWKs, written atomically (temporary
 * file, then rename) with mode 0600 in a folder created with mode 0700. A key
 * file that group or others may read is refused, as ssh does.
 *
 * @example
 * ```ts
 * const keys = await createKeySet({ storage: fileKeyStorage('./.latchkey/keys.json') });
 * ```
 */
export function fileKeyStorage(path: string): KeyStorage {
  if (typeof path !== 'string' || path === '') throw new LatchkeyTypeError('fileKeyStorage() takes a file path');
  return {
    async load() {
      let text: string;
      try {
        const info = await stat(path);
        if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
          throw new ConfigError(`the key file ${path} may be read by other users; run chmod 600 on it`);
        }
        text = await readFile(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new ConfigError(`the key file ${path} is not valid JSON`);
      }
      const keys = (parsed as { keys?: unknown } | null)?.keys;
      if (!Array.isArray(keys) || !keys.every(isStoredKey)) {
        throw new ConfigError(`the key file ${path} does not hold latchkey keys ({ "keys": [...] })`);
      }
      return keys;
    },
    async save(keys) {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
      const handle = await open(tmp, 'w', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify({ version: 1, keys }, null, 2)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await chmod(tmp, 0o600);
        await rename(tmp, path);
      } catch (err) {
        await unlink(tmp).catch(() => {});
        throw err;
      }
    },
  };
}

function isStoredKey(v: unknown): v is StoredKey {
  if (v === null || typeof v !== 'object') return false;
  const k = v as Record<string, unknown>;
  return (
    typeof k.kid === 'string' &&
    k.kid !== '' &&
    typeof k.alg === 'string' &&
    (SIGNING_ALGORITHMS as readonly string[]).includes(k.alg) &&
    typeof k.createdAt === 'number' &&
    (k.retiresAt === null || typeof k.retiresAt === 'number') &&
    k.jwk !== null &&
    typeof k.jwk === 'object'
  );
}
