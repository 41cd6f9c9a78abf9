/**
 * Helpers of the optional `Store.census` for stores: its argument
 * checks, bounds and ordering.
 *
 * @module
 * @internal
 */
import { MAX_USER_ID } from './arguments.js';
import { LatchkeyTypeError } from './errors.js';

/** Most user indexes a store that must scan for `Store.census` visits. */
export const CENSUS_SCAN_LIMIT = 100_000;

/** Most users one `Store.census` call lists. */
export const MAX_CENSUS_LIMIT = 1_000;

/**
 * Checks the arguments of `Store.census`, for stores.
 *
 * @throws {LatchkeyTypeError} for a prefix that is not a string of at most 256 characters, or a limit outside 1 to 1,000
 * @example
 * ```ts
 * checkCensus('ali', 20);
 * ```
 */
export function checkCensus(now: number, prefix: string, limit: number): void {
  if (!Number.isFinite(now)) throw new LatchkeyTypeError('census() takes now in ms since epoch');
  if (typeof prefix !== 'string' || prefix.length > MAX_USER_ID) throw new LatchkeyTypeError(`a census prefix is a string of at most ${MAX_USER_ID} characters`);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_CENSUS_LIMIT) throw new LatchkeyTypeError(`the limit of census() is a whole number from 1 to ${MAX_CENSUS_LIMIT}`);
}

/**
 * Orders and cuts a census's users: most sessions first, then by id.
 *
 * @example
 * ```ts
 * topUsers([{ userId: 'b', sessions: 1 }, { userId: 'a', sessions: 3 }], 1); // [{ userId: 'a', sessions: 3 }]
 * ```
 */
export function topUsers(users: Array<{ userId: string; sessions: number }>, limit: number): Array<{ userId: string; sessions: number }> {
  return users.sort((a, b) => b.sessions - a.sessions || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0)).slice(0, limit);
}
