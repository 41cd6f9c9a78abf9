/**
 * DBSC challenges: 256 random bits each, good once, for one owner, until
 * they expire; a {@link DbscChallengeStore} in a latchkey store's key-value
 * facet, shared by every instance ({@link storeChallengeStore}), and one in
 * memory, for tests and a single instance.
 *
 * @module
 */
import { randomFill, toBase64url } from '#primitives';
import { positiveInt } from '../../core/arguments.js';
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import type { Duration } from '../../core/duration.js';
import { ConfigError, LatchkeyTypeError } from '../../core/errors.js';
import { requireKeyValues } from '../../core/key-values.js';
import { checkOptionKeys } from '../../core/option-keys.js';
import type { Store } from '../../core/store.js';
import { callStore, storeTimeoutMs } from '../../core/store-call.js';
import type { DbscChallengeStore } from './types.js';

/** The shape of a challenge latchkey mints: 32 random bytes, base64url. */
export const CHALLENGE_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** @internal a fresh challenge from the platform CSPRNG */
export function mintChallenge(): string {
  return toBase64url(randomFill(new Uint8Array(32)));
}

/** Options of {@link memoryChallengeStore}. */
export interface MemoryChallengeStoreOptions {
  /**
   * The most challenges held at once. Past it the oldest is dropped: that
   * is safe (a dropped challenge is refused, and the browser gets a new one
   * with a 403), so the bound is a memory bound, never a lockout.
   * @default 100000
   */
  maxEntries?: number;
  /** @default the system clock */
  clock?: Clock;
}

/** A {@link DbscChallengeStore} in memory. */
export interface MemoryChallengeStore extends DbscChallengeStore {
  /** Challenges held now, expired ones not yet dropped included. */
  readonly size: number;
}

const OPTIONS: ReadonlySet<string> = new Set(['maxEntries', 'clock']);

/**
 * A challenge store in this process's memory: for tests and a single
 * instance.
 *
 * @example
 * ```ts
 * import { createDbsc, memoryChallengeStore } from 'latchkey/http';
 *
 * const dbsc = createDbsc({ secret: process.env.DBSC_SECRET!, challenges: memoryChallengeStore() });
 * ```
 */
export function memoryChallengeStore(options: MemoryChallengeStoreOptions = {}): MemoryChallengeStore {
  if (options === null || typeof options !== 'object') throw new LatchkeyTypeError('memoryChallengeStore() takes an options object');
  for (const key of Object.keys(options)) {
    if (!OPTIONS.has(key)) throw new ConfigError(`${key} is not an option of memoryChallengeStore(); known options: ${[...OPTIONS].join(', ')}`);
  }
  const maxEntries = positiveInt('maxEntries', options.maxEntries ?? 100_000);
  const clock = options.clock ?? systemClock;
  const entries = new Map<string, { owner: string; expiresAt: number }>();

  return {
    get size() {
      return entries.size;
    },
    async put(challenge, owner, expiresAt) {
      if (typeof challenge !== 'string' || challenge === '' || typeof owner !== 'string' || owner === '' || !Number.isFinite(expiresAt)) {
        throw new LatchkeyTypeError('put() takes (challenge, owner, expiresAt in ms since epoch)');
      }
      const now = clock.now();
      for (const [key, entry] of entries) {
        if (entries.size < maxEntries && entry.expiresAt > now) break;
        entries.delete(key);
      }
      entries.set(challenge, { owner, expiresAt });
    },
    async take(challenge) {
      if (typeof challenge !== 'string') return null;
      const entry = entries.get(challenge);
      if (entry === undefined) return null;
      // Deleted in the same synchronous step as the read: two takes cannot both see it.
      entries.delete(challenge);
      return entry.expiresAt > clock.now() ? entry.owner : null;
    },
  };
}

/** Options of {@link storeChallengeStore}. */
export interface StoreChallengeStoreOptions {
  /** The clock expiry is compared against: give it the one `createDbsc()` has. @default the system clock */
  clock?: Clock;
  /**
   * How long one store call may take before it fails with
   * `StoreUnavailableError` (answered 503), as the engine's option of that
   * name.
   * @default '2s'
   */
  storeTimeout?: Duration;
}

/** The key-value namespace of DBSC challenges in a store. */
export const DBSC_CHALLENGE_NAMESPACE = 'dbsc:challenges';

/**
 * A challenge store in a latchkey store's key-value facet (`store.kv`,
 * namespace `'dbsc:challenges'`), shared by every instance over that store:
 * `take` is the facet's get-and-delete, so of concurrent takes of one
 * challenge exactly one gets its owner. Expired challenges are forgotten by
 * Redis's TTLs, by the engine's sweep elsewhere, and are never answered.
 *
 * @example
 * ```ts
 * import { createDbsc, storeChallengeStore } from 'latchkey/http';
 *
 * const dbsc = createDbsc({ secret: process.env.DBSC_SECRET!, challenges: storeChallengeStore(store) });
 * ```
 */
export function storeChallengeStore(store: Store, options: StoreChallengeStoreOptions = {}): DbscChallengeStore {
  checkOptionKeys(options, 'storeChallengeStore()', ['clock', 'storeTimeout']);
  requireKeyValues(store);
  const clock = options.clock ?? systemClock;
  const timeoutMs = storeTimeoutMs(store, options.storeTimeout);
  const kv = store.kv;
  return {
    async put(challenge, owner, expiresAt) {
      if (typeof challenge !== 'string' || challenge === '' || typeof owner !== 'string' || owner === '' || !Number.isFinite(expiresAt)) {
        throw new LatchkeyTypeError('put() takes (challenge, owner, expiresAt in ms since epoch)');
      }
      await callStore(() => kv.set(DBSC_CHALLENGE_NAMESPACE, challenge, { value: owner, expiresAt }, clock.now()), timeoutMs);
    },
    async take(challenge) {
      // Only the challenges latchkey mints are ever put: anything else is not worth a store call.
      if (typeof challenge !== 'string' || !CHALLENGE_SHAPE.test(challenge)) return null;
      const entry = await callStore(() => kv.take(DBSC_CHALLENGE_NAMESPACE, challenge, clock.now()), timeoutMs);
      return entry === null ? null : entry.value;
    },
  };
}
