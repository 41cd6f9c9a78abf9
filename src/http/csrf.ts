/**
 * Cross-site request forgery defence for cookie-carried sessions, on by
 * default. Unsafe methods are checked in layers:
 *
 * 1. Fetch Metadata: `Sec-Fetch-Site: same-origin` (or `none`, a user action)
 *    passes; `cross-site` is refused unless the `Origin` is trusted.
 * 2. Without Fetch Metadata, an `Origin` must be this host or a trusted origin.
 * 3. What remains (`same-site` requests from sibling subdomains, old browsers
 *    sending neither header) must prove knowledge of the CSRF token: the
 *    hidden form field (synchronizer token) or the request header (SPAs,
 *    optionally fed by a script-readable double-submit cookie).
 *
 * The token is derived from the session token (a SHA-256 with a domain
 * separator), so it needs no storage, changes whenever the session token
 * changes (sign-in, rotation), and reveals nothing about the session token.
 *
 * @module
 */
import { sha256Base64url, timingSafeEqual } from '#primitives';
import { ConfigError } from '../core/errors.js';
import { checkOptionKeys } from '../core/option-keys.js';
import type { CookieConfig, CookieOptions } from './cookies.js';
import { checkCookiePrefix, defaultCookieName } from './cookies.js';

/** Options of the CSRF defence. */
export interface CsrfOptions {
  /**
   * Other origins allowed to send unsafe requests, exactly as browsers send
   * them in `Origin` (`'https://admin.example.com'`).
   * @default []
   */
  trustedOrigins?: readonly string[];
  /** Request header carrying the token (SPAs). @default 'x-csrf-token' */
  header?: string;
  /** Form field carrying the token (HTML forms). @default '_csrf' */
  field?: string;
  /**
   * Also publish the token in a script-readable cookie, for SPAs that echo it
   * in `header` (double submit). It takes the session cookie's attributes
   * (but not HttpOnly) and, with `true`, the name `__Host-csrf`
   * (`__Secure-csrf` when the session cookie has a Domain or a narrower
   * path, `csrf` without Secure). A name of your own must carry the same
   * prefix outside development.
   * @default false
   */
  cookie?: boolean | Pick<CookieOptions, 'name'>;
}

/** @internal normalised CSRF configuration */
export interface CsrfConfig {
  readonly trustedOrigins: ReadonlySet<string>;
  readonly header: string;
  readonly field: string;
  readonly cookieName: string | null;
}

const HEADER = /^[a-z0-9-]{1,64}$/;
const FIELD = /^[A-Za-z0-9_.-]{1,64}$/;

/** @internal `session` is the session cookie, whose attributes the double-submit cookie shares */
export function csrfConfig(
  o: CsrfOptions | false | undefined,
  session: Pick<CookieConfig, 'secure' | 'path' | 'domain'>,
  development: boolean,
): CsrfConfig | null {
  if (o === false) return null;
  const opts = o ?? {};
  if (opts === null || typeof opts !== 'object') throw new ConfigError('csrf must be an object { trustedOrigins?, header?, field?, cookie? } or false');
  checkOptionKeys(opts, 'latchkey()', ['trustedOrigins', 'header', 'field', 'cookie'], { prefix: 'csrf.' });
  const origins = opts.trustedOrigins ?? [];
  if (!Array.isArray(origins)) throw new ConfigError('csrf.trustedOrigins must be an array of origins such as "https://app.example.com"');
  const trusted = new Set<string>();
  for (const origin of origins) {
    let parsed: URL | null = null;
    try {
      parsed = typeof origin === 'string' ? new URL(origin) : null;
    } catch {
      parsed = null;
    }
    if (parsed === null || parsed.origin === 'null' || parsed.origin !== origin.replace(/\/$/, '')) {
      throw new ConfigError(`csrf.trustedOrigins entry ${JSON.stringify(origin)} must be an origin: scheme://host[:port], no path`);
    }
    trusted.add(parsed.origin);
  }
  const header = (opts.header ?? 'x-csrf-token').toLowerCase();
  if (!HEADER.test(header)) throw new ConfigError('csrf.header must be a header name (letters, digits and "-")');
  const field = opts.field ?? '_csrf';
  if (!FIELD.test(field)) throw new ConfigError('csrf.field must be 1 to 64 letters, digits, "_", "." or "-"');
  let cookieName: string | null = null;
  if (opts.cookie !== undefined && opts.cookie !== false) {
    if (opts.cookie !== true) checkOptionKeys(opts.cookie, 'latchkey()', ['name'], { prefix: 'csrf.cookie.' });
    const named = opts.cookie === true ? undefined : opts.cookie.name;
    cookieName = named ?? defaultCookieName('csrf', session);
    if (typeof cookieName !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(cookieName)) throw new ConfigError('csrf.cookie.name must be a cookie token');
    checkCookiePrefix(cookieName, session, development, 'csrf.cookie.name');
  }
  return { trustedOrigins: trusted, header, field, cookieName };
}

const encoder = new TextEncoder();

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * Whether a method cannot change state (RFC 9110 §9.2.1), so CSRF checks skip it.
 *
 * @example
 * ```ts
 * isSafeMethod('GET'); // true
 * ```
 */
export function isSafeMethod(method: string): boolean {
  return SAFE.has(method.toUpperCase());
}

/** What the header checks concluded. */
export type OriginVerdict = 'pass' | 'needs-token' | 'csrf-cross-site' | 'csrf-origin-mismatch';

/**
 * The Fetch Metadata and Origin layers for an unsafe request. Never throws.
 *
 * @example
 * ```ts
 * checkOrigin(cfg, { secFetchSite: 'cross-site', origin: 'https://evil.example', host: 'app.example' }); // 'csrf-cross-site'
 * ```
 */
export function checkOrigin(
  cfg: Pick<CsrfConfig, 'trustedOrigins'>,
  h: { secFetchSite: string | undefined; origin: string | undefined; host: string | undefined },
): OriginVerdict {
  const site = h.secFetchSite?.toLowerCase();
  if (site === 'same-origin' || site === 'none') return 'pass';
  const origin = h.origin;
  const trusted = origin !== undefined && cfg.trustedOrigins.has(origin);
  if (site === 'cross-site') return trusted ? 'pass' : 'csrf-cross-site';
  if (site === 'same-site') return trusted ? 'pass' : 'needs-token';
  // No (known) Fetch Metadata: an older browser or a non-browser client.
  if (origin === undefined || origin === 'null') return 'needs-token';
  if (trusted || sameHost(origin, h.host)) return 'pass';
  return 'csrf-origin-mismatch';
}

function sameHost(origin: string, host: string | undefined): boolean {
  if (host === undefined || origin.length > 2048) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * The CSRF token of a session token.
 *
 * @example
 * ```ts
 * const csrf = csrfTokenFor(sessionToken); // embed in <input type="hidden" name="_csrf">
 * ```
 */
export function csrfTokenFor(sessionToken: string): string {
  return sha256Base64url(`latchkey-csrf\0${sessionToken}`);
}

/**
 * Whether `presented` is the CSRF token of `sessionToken`, in constant time. Never throws.
 *
 * @example
 * ```ts
 * if (!csrfTokenMatches(form.get('_csrf'), sessionToken)) refuse();
 * ```
 */
export function csrfTokenMatches(presented: unknown, sessionToken: string): boolean {
  if (typeof presented !== 'string' || presented.length !== 43) return false;
  return timingSafeEqual(encoder.encode(presented), encoder.encode(csrfTokenFor(sessionToken)));
}
