/**
 * API keys of the session service's `/v1` callers, kept in a session store:
 * the service checks them, the CLI makes, lists and revokes them, both on
 * this one module. A key is `lk_<id>_<secret>`: 96
 * random bits of public id and 256 of secret. The store keeps only
 * SHA-256(secret), in an ordinary session record of the reserved user
 * `latchkey:apikeys` whose handle (24 hex characters) can never be taken for
 * a session handle (22 base64url characters), so the Store contract is
 * unchanged and every store holds keys the way it holds sessions. A key is
 * shown once, at creation.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { ConfigError, LatchkeyTypeError, StoreUnavailableError } from './errors.js';
import type { SessionRecord } from './model.js';
import { checkOptionKeys } from './option-keys.js';
import type { Store } from './store.js';
import { hashSecret, secretMatches } from './token.js';

/**
 * The reserved user id whose records are API keys.
 *
 * @example
 * ```ts
 * const keysOnly = (await store.listUser(API_KEY_USER)).length;
 * ```
 */
export const API_KEY_USER = 'latchkey:apikeys';

/** The far-away deadline of an API key record (keys live until revoked): 9999-01-01. */
const NEVER = Date.UTC(9999, 0, 1);

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
  checkOptionKeys(options, 'apiKeys()', ['cacheMs', 'now']);
  const cacheMs = options.cacheMs ?? 5000;
  if (!Number.isSafeInteger(cacheMs) || cacheMs < 0) throw new ConfigError('cacheMs must be a whole number of milliseconds, 0 or more');
  const now = options.now ?? Date.now;
  const cache = new Map<string, { secretHash: string; info: ApiKeyInfo; until: number }>();

  const infoOf = (r: SessionRecord): ApiKeyInfo => ({
    id: r.handle,
    name: typeof r.data.name === 'string' ? r.data.name : '',
    createdAt: r.createdAt,
  });

  return {
    async create(name = '') {
      if (typeof name !== 'string' || name.length > 100 || [...name].some((c) => c < ' ' || c === '\u007f')) {
        throw new LatchkeyTypeError('an API key name is at most 100 printable characters');
      }
      const id = randomBytes(12).toString('hex');
      const secret = randomBytes(32).toString('base64url');
      const at = now();
      const record: SessionRecord = {
        handle: id,
        secretHash: hashSecret(secret),
        userId: API_KEY_USER,
        status: 'active',
        successor: null,
        createdAt: at,
        issuedAt: at,
        lastSeenAt: at,
        authTime: null,
        authLevel: 0,
        idleExpiresAt: NEVER,
        absoluteExpiresAt: NEVER,
        expiresAt: NEVER,
        version: 1,
        data: { name },
        client: null,
      };
      // 96 random bits never collide unless the store's create() is not atomic.
      if (!(await store.create(record))) throw new StoreUnavailableError('the store refused a fresh API key id; is create() atomic?');
      return { key: `lk_${id}_${secret}`, info: infoOf(record) };
    },
    async list() {
      return (await store.listUser(API_KEY_USER)).filter((r) => ID_SHAPE.test(r.handle)).map(infoOf);
    },
    async revoke(id) {
      if (typeof id !== 'string' || !ID_SHAPE.test(id)) return false;
      cache.delete(id);
      const r = await store.get(id);
      if (r === null || r.userId !== API_KEY_USER) return false;
      return store.delete(id);
    },
    async verify(presented) {
      const m = typeof presented === 'string' ? KEY_SHAPE.exec(presented) : null;
      if (m === null) return { ok: false, reason: 'malformed' };
      const id = m[1] as string;
      const secret = m[2] as string;
      const t = now();
      let entry = cache.get(id);
      if (entry === undefined || entry.until <= t) {
        const r = await store.get(id);
        if (r === null || r.userId !== API_KEY_USER || r.status !== 'active') {
          cache.delete(id);
          return { ok: false, reason: 'unknown' };
        }
        entry = { secretHash: r.secretHash, info: infoOf(r), until: t + cacheMs };
        if (cacheMs > 0) {
          if (cache.size >= 1000) cache.delete(cache.keys().next().value as string);
          cache.set(id, entry);
        }
      }
      return secretMatches(secret, entry.secretHash) ? { ok: true, key: entry.info } : { ok: false, reason: 'unknown' };
    },
  };
}
