/**
 * DBSC challenges: 256 random bits each, good once, for one owner, until
 * they expire; and a {@link DbscChallengeStore} in memory, for tests and a
 * single instance (several instances share one store: the Store's
 * key-value facet).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { positiveInt } from '../../core/arguments.js';
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { ConfigError, LatchkeyTypeError } from '../../core/errors.js';
import type { DbscChallengeStore } from './types.js';

/** The shape of a challenge latchkey mints: 32 random bytes, base64url. */
export const CHALLENGE_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** @internal a fresh challenge from the platform CSPRNG */
export function mintChallenge(): string {
  return randomBytes(32).toString('base64url');
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
