/**
 * Unknown option keys, refused by every factory: a misspelt option
 * (`idleTimout`) would otherwise fall back to its default without a word,
 * and a misspelt security option (`binding: { onMismach: 'revoke' }`) would
 * quietly weaken a deployment.
 *
 * @module
 * @internal
 */
import { describe } from './duration.js';
import { ConfigError, LatchkeyTypeError } from './errors.js';

/** A key shown as it is when it looks like an option name; anything else is quoted and shortened. */
const PLAIN_KEY = /^[A-Za-z_$][\w$-]{0,63}$/;

/**
 * Throws a {@link ConfigError} for the first own enumerable key of `options`
 * that `known` does not list (whatever its value, `undefined` included). The
 * message names the key and, when one known key is close enough to be the
 * one meant (a typo, a transposition, another case), that key; then every
 * known key. `options` is only read.
 *
 * Call it once, at construction, before reading any option; for nested
 * option objects, call it again with `path` (the message then names
 * `path.key`).
 *
 * @param options the caller's options object
 * @param known every key the factory reads
 * @param owner the factory as messages name it, e.g. `'createSessions()'`
 * @param path where a nested options object sits, e.g. `'binding'`
 * @throws {ConfigError} naming the first unknown key
 * @example
 * ```ts
 * refuseUnknownKeys(options, ['store', 'idleTimeout', 'binding'], 'createSessions()');
 * if (options.binding !== undefined) refuseUnknownKeys(options.binding, ['userAgent', 'ip', 'onMismatch'], 'createSessions()', 'binding');
 * // createSessions({ store, idleTimout: '5m' }) throws:
 * // ConfigError: idleTimout is not an option of createSessions(); did you mean idleTimeout? Known options: store, idleTimeout, binding
 * ```
 */
export function refuseUnknownKeys(options: object, known: readonly string[], owner: string, path?: string): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const prefix = path === undefined ? '' : `${path}.`;
    const shown = PLAIN_KEY.test(key) ? `${prefix}${key}` : `${prefix}${describe(key)}`;
    const meant = closestKey(key, known);
    const list = `${path === undefined ? 'known options' : `known options of ${path}`}: ${known.join(', ')}`;
    const rest = meant === null ? list : `did you mean ${prefix}${meant}? ${list.charAt(0).toUpperCase()}${list.slice(1)}`;
    throw new ConfigError(`${shown} is not an option of ${owner}; ${rest}`);
  }
}

/**
 * The known key `key` is most likely a misspelling of, or `null`: the
 * nearest by edit distance (letter case ignored, a swap of two neighbours
 * counting once), within one edit per four letters (at least one).
 */
function closestKey(key: string, known: readonly string[]): string | null {
  const typed = key.toLowerCase();
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const limit = Math.max(1, Math.floor(candidate.length / 4));
    const d = editDistance(typed, candidate.toLowerCase(), limit);
    if (d <= limit && d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal-string-alignment distance of `a` and `b`, or any number above `limit` once it is certain to exceed it. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  // Three rows of the dynamic-programming table: the one before last, the last, the current.
  let before = new Array<number>(b.length + 1).fill(0);
  let last = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = new Array<number>(b.length + 1);
    row[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((last[j] as number) + 1, (row[j - 1] as number) + 1, (last[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (before[j - 2] as number) + 1);
      row[j] = d;
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > limit) return limit + 1;
    before = last;
    last = row;
  }
  return last[b.length] as number;
}

/** How {@link checkOptionKeys} words its refusals. */
export interface OptionKeysWording {
  /** Prefix of each key in messages, for a nested object: `'guessing.'`. @default '' */
  readonly prefix?: string;
  /** Keys that were options once, each with what to do instead: refused with that message. */
  readonly retired?: Readonly<Record<string, string>>;
}

/**
 * {@link refuseUnknownKeys} for a factory's whole options argument: a
 * `LatchkeyTypeError` when `options` is not an object at all, a retired
 * key refused with what to do instead, then any unknown key.
 *
 * @example
 * ```ts
 * checkOptionKeys(options, 'createKeySet()', ['algorithm', 'storage', 'rotateEvery', 'overlap', 'reloadInterval', 'clock']);
 * ```
 */
export function checkOptionKeys(options: unknown, where: string, known: readonly string[], wording: OptionKeysWording = {}): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new LatchkeyTypeError(`${where} takes an options object`);
  }
  const prefix = wording.prefix ?? '';
  const retired = wording.retired;
  if (retired !== undefined) {
    for (const key of Object.keys(options)) {
      if (!known.includes(key) && Object.hasOwn(retired, key)) throw new ConfigError(`${prefix}${key} is no longer an option of ${where}: ${retired[key]}`);
    }
  }
  refuseUnknownKeys(options, known, where, prefix === '' ? undefined : prefix.slice(0, -1));
}
