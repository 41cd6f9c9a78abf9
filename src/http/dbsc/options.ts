/**
 * The options of `createDbsc()`, validated and normalised once, at
 * construction, without touching the caller's object; unknown keys are
 * refused with the list of known ones.
 *
 * @module
 * @internal
 */
import { secretListArg } from '../../core/arguments.js';
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { durationOption } from '../../core/duration.js';
import { ConfigError, LatchkeyTypeError } from '../../core/errors.js';
import { cookieConfig, type CookieConfig } from '../cookies.js';
import type { DbscAlgorithm, DbscChallengeStore, DbscOptions } from './types.js';

/** @internal the normalised configuration */
export interface DbscConfig {
  readonly keys: readonly Uint8Array[];
  readonly challenges: DbscChallengeStore;
  readonly algorithms: readonly DbscAlgorithm[];
  readonly registrationPath: string;
  readonly refreshPath: string;
  readonly cookie: CookieConfig;
  readonly cookieTtlMs: number;
  readonly challengeTtlMs: number;
  readonly origin: string | null;
  readonly includeSite: boolean;
  readonly exclude: readonly string[];
  readonly authorization: boolean;
  readonly clock: Clock;
}

const OPTIONS = ['secret', 'challenges', 'algorithms', 'registrationPath', 'refreshPath', 'cookie', 'scope', 'challengeTtl', 'authorization', 'clock'];
const COOKIE_OPTIONS = ['name', 'ttl', 'sameSite', 'domain'];
const SCOPE_OPTIONS = ['origin', 'includeSite', 'exclude'];
const ALGORITHMS: readonly DbscAlgorithm[] = ['ES256', 'RS256'];
// A path of RFC 3986 characters, nothing a structured-field string or a JSON reader could trip on.
const PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;

function refuseUnknown(value: object, known: readonly string[], label: string): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new ConfigError(`${label}${key} is not an option${label === '' ? ' of createDbsc()' : ''}; known options: ${known.join(', ')}`);
  }
}

function pathOption(name: string, value: unknown): string {
  if (typeof value !== 'string' || !PATH.test(value) || value.length > 256) {
    throw new ConfigError(`${name} must be an absolute path such as '/auth/dbsc/register' (RFC 3986 characters only)`);
  }
  return value;
}

/**
 * The origin `value` names (`https://app.example.com`), or `null` when it
 * is not exactly a secure origin: no path (Chrome refuses even a trailing
 * `/`), no query; `http:` only for localhost.
 */
export function originOf(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  const local = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) return null;
  return url.origin === value ? value : null;
}

/**
 * @internal validates and normalises {@link DbscOptions}; `prefix` names
 * where they sit in the caller's options (`'dbsc.'` for the HTTP layer's
 * `dbsc` option), so that messages point at the right key.
 */
export function dbscConfig(options: DbscOptions, prefix = ''): DbscConfig {
  if (options === null || typeof options !== 'object') throw new LatchkeyTypeError('createDbsc() takes an options object { secret, challenges, ... }');
  refuseUnknown(options, OPTIONS, prefix);
  const keys = secretListArg(`${prefix}secret`, options.secret, 'DBSC secret', 'secret: process.env.DBSC_SECRET').map((k) => new Uint8Array(k));
  const challenges = options.challenges;
  if (challenges === null || typeof challenges !== 'object' || typeof challenges.put !== 'function' || typeof challenges.take !== 'function') {
    throw new ConfigError(`${prefix}challenges must be a DbscChallengeStore { put, take }: memoryChallengeStore() for one instance, a shared one for several`);
  }
  const algorithms = options.algorithms ?? ALGORITHMS;
  if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every((a) => ALGORITHMS.includes(a))) {
    throw new ConfigError(`${prefix}algorithms must be a non-empty list of 'ES256' and 'RS256' (what browsers implement; 'none' is never offered)`);
  }
  const registrationPath = pathOption(`${prefix}registrationPath`, options.registrationPath ?? '/auth/dbsc/register');
  const refreshPath = pathOption(`${prefix}refreshPath`, options.refreshPath ?? '/auth/dbsc/refresh');
  if (registrationPath === refreshPath) throw new ConfigError(`${prefix}registrationPath and ${prefix}refreshPath must differ`);

  const c = options.cookie ?? {};
  if (c === null || typeof c !== 'object') throw new ConfigError(`${prefix}cookie must be an object { name?, ttl?, sameSite?, domain? }`);
  refuseUnknown(c, COOKIE_OPTIONS, `${prefix}cookie.`);
  const cookieOptions: { name?: string; sameSite?: 'lax' | 'strict' | 'none'; domain?: string } = {};
  if (c.name !== undefined) cookieOptions.name = c.name;
  if (c.sameSite !== undefined) cookieOptions.sameSite = c.sameSite;
  if (c.domain !== undefined) cookieOptions.domain = c.domain;
  // The session cookie's checks (prefixes, SameSite, Domain) apply as they are; DBSC has no development mode: browsers need HTTPS.
  const cookie = cookieConfig(cookieOptions, false, `${prefix}cookie`, { base: 'bound', nameLabel: `${prefix}cookie.name` });
  const cookieTtlMs = durationOption(`${prefix}cookie.ttl`, c.ttl ?? '10m', { min: 1000 });
  if (cookieTtlMs > 3_600_000) throw new ConfigError(`${prefix}cookie.ttl must be at most 1 hour: it is how long a copied bound cookie stays good`);

  const s = options.scope ?? {};
  if (s === null || typeof s !== 'object') throw new ConfigError(`${prefix}scope must be an object { origin?, includeSite?, exclude? }`);
  refuseUnknown(s, SCOPE_OPTIONS, `${prefix}scope.`);
  let origin: string | null = null;
  if (s.origin !== undefined) {
    origin = originOf(s.origin);
    if (origin === null) throw new ConfigError(`${prefix}scope.origin must be an https origin without a path or trailing slash, e.g. 'https://app.example.com'`);
  }
  const includeSite = s.includeSite ?? false;
  if (typeof includeSite !== 'boolean') throw new ConfigError(`${prefix}scope.includeSite must be a boolean`);
  if (includeSite !== (cookie.domain !== undefined)) {
    throw new ConfigError(
      includeSite
        ? `${prefix}scope.includeSite: true covers the whole site, so the bound cookie needs ${prefix}cookie.domain (the registrable domain) and a __Secure- name`
        : `${prefix}cookie.domain shares the bound cookie with subdomains: set ${prefix}scope.includeSite: true as well, or drop ${prefix}cookie.domain`,
    );
  }
  const exclude = s.exclude ?? [];
  if (!Array.isArray(exclude)) throw new ConfigError(`${prefix}scope.exclude must be a list of paths, e.g. ['/static', '/favicon.ico']`);
  exclude.forEach((p: unknown, i) => pathOption(`${prefix}scope.exclude[${i}]`, p));

  const challengeTtlMs = durationOption(`${prefix}challengeTtl`, options.challengeTtl ?? '5m', { min: 1000 });
  if (challengeTtlMs > 3_600_000) throw new ConfigError(`${prefix}challengeTtl must be at most 1 hour: a challenge proves the key is at hand now`);
  const authorization = options.authorization ?? false;
  if (typeof authorization !== 'boolean') throw new ConfigError(`${prefix}authorization must be a boolean`);
  const clock = options.clock ?? systemClock;
  if (clock === null || typeof clock !== 'object' || typeof clock.now !== 'function') throw new ConfigError(`${prefix}clock must be { now(): number }`);

  return {
    keys,
    challenges,
    algorithms: Object.freeze([...new Set(algorithms)]),
    registrationPath,
    refreshPath,
    cookie,
    cookieTtlMs,
    challengeTtlMs,
    origin,
    includeSite,
    exclude: Object.freeze([...exclude]),
    authorization,
    clock,
  };
}
