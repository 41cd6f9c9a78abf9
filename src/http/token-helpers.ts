/**
 * The token transport's helpers: its two cookies (always HttpOnly, Secure,
 * SameSite=Strict), where a request may carry a second copy of the access
 * token (RFC 6750 section 2), required scopes, and the refresh cookie's
 * lifetime.
 *
 * @module
 * @internal
 */
import { ConfigError } from '../core/errors.js';
import type { Session } from '../core/model.js';
import { cookieConfig, type CookieConfig } from './cookies.js';
import { isSafeMethod } from './csrf.js';
import type { AccessTokenFailure } from '../tokens/access.js';
import type { RefreshFailure } from '../tokens/refresh.js';
import type { HttpRequest } from './http-sessions.js';

/** @internal RFC 6750 `error_description` of each refusal of an access token */
export const DESCRIPTIONS: Record<AccessTokenFailure, string> = {
  malformed: 'the access token is malformed',
  expired: 'the access token expired',
  'not-yet-valid': 'the access token is not valid yet',
  'bad-signature': 'the access token signature is invalid',
  'unknown-kid': 'the access token was signed with an unknown key',
  'wrong-audience': 'the access token is not meant for this audience',
  'wrong-issuer': 'the access token comes from another issuer',
  'wrong-type': 'the token is not an access token',
  'algorithm-not-allowed': 'the access token algorithm is not allowed',
  'invalid-claims': 'the access token claims are invalid',
  revoked: 'the access token was revoked',
};

/** @internal the message of each refused refresh token */
export const GRANT_DESCRIPTIONS: Record<Exclude<RefreshFailure, 'throttled'>, string> = {
  malformed: 'the refresh token is malformed',
  unknown: 'the refresh token is unknown',
  expired: 'the refresh token expired',
  revoked: 'the refresh token was revoked',
  reused: 'the refresh token was already used; its family is revoked, sign in again',
  'wrong-key': 'the refresh token is bound to another DPoP key; its family is revoked, sign in again',
};

/** @internal every option of `createTokenTransport()` */
export const TRANSPORT_OPTIONS = [
  'tokens',
  'carrier',
  'accessCookie',
  'refreshCookie',
  'clearSiteData',
  'csrf',
  'realm',
  'development',
  'onError',
  'trustProxy',
  'proxyHeader',
  'publicOrigin',
];

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** @internal */
export function accessCookieConfig(o: { name?: string } | undefined, development: boolean): CookieConfig {
  const opts = o ?? {};
  if (opts === null || typeof opts !== 'object') throw new ConfigError('accessCookie must be an object { name? }');
  for (const key of Object.keys(opts)) {
    if (key !== 'name') {
      throw new ConfigError(
        `accessCookie.${key} cannot be set: the access cookie is always HttpOnly, Secure, SameSite=Strict and host-only on Path=/; keep only name`,
      );
    }
  }
  const secure = !development;
  // Persistent: Max-Age is the token's own lifetime (minutes), so the cookie never outlives what it carries.
  return cookieConfig({ name: opts.name, secure, sameSite: 'strict', path: '/', persistent: true }, development, 'accessCookie', { base: 'access' });
}

/** @internal */
export function refreshCookieConfig(o: { name?: string; path?: string; domain?: string; persistent?: boolean } | undefined, development: boolean): CookieConfig {
  const opts = o ?? {};
  if (opts === null || typeof opts !== 'object') throw new ConfigError('refreshCookie must be an object { name?, path?, domain?, persistent? }');
  for (const key of Object.keys(opts)) {
    if (key !== 'name' && key !== 'path' && key !== 'domain' && key !== 'persistent') {
      throw new ConfigError(
        `refreshCookie.${key} cannot be set: the refresh cookie is always HttpOnly, Secure and SameSite=Strict; keep only name, path, domain and persistent`,
      );
    }
  }
  const secure = !development;
  const name = opts.name;
  const path = opts.path ?? '/auth/refresh';
  if (typeof name === 'string' && name.toLowerCase().startsWith('__host-')) {
    throw new ConfigError(
      `refreshCookie.name: a __Host- cookie must have Path=/, but the refresh cookie is scoped to the refresh path; use the __Secure- prefix (the default '__Secure-refresh')`,
    );
  }
  if (path === '/') {
    throw new ConfigError(`refreshCookie.path: '/' would send the refresh token with every request; set it to the path of your refresh endpoint (default '/auth/refresh')`);
  }
  return cookieConfig({ name, secure, sameSite: 'strict', path, domain: opts.domain, persistent: opts.persistent }, development, 'refreshCookie', { base: 'refresh' });
}

const FORM = /^application\/x-www-form-urlencoded\b/i;

/** Whether the request target carries `access_token` (RFC 6750 section 2.3). Synchronous: it runs on every guarded request. */
/** @internal */
export function inQuery(url: string): boolean {
  const q = url.indexOf('?');
  return q !== -1 && url.includes('access_token', q) && new URLSearchParams(url.slice(q + 1)).has('access_token');
}

/** Whether the request may carry a form-encoded body (RFC 6750 section 2.2) worth reading. */
/** @internal */
export function needsFormCheck(req: HttpRequest): boolean {
  return !isSafeMethod(req.method) && req.formField !== undefined && FORM.test(req.header('content-type') ?? '');
}

/** Whether the form-encoded body carries `access_token`. */
/** @internal */
export async function inForm(req: HttpRequest): Promise<boolean> {
  try {
    // Called as a method: adapters' views rely on `this`.
    return typeof (await req.formField?.('access_token')) === 'string';
  } catch {
    return false;
  }
}

/** @internal */
export function scopeList(scope: string | readonly string[] | undefined): string[] {
  if (scope === undefined) return [];
  const list = typeof scope === 'string' ? scope.split(' ').filter((s) => s !== '') : scope;
  if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === 'string' && SCOPE_TOKEN.test(s))) {
    throw new ConfigError('scope must be a space-separated string or a list of scope names (printable ASCII, no spaces, quotes or backslashes)');
  }
  return [...list];
}

/** Seconds the refresh cookie should live: until the family's next deadline (idle or absolute), from the refresh. */
/** @internal */
export function refreshLifetime(session: Session): number {
  const deadline = Math.min(session.idleExpiresAt, session.absoluteExpiresAt);
  return Math.max(0, Math.floor((deadline - session.lastSeenAt) / 1000));
}
