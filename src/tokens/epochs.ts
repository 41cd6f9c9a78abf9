/**
 * Per-user revocation epochs: "log out everywhere" for stateless access-token
 * checks. Revoking a user records the time; an access token of that user
 * issued at or before it is refused. Each process caches epochs for
 * `cacheTtl`, so a revocation reaches the revoking process at once and every
 * other process sharing the {@link EpochStore} within `cacheTtl` (and, in any
 * case, every access token dies at its `exp`).
 *
 * @module
 */
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { durationOption, type Duration } from '../core/duration.js';

/**
 * Where epochs live. Share one between instances (a Redis hash, a SQL table:
 * two methods) so that a revocation on one is seen by all.
 */
export interface EpochStore {
  /** The user's revocation epoch, ms since epoch, or `null`. */
  get(userId: string): Promise<number | null>;
  /** Records a revocation epoch; never moves an epoch backwards. */
  set(userId: string, epoch: number): Promise<void>;
}

/**
 * Epochs in this process only: enough for a single instance.
 *
 * @example
 * ```ts
 * const epochs = revocationEpochs({ store: memoryEpochStore() });
 * ```
 */
export function memoryEpochStore(): EpochStore {
  const map = new Map<string, number>();
  return {
    async get(userId) {
      return map.get(userId) ?? null;
    },
    async set(userId, epoch) {
      map.set(userId, Math.max(epoch, map.get(userId) ?? 0));
    },
  };
}

/** Options of {@link revocationEpochs}. */
export interface RevocationEpochsOptions {
  /** @default memoryEpochStore() */
  store?: EpochStore;
  /**
   * How long a process trusts a cached epoch: the bound on how late another
   * process sees a revocation.
   * @default '30s'
   */
  cacheTtl?: Duration;
  /** @default 100000 */
  maxEntries?: number;
  /** @default the system clock */
  clock?: Clock;
}

/** Revocation epochs returned by {@link revocationEpochs}. */
export interface RevocationEpochs {
  /** Refuses every access token of the user issued up to now. */
  revoke(userId: string): Promise<void>;
  /** Whether a token of `userId` issued at `issuedAtSec` (its `iat`) is revoked. */
  isRevoked(userId: string, issuedAtSec: number): Promise<boolean>;
}

/**
 * Creates a per-user revocation epoch check with an in-process cache.
 *
 * @example
 * ```ts
 * const epochs = revocationEpochs({ cacheTtl: '15s' });
 * const tokens = createAccessTokens({ keys, issuer, audience, epochs });
 * await epochs.revoke('u1'); // every access token of u1 issued so far is refused
 * ```
 */
export function revocationEpochs(options: RevocationEpochsOptions = {}): RevocationEpochs {
  const store = options.store ?? memoryEpochStore();
  const ttl = durationOption('cacheTtl', options.cacheTtl ?? '30s');
  const max = options.maxEntries ?? 100_000;
  if (!Number.isSafeInteger(max) || max < 1) throw new TypeError('maxEntries must be a positive whole number');
  const clock = options.clock ?? systemClock;
  const cache = new Map<string, { epoch: number | null; until: number }>();

  function remember(userId: string, epoch: number | null, now: number): void {
    if (cache.size >= max) cache.delete(cache.keys().next().value as string);
    cache.set(userId, { epoch, until: now + ttl });
  }

  return {
    async revoke(userId) {
      const now = clock.now();
      await store.set(userId, now);
      remember(userId, now, now);
    },
    async isRevoked(userId, issuedAtSec) {
      const now = clock.now();
      let hit = cache.get(userId);
      if (hit === undefined || hit.until <= now) {
        const epoch = await store.get(userId);
        remember(userId, epoch, now);
        hit = { epoch, until: 0 };
      }
      // iat has one-second resolution: a token of the revocation's second is refused too.
      return hit.epoch !== null && issuedAtSec * 1000 <= hit.epoch;
    },
  };
}
