/**
 * Checks of caller-supplied values shared by every session mode: user ids,
 * authentication levels, session data and data patches, lists of secrets. Data is normalised
 * by a JSON round trip, so every store and every mode holds exactly what a
 * JSON store would, and the caller's objects are never shared.
 *
 * @module
 * @internal
 */
import { describe } from './duration.js';
import { ConfigError, InvalidDataError, LatchkeyTypeError } from './errors.js';
import type { DataPatch, SessionData } from './model.js';
import { utf8Length } from '#primitives';

/** Longest user id, in characters. */
export const MAX_USER_ID = 256;
/** Longest data key, in characters. */
export const MAX_KEY = 256;
/**
 * Deepest session data, in levels of objects and arrays (the data object is
 * the first). A depth that JSON.stringify survives at one point of the call
 * stack may overflow it a few frames further down, where a framework
 * serialises an answer holding the data: the bound is a number, not the
 * stack.
 */
export const MAX_DATA_DEPTH = 64;

/** A configuration value that must be a positive whole number. */
export function positiveInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    throw new ConfigError(`${name} must be a positive whole number (got ${describe(v)})`);
  }
  return v;
}

/**
 * The smallest secret accepted, in bytes, for keys derived from it (sealing,
 * refresh-token successors).
 *
 * @example
 * ```ts
 * const secret = crypto.randomBytes(MIN_SECRET_BYTES).toString('base64url');
 * ```
 */
export const MIN_SECRET_BYTES = 32;

const GENERATE = `node -e "console.log(require('node:crypto').randomBytes(32).toString('base64url'))"`;

/**
 * A secret, or a non-empty list of secrets newest first (for rotation), each a
 * string or bytes of at least {@link MIN_SECRET_BYTES} and no two alike: as
 * bytes, in order. Messages name the option and position (`secrets[1]`),
 * say what the secret is for (`noun`, e.g. "sealing secret") and never show
 * a secret.
 */
export function secretListArg(name: string, value: unknown, noun: string, example: string): Uint8Array[] {
  const list: unknown = typeof value === 'string' || value instanceof Uint8Array ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw new ConfigError(
      `${name} is required: pass one or more random secrets of at least ${MIN_SECRET_BYTES} bytes, newest first, e.g. ${example} (generate one with: ${GENERATE})`,
    );
  }
  const out: Uint8Array[] = [];
  list.forEach((secret: unknown, i) => {
    let bytes: Uint8Array;
    if (typeof secret === 'string') {
      bytes = new TextEncoder().encode(secret);
      if (bytes.length < MIN_SECRET_BYTES) {
        throw new ConfigError(`${name}[${i}] is ${bytes.length} bytes; a ${noun} must be at least ${MIN_SECRET_BYTES} random bytes. Generate one with: ${GENERATE}`);
      }
    } else if (secret instanceof Uint8Array) {
      // A copy: a later change to the caller's array does not change the key.
      bytes = Uint8Array.from(secret);
      if (bytes.length < MIN_SECRET_BYTES) {
        throw new ConfigError(`${name}[${i}] is ${bytes.length} bytes; a ${noun} must be at least ${MIN_SECRET_BYTES} random bytes, e.g. crypto.randomBytes(32)`);
      }
    } else {
      throw new ConfigError(`${name}[${i}] must be a string or a Uint8Array of at least ${MIN_SECRET_BYTES} bytes (got ${typeof secret})`);
    }
    const same = out.findIndex((b) => sameBytes(b, bytes));
    if (same !== -1) throw new ConfigError(`${name}[${i}] is the same as ${name}[${same}]; remove the duplicate`);
    out.push(bytes);
  });
  return out;
}

/** Whether two configured secrets are the same bytes (at construction: not a secret-dependent path of a request). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A user id, or `null` for none. */
export function userIdArg(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v === '' || v.length > MAX_USER_ID) {
    throw new LatchkeyTypeError(`userId must be a non-empty string of at most ${MAX_USER_ID} characters`);
  }
  return v;
}

/**
 * Highest authentication level: any non-negative safe integer. The session
 * service's schema takes the same range, so that a level is refused (or
 * taken) alike by the engine in this process and through the service.
 */
export const MAX_AUTH_LEVEL = Number.MAX_SAFE_INTEGER;

/** An authentication level: a non-negative integer up to {@link MAX_AUTH_LEVEL}. */
export function authLevelArg(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_AUTH_LEVEL) throw new LatchkeyTypeError('authLevel must be a non-negative integer');
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
  if (utf8Length(json) > maxBytes) throw new InvalidDataError(`session data is over maxDataBytes (${maxBytes} bytes)`);
  const out = JSON.parse(json) as Record<string, unknown>;
  for (const key of Object.keys(out)) checkKey(key);
  if (depthOver(out, MAX_DATA_DEPTH)) throw new InvalidDataError(`session data is nested more than ${MAX_DATA_DEPTH} levels deep`);
  return out;
}

/** Whether JSON `value` nests objects and arrays more than `max` levels deep. Iterative: no recursion to overflow. */
function depthOver(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

/** A data patch as stored: normalised `set`, checked `unset` without the keys `set` also names. */
export function normalisePatch(patch: DataPatch, maxBytes: number): DataPatch {
  if (patch === null || typeof patch !== 'object') throw new LatchkeyTypeError('patch() takes { set?, unset? }');
  const set = patch.set === undefined ? undefined : normaliseData(patch.set, maxBytes);
  let unset: string[] | undefined;
  if (patch.unset !== undefined) {
    if (!Array.isArray(patch.unset) || !patch.unset.every((k) => typeof k === 'string')) {
      throw new LatchkeyTypeError('patch.unset must be an array of keys');
    }
    for (const k of patch.unset) checkKey(k);
    unset = patch.unset.filter((k) => set === undefined || !Object.hasOwn(set, k));
  }
  return { set, unset };
}
