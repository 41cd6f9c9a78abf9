/**
 * Record kinds: what a stored record is (a cookie session, a token family,
 * an application's own kind of session), so that several engines can share
 * one store and each honour only the tokens of its own records. A kind is a
 * short lower-case name; stores keep it as given.
 *
 * @module
 * @internal
 */
import { describe } from './duration.js';
import { ConfigError, LatchkeyTypeError } from './errors.js';

/** The kind of an engine (and of its records) that was given none. */
export const DEFAULT_KIND = 'session';

/** The kind of the token families of `latchkey/tokens`, as `latchkey serve` names it. */
export const REFRESH_KIND = 'refresh';

/** A kind: a lower-case letter, then up to 31 lower-case letters, digits or `-`. */
const KIND = /^[a-z][a-z0-9-]{0,31}$/;

/** Whether `value` is a well-formed kind. */
export function isKind(value: unknown): value is string {
  return typeof value === 'string' && KIND.test(value);
}

/** The `kind` option of an engine: a well-formed kind, `'session'` when not given. */
export function kindOption(value: unknown): string {
  if (value === undefined) return DEFAULT_KIND;
  if (!isKind(value)) {
    throw new ConfigError(`kind must be a lower-case name such as 'session' or 'refresh' (a letter, then up to 31 letters, digits or -; got ${describe(value)})`);
  }
  return value;
}

/**
 * The `kinds` filter of a call by user (`list`, `revokeUser`): `undefined`
 * (every kind) or a non-empty list of well-formed kinds, copied.
 */
export function kindsArg(value: unknown, call: string): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > 32 || !value.every(isKind)) {
    throw new LatchkeyTypeError(`${call} kinds must be a non-empty list of kinds, e.g. ['session', 'refresh']`);
  }
  return [...new Set(value as string[])];
}
