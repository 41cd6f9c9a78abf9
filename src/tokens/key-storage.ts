/**
 * Where a {@link KeySet} keeps its signing keys between restarts: a small
 * load/save interface and an in-memory implementation for tests and
 * single-process apps. The key file (JWK JSON, mode 0600) is
 * `fileKeyStorage` of `latchkey/tokens/file`: it needs a file system, so it
 * is not part of `latchkey/tokens`, which runs on every runtime.
 *
 * @module
 */
import type { JWK } from 'jose';
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

/** @internal whether a parsed value is a {@link StoredKey} (what a key file must hold) */
export function isStoredKey(v: unknown): v is StoredKey {
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
