/**
 * The `jti` replay cache of DPoP (RFC 9449 section 11.1): every proof is
 * accepted once. The verifier asks the cache to insert a key derived from
 * the proof (its key thumbprint and `jti`) until the proof would be refused
 * as too old anyway; a key already there is a replay.
 *
 * {@link DpopReplayCache} is all a cache must do: {@link storeReplayCache}
 * keeps it in a latchkey store's key-value facet, shared by every instance
 * over that store; {@link memoryReplayCache} serves tests and single
 * instances.
 *
 * @module
 */
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { positiveInt } from '../core/arguments.js';
import { ConfigError, LatchkeyTypeError } from '../core/errors.js';
import type { Duration } from '../core/duration.js';
import { requireKeyValues } from '../core/key-values.js';
import { checkOptionKeys } from '../core/option-keys.js';
import type { Store } from '../core/store.js';
import { callStore, storeTimeoutMs } from '../core/store-call.js';

/**
 * Where seen proofs are remembered. One method, atomic across every
 * instance that shares the cache.
 *
 * @example
 * ```ts
 * const cache: DpopReplayCache = {
 *   // Redis: SET key 1 PXAT expiresAt NX answers OK only to the first caller.
 *   add: async (key, expiresAt) => (await redis.set(`dpop:${key}`, '1', 'PXAT', expiresAt, 'NX')) === 'OK',
 * };
 * ```
 */
export interface DpopReplayCache {
  /**
   * Inserts `key` unless it is present and unexpired, and says whether this
   * call inserted it (`true`: first use) or not (`false`: a replay). It may
   * forget `key` after `expiresAt` (ms since epoch), never before. A cache
   * that cannot take the key (full, unreachable) must not answer `true`:
   * answer `false` (the proof is refused) or throw (the request fails, 503).
   */
  add(key: string, expiresAt: number): Promise<boolean>;
}

/** Options of {@link memoryReplayCache}. */
export interface MemoryReplayCacheOptions {
  /**
   * The most keys held at once. When every one of them is still unexpired,
   * new proofs are refused (fail closed: forgetting a live key would let its
   * proof be replayed), so size it above the proofs one process accepts per
   * `maxAge + clockSkew` of the verifier.
   * @default 100000
   */
  maxEntries?: number;
  /** @default the system clock */
  clock?: Clock;
}

/** A {@link DpopReplayCache} in memory, with a bounded size, with {@link MemoryReplayCache.size}. */
export interface MemoryReplayCache extends DpopReplayCache {
  /** Keys held now, expired ones not yet dropped included. */
  readonly size: number;
}

const OPTIONS: ReadonlySet<string> = new Set(['maxEntries', 'clock']);

/**
 * A replay cache in this process's memory: for tests and for a single
 * instance. Several instances need one cache they all share.
 *
 * @example
 * ```ts
 * import { createDpopVerifier, memoryReplayCache } from 'latchkey/tokens';
 *
 * const dpop = createDpopVerifier({ replayCache: memoryReplayCache({ maxEntries: 50_000 }) });
 * ```
 */
export function memoryReplayCache(options: MemoryReplayCacheOptions = {}): MemoryReplayCache {
  if (options === null || typeof options !== 'object') throw new LatchkeyTypeError('memoryReplayCache() takes an options object');
  for (const key of Object.keys(options)) {
    if (!OPTIONS.has(key)) throw new ConfigError(`${key} is not an option of memoryReplayCache(); known options: ${[...OPTIONS].join(', ')}`);
  }
  const maxEntries = positiveInt('maxEntries', options.maxEntries ?? 100_000);
  const clock = options.clock ?? systemClock;
  // Insertion order is close to expiry order (every proof lives about as long), so purging walks from the front.
  const entries = new Map<string, number>();
  let sweptAt = -Infinity;

  function purge(now: number, all: boolean): void {
    for (const [key, expiresAt] of entries) {
      if (expiresAt > now) {
        if (!all) return;
        continue;
      }
      entries.delete(key);
    }
  }

  return {
    get size() {
      return entries.size;
    },
    async add(key, expiresAt) {
      if (typeof key !== 'string' || key === '') throw new LatchkeyTypeError('add() takes a non-empty key');
      if (!Number.isFinite(expiresAt)) throw new LatchkeyTypeError('add() takes expiresAt in ms since epoch');
      const now = clock.now();
      purge(now, false);
      const seen = entries.get(key);
      if (seen !== undefined && seen > now) return false;
      if (seen === undefined && entries.size >= maxEntries) {
        // A proof with an unusually long life may hold the front: look at every entry before
        // refusing, at most once a second so that a flood of proofs cannot make each add() a full walk.
        if (now - sweptAt < 1000) return false;
        sweptAt = now;
        purge(now, true);
        if (entries.size >= maxEntries) return false;
      }
      entries.delete(key);
      entries.set(key, expiresAt);
      return true;
    },
  };
}

/** Options of {@link storeReplayCache}. */
export interface StoreReplayCacheOptions {
  /** The clock expiry is compared against: give it the verifier's. @default the system clock */
  clock?: Clock;
  /**
   * How long one store call may take before it fails with
   * `StoreUnavailableError` (the verifier's caller answers 503), as the
   * engine's option of that name.
   * @default '2s'
   */
  storeTimeout?: Duration;
}

/** The key-value namespace of the replay cache in a store. */
export const DPOP_REPLAY_NAMESPACE = 'dpop:jti';

/**
 * A replay cache in a latchkey store's key-value facet (`store.kv`,
 * namespace `'dpop:jti'`), shared by every instance over that store: each
 * key is inserted if absent, with the proof's expiry (Redis forgets it by
 * its TTL; SQLite, PostgreSQL and memory in the engine's sweep). A store
 * failure rejects (`StoreUnavailableError`), so the proof is never taken for
 * a first use.
 *
 * @example
 * ```ts
 * import { redisStore } from 'latchkey/stores/redis';
 *
 * const store = redisStore({ url: process.env.REDIS_URL });
 * const dpop = createDpopVerifier({ replayCache: storeReplayCache(store) });
 * ```
 */
export function storeReplayCache(store: Store, options: StoreReplayCacheOptions = {}): DpopReplayCache {
  checkOptionKeys(options, 'storeReplayCache()', ['clock', 'storeTimeout']);
  requireKeyValues(store);
  const clock = options.clock ?? systemClock;
  const timeoutMs = storeTimeoutMs(store, options.storeTimeout);
  return {
    add(key, expiresAt) {
      if (typeof key !== 'string' || key === '') throw new LatchkeyTypeError('add() takes a non-empty key');
      if (!Number.isFinite(expiresAt)) throw new LatchkeyTypeError('add() takes expiresAt in ms since epoch');
      return callStore(() => store.kv.set(DPOP_REPLAY_NAMESPACE, key, { value: '1', expiresAt }, clock.now(), 'if-absent'), timeoutMs);
    },
  };
}
