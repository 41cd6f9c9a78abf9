/**
 * The Store's key-value facet (`store.kv`): small values that are not
 * sessions, by namespace and key, each with an optional expiry: API keys,
 * sealed mode's revocation epochs and spilled data, one-time challenges
 * (DBSC), the replay cache of DPoP, and later shared counters. Values are
 * strings (JSON where they have structure); every operation is atomic per
 * key.
 *
 * Expiry works as for records: a store keeps no clock policy and compares
 * `expiresAt` with the caller's `now`. A value whose `expiresAt <= now` is
 * absent to every operation (`get` and `take` answer `null`, `set` with
 * `'if-absent'` replaces it, `list` skips it), whether or not it was removed
 * yet; Redis forgets it by its TTL, the other stores in `sweep()`.
 *
 * @module
 */
import { describe } from './duration.js';
import { ConfigError, LatchkeyTypeError } from './errors.js';

/** A value and its expiry. */
export interface StoredValue {
  /**
   * A string of at most {@link MAX_VALUE_LENGTH} characters, without U+0000
   * or lone surrogates (which no backend keeps as given; JSON never has
   * them): JSON where it has structure.
   */
  readonly value: string;
  /** When the store may forget it, ms since epoch; `null`: kept until deleted. */
  readonly expiresAt: number | null;
}

/** A value with its key, as {@link KeyValues.list} answers. */
export interface StoredEntry extends StoredValue {
  readonly key: string;
}

/**
 * When {@link KeyValues.set} writes: `'always'`; `'if-absent'`, only when the
 * key holds no live value (insert-if-absent: of concurrent calls for one
 * key, exactly one succeeds); `{ ifValue }`, only when the live value is
 * exactly `ifValue` (compare-and-set).
 */
export type SetMode = 'always' | 'if-absent' | { readonly ifValue: string };

/**
 * The key-value facet of a {@link Store}. Namespaces keep uses apart
 * (`'apikeys'`, `'sealed'`, `'dbsc:challenges'`...): a key of one namespace
 * is never seen in another. Every method is atomic per key; `now` is the
 * caller's clock (see the module comment for expiry).
 *
 * Arguments: `namespace` a lower-case name of at most 64 characters
 * (letters, digits, `.`, `:`, `_`, `-`, starting with a letter), `key` 1 to
 * 512 characters, `value` at most 1 MiB of characters (neither holding
 * U+0000 or a lone surrogate). A store refuses
 * anything else with `LatchkeyTypeError` ({@link checkKeyValue} checks it).
 *
 * @example
 * ```ts
 * const now = Date.now();
 * await store.kv.set('dbsc:challenges', challenge, { value: owner, expiresAt: now + 60_000 }, now, 'if-absent');
 * const entry = await store.kv.take('dbsc:challenges', challenge, Date.now()); // the owner, once
 * ```
 */
export interface KeyValues {
  /** The live value of a key, or `null`. */
  get(namespace: string, key: string, now: number): Promise<StoredValue | null>;
  /**
   * Writes `entry` under `key` as `mode` says (default `'always'`); resolves
   * whether it wrote.
   */
  set(namespace: string, key: string, entry: StoredValue, now: number, mode?: SetMode): Promise<boolean>;
  /**
   * Removes a key and answers its live value, or `null` (absent or
   * expired): get-and-delete in one step, so that of concurrent takes of
   * one key exactly one gets the value.
   */
  take(namespace: string, key: string, now: number): Promise<StoredValue | null>;
  /** Removes a key; resolves whether it held a value (live or not yet removed). */
  delete(namespace: string, key: string): Promise<boolean>;
  /**
   * Up to `limit` (1 to 10,000) live entries of a namespace, in no promised
   * order: for namespaces that hold few entries (API keys), not a scan of a
   * replay cache.
   */
  list(namespace: string, limit: number, now: number): Promise<StoredEntry[]>;
}

/** Longest key, in characters. */
export const MAX_KEY_LENGTH = 512;
/** Longest value, in characters. */
export const MAX_VALUE_LENGTH = 1 << 20;
/** Most entries one `list()` answers. */
export const MAX_LIST = 10_000;

const NAMESPACE = /^[a-z][a-z0-9._:-]{0,63}$/;
/** What no backend keeps as given: U+0000 (PostgreSQL's text refuses it) and lone surrogates (UTF-8 cannot hold them). */
// eslint-disable-next-line no-control-regex -- U+0000 is exactly what must be found
const UNSTORABLE = /\u0000|\p{Cs}/u;

/**
 * Checks the arguments of a key-value call, for stores: a well-formed
 * namespace and key, and (for `set`) a string value of bounded size with a
 * finite or `null` expiry and a known mode.
 *
 * @throws {LatchkeyTypeError} naming what is wrong (never the value itself)
 * @example
 * ```ts
 * async get(namespace, key, now) {
 *   checkKeyValue(namespace, key);
 *   // ...
 * }
 * ```
 */
export function checkKeyValue(namespace: string, key: string, entry?: StoredValue, mode?: SetMode): void {
  if (typeof namespace !== 'string' || !NAMESPACE.test(namespace)) {
    throw new LatchkeyTypeError(`a key-value namespace is a lower-case name of at most 64 characters, e.g. 'apikeys' (got ${describe(namespace)})`);
  }
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH || UNSTORABLE.test(key)) {
    throw new LatchkeyTypeError(`a key-value key is a string of 1 to ${MAX_KEY_LENGTH} characters, without U+0000 or lone surrogates`);
  }
  if (entry === undefined) return;
  if (entry === null || typeof entry !== 'object' || typeof entry.value !== 'string' || entry.value.length > MAX_VALUE_LENGTH || UNSTORABLE.test(entry.value)) {
    throw new LatchkeyTypeError(`a stored value is { value, expiresAt }: value a string of at most ${MAX_VALUE_LENGTH} characters, without U+0000 or lone surrogates (JSON never has them)`);
  }
  if (entry.expiresAt !== null && !Number.isFinite(entry.expiresAt)) {
    throw new LatchkeyTypeError('expiresAt of a stored value is ms since epoch, or null to keep it until deleted');
  }
  if (mode !== undefined && mode !== 'always' && mode !== 'if-absent' && !(mode !== null && typeof mode === 'object' && typeof mode.ifValue === 'string')) {
    throw new LatchkeyTypeError("the mode of set() is 'always', 'if-absent' or { ifValue: string }");
  }
}

/** Checks the limit of a `list()` call. */
export function checkListLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST) {
    throw new LatchkeyTypeError(`the limit of list() is a whole number from 1 to ${MAX_LIST}`);
  }
}

/** Whether a value with this expiry is live at `now`. */
export function isLive(expiresAt: number | null, now: number): boolean {
  return expiresAt === null || expiresAt > now;
}

/**
 * Refuses a store without the key-value facet (one written for an earlier
 * version of the Store contract), naming what it lacks. Called where a
 * store is handed over (engines, sealed mode, the replay and challenge
 * caches).
 *
 * @throws {ConfigError} when `store.kv` is missing or incomplete
 * @example
 * ```ts
 * requireKeyValues(options.store); // at construction
 * ```
 */
export function requireKeyValues(store: object): void {
  const kv = (store as { kv?: unknown }).kv;
  const complete = kv !== null && typeof kv === 'object' && ['get', 'set', 'take', 'delete', 'list'].every((m) => typeof (kv as Record<string, unknown>)[m] === 'function');
  if (!complete) {
    throw new ConfigError('the store lacks the key-value facet store.kv (get, set, take, delete, list) of the Store contract; run latchkey/testing/store-contract against it');
  }
}
