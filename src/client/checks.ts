/**
 * The client's checks of its options (a mistake is a `ConfigError`, at
 * construction) and of the arguments of its calls (a `LatchkeyTypeError`,
 * before anything is sent). No message ever shows the API key or a token.
 *
 * @module
 * @internal
 */
import { parseDuration } from '../core/duration.js';
import { ConfigError, LatchkeyTypeError } from '../core/errors.js';

/** The service's base URL without a trailing slash. @internal */
export function checkBaseUrl(value: unknown): string {
  if (typeof value !== 'string') throw new ConfigError('baseUrl must be a string such as "http://127.0.0.1:4000"');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`baseUrl must be an absolute http(s) URL such as "http://127.0.0.1:4000" (got ${JSON.stringify(value.slice(0, 80))})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`baseUrl must use http: or https: (got ${url.protocol})`);
  if (url.username !== '' || url.password !== '') throw new ConfigError('baseUrl must not hold credentials: pass the API key as apiKey');
  if (url.search !== '' || url.hash !== '') throw new ConfigError('baseUrl must not have a query string or a fragment');
  return url.href.replace(/\/+$/, '');
}

/** A positive duration in ms: an option of the client (`ConfigError`) or of one call (`LatchkeyTypeError`). @internal */
export function checkTimeout(name: string, value: unknown, of: 'option' | 'argument' = 'option'): number {
  const ms = typeof value === 'number' || typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined || ms <= 0 || ms > 2_147_483_647) {
    const message = `${name} must be a positive duration such as '5s' or a number of milliseconds`;
    throw of === 'option' ? new ConfigError(message) : new LatchkeyTypeError(message);
  }
  return ms;
}

/** @internal */
export function requireString(value: unknown, name: string, secret = false): asserts value is string {
  if (typeof value !== 'string' || value === '') {
    throw new LatchkeyTypeError(`${name} must be a non-empty string (got ${secret ? typeof value : describeValue(value)})`);
  }
}

/** @internal */
export function requireObject(value: unknown, name: string): asserts value is object {
  if (!isObject(value)) throw new LatchkeyTypeError(`${name} must be an object`);
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return value === '' ? 'an empty string' : 'a string';
  return value === null ? 'null' : typeof value;
}

/** @internal */
export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** @internal */
export function isString(value: unknown): value is string {
  return typeof value === 'string';
}

/** @internal */
export function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
