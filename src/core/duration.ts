/**
 * Durations: `'30m'`, `'12h'`, `'1d 2h'`, `'250ms'` or a number of milliseconds.
 *
 * @module
 */
import { ConfigError } from './errors.js';

/** A duration: milliseconds as a number, or a string such as `'30s'`, `'15m'`, `'12h'`, `'7d'`. */
export type Duration = number | `${number}${DurationUnit}` | (string & {});

type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd' | 'w';

const UNIT_MS: Record<DurationUnit, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const PART = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/y;

/**
 * Parses a duration into milliseconds, or returns `undefined` when the text is
 * not a duration. Several parts add up: `'1h 30m'`.
 *
 * @example
 * ```ts
 * parseDuration('15m'); // 900000
 * parseDuration('1h 30m'); // 5400000
 * parseDuration('soon'); // undefined
 * ```
 */
export function parseDuration(value: Duration): number | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '' || text.length > 64) return undefined;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    if (text[pos] === ' ') {
      pos++;
      continue;
    }
    PART.lastIndex = pos;
    const m = PART.exec(text);
    if (m === null) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2] as DurationUnit];
    pos = PART.lastIndex;
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/**
 * Parses a configured duration or throws a {@link ConfigError} naming the option.
 * @internal
 */
export function durationOption(name: string, value: Duration, { min = 0 }: { min?: number } = {}): number {
  const ms = parseDuration(value);
  if (ms === undefined) {
    throw new ConfigError(`${name} must be a duration such as '30m', '12h' or a number of milliseconds (got ${describe(value)})`);
  }
  if (ms < min) {
    throw new ConfigError(`${name} must be at least ${min} ms (got ${ms} ms)`);
  }
  return ms;
}

/** @internal a short, safe description of a configuration value for messages */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return typeof value;
}
