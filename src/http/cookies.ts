/**
 * The session cookie: secure defaults (a `__Host-`, browser-session cookie),
 * configuration checks that refuse weakening combinations and unprefixed
 * names, a `Cookie` header reader that never throws, and
 * `Set-Cookie` serialisation through the `cookie` package.
 *
 * @module
 */
import { parse, serialize } from 'cookie';
import { ConfigError } from '../core/errors.js';

/** Options of the session cookie. Every field has a secure default. */
export interface CookieOptions {
  /**
   * Cookie name. Outside `development: true` it must carry the `__Host-`
   * prefix (browsers then refuse the cookie unless it is Secure, has
   * `Path=/` and no Domain, so a sibling subdomain or a plain-HTTP page
   * cannot plant or overwrite it), or `__Secure-` when `domain` or a `path`
   * other than `/` rules `__Host-` out; any other name is a `ConfigError`.
   * @default '__Host-session' ('__Secure-session' with `domain` or a narrower `path`; 'session' when `secure` is false in development)
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
   * Share the cookie with subdomains. Not allowed with the `__Host-` prefix
   * (name the cookie `__Secure-…`); prefer a host-only cookie.
   * @default none (host-only)
   */
  domain?: string;
  /**
   * `true` keeps the cookie across browser restarts: it gets a `Max-Age`
   * that follows the session's absolute deadline, capped at 400 days
   * ({@link MAX_COOKIE_AGE}, RFC 6265bis). By default the cookie is a
   * browser-session cookie without `Max-Age` or `Expires`; either way the
   * server's idle and absolute deadlines decide when the session ends.
   * @default false
   */
  persistent?: boolean;
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
  readonly persistent: boolean;
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

/**
 * The longest `Max-Age` latchkey sends, in seconds: 400 days, the limit
 * RFC 6265bis sets (browsers cap longer lifetimes there anyway).
 *
 * @example
 * ```ts
 * MAX_COOKIE_AGE / 86_400; // 400
 * ```
 */
export const MAX_COOKIE_AGE = 400 * 86_400;

/**
 * @internal the default name of a latchkey cookie with these attributes:
 * `__Host-<base>` when it can be one, `__Secure-<base>` when a Domain or a
 * narrower path rules `__Host-` out, the bare base without Secure.
 */
export function defaultCookieName(base: string, attrs: { secure: boolean; path: string; domain: string | undefined }): string {
  if (!attrs.secure) return base;
  return attrs.domain === undefined && attrs.path === '/' ? `__Host-${base}` : `__Secure-${base}`;
}

/**
 * @internal Outside development every cookie latchkey sets carries a prefix
 * that browsers enforce: `__Host-` (Secure, `Path=/`, no Domain), or
 * `__Secure-` when a Domain or a narrower path rules `__Host-` out. Matched
 * in its exact case, which every browser enforces.
 */
export function checkCookiePrefix(name: string, attrs: { path: string; domain: string | undefined }, development: boolean, nameLabel: string): void {
  if (development) return;
  const bare = name.replace(/^__(host|secure)-/i, '');
  if (attrs.domain === undefined && attrs.path === '/') {
    if (name.startsWith('__Host-')) return;
    throw new ConfigError(
      `${nameLabel} ${JSON.stringify(name)} lacks the __Host- prefix: outside development every latchkey cookie must be __Host- (Secure, Path=/, no Domain) so that no sibling subdomain or plain-HTTP page can plant or overwrite it; rename it "__Host-${bare}", or for plain-HTTP local development pass development: true`,
    );
  }
  if (name.startsWith('__Secure-')) return;
  const why = attrs.domain !== undefined ? 'a Domain' : `path ${JSON.stringify(attrs.path)}`;
  throw new ConfigError(
    `${nameLabel} ${JSON.stringify(name)} lacks the __Secure- prefix: with ${why} it cannot be __Host-, but outside development it must at least be __Secure- so that no plain-HTTP page can set it; rename it "__Secure-${bare}" (or drop ${attrs.domain !== undefined ? 'domain' : 'path'} and use "__Host-${bare}"), or for plain-HTTP local development pass development: true`,
  );
}

const KNOWN = ['name', 'secure', 'sameSite', 'path', 'domain', 'persistent', 'partitioned', 'httpOnly'];

/**
 * @internal validates cookie options once, at construction, without mutating them.
 * `base` names the default cookie (`__Host-<base>`); `nameLabel` is how errors
 * about the name call it (sealed mode names its `cookieName`).
 */
export function cookieConfig(
  o: CookieOptions | undefined,
  development: boolean,
  label = 'cookie',
  { base = 'session', nameLabel = `${label}.name` }: { base?: string; nameLabel?: string } = {},
): CookieConfig {
  const opts = o ?? {};
  if (opts === null || typeof opts !== 'object') throw new ConfigError(`${label} must be an object`);
  for (const key of Object.keys(opts)) {
    if (key === 'browserSession') {
      throw new ConfigError(
        `${label}.browserSession was removed: session cookies are browser-session cookies by default now; remove it, or for a cookie that survives browser restarts pass ${label}.persistent: true`,
      );
    }
    if (!KNOWN.includes(key)) throw new ConfigError(`${label}.${key} is not a cookie option; known options: ${KNOWN.join(', ')}`);
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
  const path = opts.path ?? '/';
  if (typeof path !== 'string' || !/^\/[\x21-\x3a\x3c-\x7e]*$/.test(path)) {
    throw new ConfigError(`${label}.path must start with "/" and contain no ";", spaces or control characters`);
  }
  const domain = opts.domain;
  if (domain !== undefined && (typeof domain !== 'string' || !/^\.?[A-Za-z0-9.-]+$/.test(domain))) {
    throw new ConfigError(`${label}.domain must be a host name`);
  }
  const name = opts.name ?? defaultCookieName(base, { secure, path, domain });
  if (typeof name !== 'string' || !TOKEN_NAME.test(name)) {
    throw new ConfigError(`${nameLabel} must be a cookie token (letters, digits and !#$%&'*+-.^_\`|~)`);
  }
  const lower = name.toLowerCase();
  if (lower.startsWith('__host-')) {
    if (domain !== undefined) {
      throw new ConfigError(`${label}: a __Host- cookie cannot have a domain; remove domain, or rename the cookie with the __Secure- prefix`);
    }
    if (path !== '/') throw new ConfigError(`${label}: a __Host- cookie must have path '/'; remove path, or rename the cookie with the __Secure- prefix`);
    if (!secure) throw new ConfigError(`${label}: a __Host- cookie must be secure; remove secure: false, or rename the cookie`);
  }
  if (lower.startsWith('__secure-') && !secure) {
    throw new ConfigError(`${label}: a __Secure- cookie must be secure; remove secure: false, or rename the cookie`);
  }
  checkCookiePrefix(name, { path, domain }, development, nameLabel);
  const persistent = opts.persistent ?? false;
  if (typeof persistent !== 'boolean') {
    throw new ConfigError(`${label}.persistent must be true (a cookie that survives browser restarts, Max-Age up to 400 days) or false (a browser-session cookie)`);
  }
  const partitioned = opts.partitioned ?? false;
  if (partitioned && !secure) throw new ConfigError(`${label}.partitioned requires secure: true`);
  return { name, secure, sameSite, path, domain, persistent, partitioned };
}

/**
 * Reads one cookie from a `Cookie` header. Never throws. Returns `null` when
 * the header is missing, oversized, or holds the cookie more than once with
 * different values (an ambiguous header may be a planted duplicate, so it is
 * treated as no cookie at all: fail closed).
 *
 * @example
 * ```ts
 * readCookie(req.headers.cookie, '__Host-session'); // 'handle.secret' or null
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

/**
 * @internal a `Set-Cookie` value giving the cookie `value`: for the browser
 * session, or (a persistent cookie) for `maxAgeSeconds`, at most
 * {@link MAX_COOKIE_AGE}.
 */
export function setCookieHeader(cfg: CookieConfig, value: string, maxAgeSeconds: number | null, httpOnly = true): string {
  return serialize(cfg.name, value, {
    ...attributes(cfg, httpOnly),
    encode: String,
    maxAge: !cfg.persistent || maxAgeSeconds === null ? undefined : Math.min(MAX_COOKIE_AGE, Math.max(0, Math.floor(maxAgeSeconds))),
  });
}

/** @internal a `Set-Cookie` value that makes the browser drop the cookie at once */
export function clearCookieHeader(cfg: CookieConfig, httpOnly = true): string {
  return serialize(cfg.name, '', { ...attributes(cfg, httpOnly), maxAge: 0, expires: new Date(0) });
}
