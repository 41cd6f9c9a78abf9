/**
 * The clock option of the stores that read the time (memory, Redis): they
 * take the engine's clock the same way, as `clock`, an object with `now()`,
 * so that the store and the engine agree on "now".
 *
 * @module
 * @internal
 */
import type { Clock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';

/**
 * The `clock` option: give it the clock given to `createSessions`.
 *
 * @example
 * ```ts
 * const clock = clockOption(options.clock, systemClock);
 * ```
 */
export function clockOption(value: unknown, fallback: Clock): Clock {
  if (value === undefined) return fallback;
  if (value === null || typeof value !== 'object' || typeof (value as Clock).now !== 'function') {
    throw new ConfigError('clock must be an object with a now() method returning ms since the epoch, such as the clock given to createSessions');
  }
  return value as Clock;
}
