/**
 * The clock the engine reads. Inject one in tests to move time without sleeping.
 *
 * @module
 */
import { parseDuration } from './duration.js';
import { LatchkeyTypeError } from './errors.js';

/** A source of the current time in milliseconds since the epoch. */
export interface Clock {
  now(): number;
}

/** The wall clock (`Date.now()`). */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * A clock that moves only when told to, for tests.
 *
 * @example
 * ```ts
 * const clock = manualClock();
 * const sessions = createSessions({ store: memoryStore(), clock, idleTimeout: '30m' });
 * clock.advance('31m');
 * ```
 */
export interface ManualClock extends Clock {
  /** Moves the clock forward by `ms` milliseconds (or a duration string). */
  advance(ms: number | string): void;
  /** Sets the clock to an absolute time in ms. */
  set(ms: number): void;
}

/**
 * Creates a {@link ManualClock} starting at `start` (default: a fixed date, so tests are repeatable).
 *
 * @example
 * ```ts
 * const clock = manualClock();
 * clock.advance('5m');
 * ```
 */
export function manualClock(start = Date.UTC(2026, 0, 1)): ManualClock {
  let t = start;
  return {
    now: () => t,
    advance(ms) {
      const delta = typeof ms === 'number' ? ms : parseDuration(ms);
      if (delta === undefined || delta < 0) throw new LatchkeyTypeError('advance() takes a non-negative duration');
      t += delta;
    },
    set(ms) {
      t = ms;
    },
  };
}

/** The clock each session authority (an engine, sealed sessions) was made with, for the layers above it. */
const clocks = new WeakMap<object, Clock>();

/** @internal records the clock `owner` keeps its deadlines by */
export function registerClock(owner: object, clock: Clock): void {
  clocks.set(owner, clock);
}

/** @internal the clock `owner` keeps its deadlines by, or the system clock for an object latchkey did not make */
export function clockOf(owner: object): Clock {
  return clocks.get(owner) ?? systemClock;
}
