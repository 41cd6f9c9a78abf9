/**
 * The session cookie: secure defaults, configuration checks that refuse
 * weakening combinations, a `Cookie` header reader that never throws, and
 * `Set-Cookie` serialisation through the `cookie` package.
 *
 * @module
 */
import { parse, serialize } from 'cookie';
import { ConfigError } from '../core/errors.js';

/** Options of the session cookie. Every field has a secure default. */
export interface CookieOptions {
  /**
   * Cookie name. The `__Host-` prefix makes browsers refuse the cookie unless
   * it is Secure, has `Path=/` and no Domain, so a sibling subdomain cannot
   * plant or overwrite it.
   * @default '__Host-latchkey' (or 'latchkey' when `secure` is false in development)
   */
  name?: string;
  /**
   * Send the cookie over HTTPS only. `false` is allowed only with the
   * top-level `development: true` flag.
   * @default true
   */
  secure?: boolean;
  /** @default 'lax' */
  sameSite?: 'lax' | 'strict' | 'none';
  /** @default '/' */
  path?: string;
  /**
   * Share the cookie with subdomains. Not allowed with the `__Host-` prefix;
   * prefer a host-only cookie.
   * @default none (host-only)
   */
  domain?: string;
  /**
   * `true` for a browser-session cookie without `Max-Age` (forgotten when the
   * browser closes); the server-side timeouts apply either way.
   * @default false: `Max-Age` follows the session's absolute deadline
   */
  browserSession?: boolean;
  /** Send `Partitioned` (CHIPS), for embedded cross-site use with `sameSite: 'none'`. @default false */
  partitioned?: boolean;
}

/** @internal normalised cookie configuration */
export interface CookieConfig {
  readonly name: string;
  readonly secure: boolean;
  readonly sameSite: 'lax' | 'strict' | 'none';
  readonly path: string;
  readonly domain: string | undefined;
  readonly browserSession: boolean;
  readonly partitioned: boolean;
}

const TOKEN_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Cookie headers longer than this are ignored whole (browsers cap cookies near 4 KiB each; Node refuses header blocks over 16 KiB).
 *
 * @example
 * ```ts
 * readCookie('a=1; '.repeat(MAX_COOKIE_HEADER), 'a'); // null
 * ```
 */
export const MAX_COOKIE_HEADER = 8192;

/** @internal validates cookie options once, at construction, without mutating them */
export function cookieConfig(o: CookieOptions | undefined, development: boolean, label = 'cookie'): CookieConfig {
  const opts = o ?? {};
  if (typeof opts !== 'object') throw new TypeError(`${label} must be an object`);
  const known = new Set(['name', 'secure', 'sameSite', 'path', 'domain', 'browserSession', 'partitioned', 'httpOnly']);
  for (const key of Object.keys(opts)) {
    if (!known.has(key)) throw new ConfigError(`${label}.${key} is not a cookie option; known options: ${[...known].join(', ')}`);
  }
  if ((opts as { httpOnly?: unknown }).httpOnly === false) {
    throw new ConfigError(
      `${label}.httpOnly: false would let page scripts read the session token; remove it (for a script-readable CSRF token use csrf.cookie)`,
    );
  }
  const secure = opts.secure ?? true;
  if (typeof secure !== 'boolean') throw new ConfigError(`${label}.secure must be a boolean`);
  if (!secure && !development) {
    throw new ConfigError(
      `${label}.secure: false sends the session over plain HTTP; serve over HTTPS, or for local development also pass development: true`,
    );
  }
  const sameSite = opts.sameSite ?? 'lax';
  if (sameSite !== 'lax' && sameSite !== 'strict' && sameSite !== 'none') {
    throw new ConfigError(`${label}.sameSite must be 'lax', 'strict' or 'none'`);
  }
  if (sameSite === 'none' && !secure) {
    throw new ConfigError(`${label}.sameSite: 'none' requires secure: true (browsers reject SameSite=None cookies without Secure)`);
  }
  const name = opts.name ?? (secure ? '__Host-latchkey' : 'latchkey');
  if (typeof name !== 'string' || !TOKEN_NAME.test(name)) {
    throw new ConfigError(`${label}.name must be a cookie token (letters, digits and !#$%&'*+-.^_\`|~)`);
  }
  const path = opts.path ?? '/';
  if (typeof path !== 'string' || !/^\/[\x21-\x3a\x3c-\x7e]*$/.test(path)) {
    throw new ConfigError(`${label}.path must start with "/" and contain no ";", spaces or control characters`);
  }
  const domain = opts.domain;
  if (domain !== undefined && (typeof domain !== 'string' || !/^\.?[A-Za-z0-9.-]+$/.test(domain))) {
    throw new ConfigError(`${label}.domain must be a host name`);
  }
  const lower = name.toLowerCase();
  if (lower.startsWith('__host-')) {
    if (domain !== undefined) {
      throw new ConfigError(`${label}: a __Host- cookie cannot have a domain; remove domain, or rename the cookie without the __Host- prefix`);
    }
    if (path !== '/') throw new ConfigError(`${label}: a __Host- cookie must have path '/'; remove path, or rename the cookie`);
    if (!secure) throw new ConfigError(`${label}: a __Host- cookie must be secure; remove secure: false, or rename the cookie`);
  }
  if (lower.startsWith('__secure-') && !secure) {
    throw new ConfigError(`${label}: a __Secure- cookie must be secure; remove secure: false, or rename the cookie`);
  }
  const partitioned = opts.partitioned ?? false;
  if (partitioned && !secure) throw new ConfigError(`${label}.partitioned requires secure: true`);
  return { name, secure, sameSite, path, domain, browserSession: opts.browserSession ?? false, partitioned };
}

/**
 * Reads one cookie from a `Cookie` header. Never throws. Returns `null` when
 * the header is missing, oversized, or holds the cookie more than once with
 * different values (an ambiguous header may be a planted duplicate, so it is
 * treated as no cookie at all: fail closed).
 *
 * @example
 * ```ts
 * readCookie(req.headers.cookie, '__Host-latchkey'); // 'handle.secret' or null
 * ```
 */
export function readCookie(header: unknown, name: string): string | null {
  if (typeof header !== 'string' || header.length === 0 || header.length > MAX_COOKIE_HEADER) return null;
  const needle = `${name}=`;
  const first = header.indexOf(needle);
  if (first === -1) return null;
  let value: string | undefined;
  try {
    value = parse(header)[name];
  } catch {
    return null;
  }
  if (value === undefined) return null;
  if (header.indexOf(needle, first + needle.length) !== -1) {
    // The name appears again: look for a second, different value.
    let seen: string | null = null;
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
      let v = part.slice(eq + 1).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      if (seen !== null && seen !== v) return null;
      seen = v;
    }
  }
  return value;
}

/** The attributes every `Set-Cookie` of this cookie carries. */
function attributes(cfg: CookieConfig, httpOnly: boolean) {
  return { path: cfg.path, domain: cfg.domain, secure: cfg.secure, httpOnly, sameSite: cfg.sameSite, partitioned: cfg.partitioned };
}

/** @internal a `Set-Cookie` value giving the cookie `value` for `maxAgeSeconds` (or for the browser session) */
export function setCookieHeader(cfg: CookieConfig, value: string, maxAgeSeconds: number | null, httpOnly = true): string {
  return serialize(cfg.name, value, {
    ...attributes(cfg, httpOnly),
    encode: String,
    maxAge: cfg.browserSession || maxAgeSeconds === null ? undefined : Math.max(0, maxAgeSeconds),
  });
}

/** @internal a `Set-Cookie` value that makes the browser drop the cookie at once */
export function clearCookieHeader(cfg: CookieConfig, httpOnly = true): string {
  return serialize(cfg.name, '', { ...attributes(cfg, httpOnly), maxAge: 0, expires: new Date(0) });
}
