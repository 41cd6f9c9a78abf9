/**
 * Checks of caller-supplied values shared by every session mode: user ids,
 * authentication levels, session data and data patches. Data is normalised
 * by a JSON round trip, so every store and every mode holds exactly what a
 * JSON store would, and the caller's objects are never shared.
 *
 * @module
 * @internal
 */
import { describe } from './duration.js';
import { ConfigError, InvalidDataError } from './errors.js';
import type { SessionData } from './model.js';
import type { DataPatch } from './store.js';

/** Longest user id, in characters. */
export const MAX_USER_ID = 256;
/** Longest data key, in characters. */
export const MAX_KEY = 256;

/** A configuration value that must be a positive whole number. */
export function positiveInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    throw new ConfigError(`${name} must be a positive whole number (got ${describe(v)})`);
  }
  return v;
}

/** A user id, or `null` for none. */
export function userIdArg(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v === '' || v.length > MAX_USER_ID) {
    throw new TypeError(`userId must be a non-empty string of at most ${MAX_USER_ID} characters`);
  }
  return v;
}

/** An authentication level: a non-negative integer. */
export function authLevelArg(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new TypeError('authLevel must be a non-negative integer');
  return v;
}

function checkKey(key: string): void {
  if (key === '' || key.length > MAX_KEY || key === '__proto__') {
    throw new InvalidDataError(`data keys must be 1 to ${MAX_KEY} characters and not "__proto__"`);
  }
}

/** Session data as stored: a JSON round trip of a plain object, within `maxBytes`. */
export function normaliseData(data: unknown, maxBytes: number): SessionData {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new InvalidDataError('session data must be a plain object');
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (err) {
    throw new InvalidDataError(`session data is not JSON-serialisable: ${err instanceof Error ? err.message : 'unknown error'}`);
  }
  if (json === undefined) throw new InvalidDataError('session data is not JSON-serialisable');
  if (Buffer.byteLength(json) > maxBytes) throw new InvalidDataError(`session data is over maxDataBytes (${maxBytes} bytes)`);
  const out = JSON.parse(json) as Record<string, unknown>;
  for (const key of Object.keys(out)) checkKey(key);
  return out;
}

/** A data patch as stored: normalised `set`, checked `unset` without the keys `set` also names. */
export function normalisePatch(patch: DataPatch, maxBytes: number): DataPatch {
  if (patch === null || typeof patch !== 'object') throw new TypeError('patch() takes { set?, unset? }');
  const set = patch.set === undefined ? undefined : normaliseData(patch.set, maxBytes);
  let unset: string[] | undefined;
  if (patch.unset !== undefined) {
    if (!Array.isArray(patch.unset) || !patch.unset.every((k) => typeof k === 'string')) {
      throw new TypeError('patch.unset must be an array of keys');
    }
    for (const k of patch.unset) checkKey(k);
    unset = patch.unset.filter((k) => set === undefined || !Object.hasOwn(set, k));
  }
  return { set, unset };
}
