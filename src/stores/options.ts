/**
 * Option checks shared by the store factories: every key of an options
 * object is known (a misspelt `comandTimeout` must not silently fall back to
 * the default), names of earlier versions are refused with the name that
 * replaced them, and the stores that read the time take the engine's clock
 * the same way.
 *
 * @module
 * @internal
 */
import type { Clock } from '../core/clock.js';
import { describe } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';

/**
 * Throws unless `options` is an object whose every own key is in `known`.
 * A key of `renamed` is refused with its replacement: `renamed[key]` is the
 * rest of the sentence "`key` was replaced by ...".
 *
 * @example
 * ```ts
 * checkOptionKeys('redisStore()', options, ['url', 'prefix'], { commandTimeoutMs: "commandTimeout, a duration such as '1s'" });
 * ```
 */
export function checkOptionKeys(
  factory: string,
  options: unknown,
  known: readonly string[],
  renamed: Readonly<Record<string, string>> = {},
): void {
  if (options === null || typeof options !== 'object') throw new TypeError(`${factory} takes an options object`);
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    if (Object.hasOwn(renamed, key)) throw new ConfigError(`${key} was replaced by ${renamed[key]}`);
    throw new ConfigError(`${describe(key)} is not an option of ${factory}; known options: ${known.join(', ')}`);
  }
}

/**
 * The `clock` option of a store that reads the time: give it the clock given
 * to `createSessions`, so that the store and the engine agree on "now".
 */
export function clockOption(value: unknown, fallback: Clock): Clock {
  if (value === undefined) return fallback;
  if (value === null || typeof value !== 'object' || typeof (value as Clock).now !== 'function') {
    throw new ConfigError('clock must be an object with a now() method returning ms since the epoch, such as the clock given to createSessions');
  }
  return value as Clock;
}
