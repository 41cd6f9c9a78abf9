/**
 * API keys of the session service's `/v1` callers, kept in a store's
 * key-value facet (`store.kv`, namespace `'apikeys'`): the service checks
 * them, the CLI makes, lists and revokes them, both on this one module. A
 * key is `lk_<id>_<secret>`: 96 random bits of public id and 256 of secret.
 * The store keeps, under the id, only `{ name, createdAt, secretHash }` as
 * JSON (SHA-256 of the secret), with no expiry: a key lives until revoked.
 * A key is shown once, at creation.
 *
 * A revocation is announced over the store's invalidation channel (Redis
 * pub/sub, PostgreSQL NOTIFY) as `apikeys:<id>`: every process verifying
 * keys on that store (each service instance) forgets the key at once, not
 * after `cacheMs`. While a process does not hear the channel (it is down),
 * `cacheMs` bounds how long it may still accept a revoked key.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { ConfigError, LatchkeyTypeError, StoreUnavailableError } from './errors.js';
import { checkOptionKeys } from './option-keys.js';
import type { Store } from './store.js';
import { hashSecret, secretMatches } from './token.js';
import { requireKeyValues } from './key-values.js';
import { announceLocally, watchInvalidations } from './invalidations.js';

/**
 * The key-value namespace of API keys.
 *
 * @example
 * ```ts
 * const stored = await store.kv.list(API_KEY_NAMESPACE, 100, Date.now()); // ids and hashes, never keys
 * ```
 */
export const API_KEY_NAMESPACE = 'apikeys';

/** Most keys `list()` reads. */
const MAX_KEYS = 10_000;

const KEY_SHAPE = /^lk_([0-9a-f]{24})_([A-Za-z0-9_-]{43})$/;
const ID_SHAPE = /^[0-9a-f]{24}$/;

/** What is known of a key, never its secret. */
export interface ApiKeyInfo {
  /** Public id: safe to show and log; `latchkey apikeys revoke <id>`. */
  readonly id: string;
  readonly name: string;
  /** ms since epoch. */
  readonly createdAt: number;
}

/** Result of {@link ApiKeys.verify}. */
export type ApiKeyCheck = { readonly ok: true; readonly key: ApiKeyInfo } | { readonly ok: false; readonly reason: 'malformed' | 'unknown' };

/** The API keys of one store. */
export interface ApiKeys {
  /** Makes a key; the whole `key` is returned here and never again. */
  create(name?: string): Promise<{ key: string; info: ApiKeyInfo }>;
  /** Every key, oldest first. */
  list(): Promise<ApiKeyInfo[]>;
  /** Deletes a key by id. Resolves whether it existed. */
  revoke(id: string): Promise<boolean>;
  /** Checks a presented key in constant time against its stored hash. */
  verify(presented: unknown): Promise<ApiKeyCheck>;
  /** Stops hearing revocations from other processes (the service closes it before the store). */
  close(): Promise<void>;
}

/** Options of {@link apiKeys}. */
export interface ApiKeysOptions {
  /**
   * How long a verified key is trusted without a store read. A key revoked
   * by another process (the CLI) stops working within this time; one revoked
   * through this object stops at once.
   * @default 5000 (ms); 0 reads the store on every request
   */
  cacheMs?: number;
  /** @default Date.now */
  now?: () => number;
  /** Where a failure to hear other processes' revocations goes. @default ignored */
  onError?: (error: unknown) => void;
}

/**
 * API keys kept in `store`. The service hands it a store whose calls are
 * already bounded and mapped to `StoreUnavailableError`
 * (`ServiceContext.store`); a store failure rejects every method.
 *
 * @example
 * ```ts
 * const keys = apiKeys(store);
 * const { key, info } = await keys.create('billing backend'); // show `key` once
 * (await keys.verify(key)).ok; // true
 * ```
 */
export function apiKeys(store: Store, options: ApiKeysOptions = {}): ApiKeys {
  checkOptionKeys(options, 'apiKeys()', ['cacheMs', 'now', 'onError']);
  const cacheMs = options.cacheMs ?? 5000;
  if (!Number.isSafeInteger(cacheMs) || cacheMs < 0) throw new ConfigError('cacheMs must be a whole number of milliseconds, 0 or more');
  const now = options.now ?? Date.now;
  const cache = new Map<string, { secretHash: string; info: ApiKeyInfo; until: number }>();

  requireKeyValues(store);
  const kv = store.kv;
  const onError = options.onError ?? (() => {});
  const prefix = `${API_KEY_NAMESPACE}:`;
  // Heard from the first verification on (a CLI that only makes or revokes keys needs no subscription).
  let unwatch: (() => Promise<void>) | null = null;
  let closed = false;
  const watch = (): void => {
    unwatch = watchInvalidations(
      store,
      {
        invalidate: () => {},
        invalidateValues: (values) => {
          for (const v of values) if (v.startsWith(prefix)) cache.delete(v.slice(prefix.length));
        },
        // Back after a loss: a revocation may have gone unheard meanwhile.
        status: (live) => {
          if (live) cache.clear();
        },
      },
      onError,
    );
  };

  return {
    async create(name = '') {
      if (typeof name !== 'string' || name.length > 100 || [...name].some((c) => c < ' ' || c === '\u007f')) {
        throw new LatchkeyTypeError('an API key name is at most 100 printable characters');
      }
      const id = randomBytes(12).toString('hex');
      const secret = randomBytes(32).toString('base64url');
      const at = now();
      const stored: StoredKey = { name, createdAt: at, secretHash: hashSecret(secret) };
      // 96 random bits never collide unless the store's set() is not atomic.
      if (!(await kv.set(API_KEY_NAMESPACE, id, { value: JSON.stringify(stored), expiresAt: null }, at, 'if-absent'))) {
        throw new StoreUnavailableError('the store refused a fresh API key id; is set() with if-absent atomic?');
      }
      return { key: `lk_${id}_${secret}`, info: { id, name, createdAt: at } };
    },
    async list() {
      const entries = await kv.list(API_KEY_NAMESPACE, MAX_KEYS, now());
      const out: ApiKeyInfo[] = [];
      for (const e of entries) {
        const k = ID_SHAPE.test(e.key) ? storedKey(e.value) : null;
        if (k !== null) out.push({ id: e.key, name: k.name, createdAt: k.createdAt });
      }
      return out.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    },
    async revoke(id) {
      if (typeof id !== 'string' || !ID_SHAPE.test(id)) return false;
      cache.delete(id);
      const existed = await kv.delete(API_KEY_NAMESPACE, id);
      const message = { values: [`${prefix}${id}`] };
      announceLocally(store, message);
      await store.announce?.(message);
      return existed;
    },
    async close() {
      closed = true;
      const stop = unwatch;
      unwatch = null;
      if (stop !== null) await stop();
    },
    async verify(presented) {
      const m = typeof presented === 'string' ? KEY_SHAPE.exec(presented) : null;
      if (m === null) return { ok: false, reason: 'malformed' };
      const id = m[1] as string;
      const secret = m[2] as string;
      const t = now();
      if (unwatch === null && !closed && cacheMs > 0) watch();
      let entry = cache.get(id);
      if (entry === undefined || entry.until <= t) {
        const found = await kv.get(API_KEY_NAMESPACE, id, t);
        const k = found === null ? null : storedKey(found.value);
        if (k === null) {
          cache.delete(id);
          return { ok: false, reason: 'unknown' };
        }
        entry = { secretHash: k.secretHash, info: { id, name: k.name, createdAt: k.createdAt }, until: t + cacheMs };
        if (cacheMs > 0) {
          if (cache.size >= 1000) cache.delete(cache.keys().next().value as string);
          cache.set(id, entry);
        }
      }
      return secretMatches(secret, entry.secretHash) ? { ok: true, key: entry.info } : { ok: false, reason: 'unknown' };
    },
  };
}

/** What the store keeps of a key. */
interface StoredKey {
  readonly name: string;
  readonly createdAt: number;
  readonly secretHash: string;
}

/** A stored key as written by `create()`, or `null` for anything else. */
function storedKey(text: string): StoredKey | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (v === null || typeof v !== 'object') return null;
  const { name, createdAt, secretHash } = v as Record<string, unknown>;
  if (typeof name !== 'string' || typeof createdAt !== 'number' || typeof secretHash !== 'string') return null;
  return { name, createdAt, secretHash };
}
