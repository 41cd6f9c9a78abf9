/**
 * Token mode over HTTP: the framework-neutral guard, refresh endpoint and
 * logout endpoint every adapter wraps.
 *
 * Two carriers:
 *
 * - `'bearer'` (default; mobile apps, services, SPAs keeping tokens in
 *   memory): the access token travels in `Authorization: Bearer`, the refresh
 *   token in the `refresh_token` field of a JSON or form body, and the
 *   endpoints answer both in JSON. No cookie, so no CSRF.
 * - `'cookie'` (browsers): both tokens travel in HttpOnly, Secure,
 *   SameSite=Strict cookies that scripts never see: the access cookie
 *   (`__Host-access`, `Path=/`) and the refresh cookie (`__Secure-refresh`,
 *   scoped to the refresh path, so it is sent to that endpoint only). The
 *   guard still accepts `Authorization: Bearer` first.
 *
 * Every answer that carries a token (in its body or a cookie) or clears one
 * is `Cache-Control: no-store`; the logout endpoint's answer also carries
 * `Clear-Site-Data` (`clearSiteData`). The sign-in and refresh answers tell
 * the client when the family ends (`Latchkey-Deadlines`, see `./deadlines.ts`).
 *
 * CSRF, cookie carrier only: SameSite=Strict keeps the cookies off cross-site
 * requests, and every unsafe request that a cookie authenticates (and every
 * refresh and logout) must also pass the HTTP layer's Fetch Metadata / Origin
 * check. A request that check cannot vouch for (a sibling subdomain, or a
 * client sending neither `Sec-Fetch-Site` nor `Origin`) is refused, not asked
 * for a token: an SPA calls its API with `fetch()`, which always sends these
 * headers, and non-browser clients use the bearer carrier. Trusted sibling
 * origins are listed in `csrf.trustedOrigins`.
 *
 * Failures follow RFC 6750 (`WWW-Authenticate: Bearer realm="…",
 * error="invalid_token", error_description="…"`; 400 `invalid_request` for
 * a token sent twice, in the header and as an `access_token` parameter) and
 * RFC 6749 (`invalid_grant`), with the exact cause in the body's `detail`.
 * No token ever appears in a message, a header or a log. The guard verifies
 * that the token's session is still live (see `createAccessTokens`'s
 * `revocation`), and accepts tokens up to `MAX_ACCESS_TOKEN_LENGTH`, the
 * limit `verify()` applies.
 *
 * @module
 */
import { ConfigError } from '../core/errors.js';
import { checkOptionKeys } from '../core/option-keys.js';
import type { DpopProof } from '../tokens/dpop.js';
import type { RefreshFailure } from '../tokens/refresh.js';
import type { TokenPair, Tokens } from '../tokens/tokens.js';
import type { CreateInput } from '../core/sessions.js';
import type { TrustProxyOptions } from './client.js';
import { clientIpResolver } from './client.js';
import { clearCookieHeader, readCookie, setCookieHeader, type CookieConfig } from './cookies.js';
import { clearSiteDataLine, NO_STORE as NO_STORE_LINES, type ClearSiteDataOptions } from './credential-headers.js';
import { checkOrigin, csrfConfig, isSafeMethod, type CsrfConfig } from './csrf.js';
import { deadlinesLine } from './deadlines.js';
import { HttpError, throttled, toHttpError } from './errors.js';
import {
  accessCookieConfig,
  GRANT_DESCRIPTIONS,
  refreshCookieConfig,
  refreshLifetime,
  TRANSPORT_OPTIONS,
} from './token-helpers.js';
import { requestField, type HttpRequest } from './http-sessions.js';
import { createGuard, type GuardContext, type TokenGuardOptions, type TokenGuardResult } from './token-guard.js';
import { dpopAnswers, originsOption, requestUri, type DpopAnswers } from './token-dpop.js';
import type { HeaderLine } from './request-session.js';

/** Options of {@link createTokenTransport}. Only `tokens` is required. */
export interface TokenTransportOptions extends TrustProxyOptions {
  /** Token mode, from `createTokens()`. */
  tokens: Tokens;
  /**
   * Where tokens travel: `'bearer'` (header + JSON body) or `'cookie'`
   * (HttpOnly cookies, CSRF-checked).
   * @default 'bearer'
   */
  carrier?: 'bearer' | 'cookie';
  /**
   * The access cookie (cookie carrier). Always HttpOnly, Secure,
   * SameSite=Strict, `Path=/`, `Max-Age` = the access-token lifetime (it
   * never outlives its token). Outside development the name must carry the
   * `__Host-` prefix.
   * @default { name: '__Host-access' } ('access' in development)
   */
  accessCookie?: { name?: string };
  /**
   * The refresh cookie (cookie carrier), sent by browsers to `path` only.
   * Always HttpOnly, Secure, SameSite=Strict. Outside development the name
   * must carry the `__Secure-` prefix (`__Host-` requires `Path=/`). A
   * browser-session cookie unless `persistent: true`, which gives it a
   * `Max-Age` up to the family's next deadline (idle or absolute), at most
   * 400 days.
   * @default { name: '__Secure-refresh', path: '/auth/refresh', persistent: false } ('refresh' in development)
   */
  refreshCookie?: { name?: string; path?: string; domain?: string; persistent?: boolean };
  /**
   * What the logout endpoint asks the browser to clear with
   * `Clear-Site-Data`: `"cache"` always, `"storage"` (where an SPA keeps
   * bearer tokens or user data) and `"cookies"` (every cookie of the site)
   * on request.
   * @default { storage: false, cookies: false }: `Clear-Site-Data: "cache"`
   */
  clearSiteData?: ClearSiteDataOptions;
  /**
   * CSRF defence of the cookie carrier; `false` turns it off (never do that
   * while browsers hold the cookies).
   * @default { trustedOrigins: [] }
   */
  csrf?: { trustedOrigins?: readonly string[] } | false;
  /** Realm of `WWW-Authenticate`. @default 'latchkey' */
  realm?: string;
  /**
   * The public origin(s) clients address this API at (`'https://api.example.com'`),
   * for DPoP: a proof's `htu` must name it and the request's path. Set it
   * behind a proxy that changes the scheme or the `Host`.
   * @default `https://` and the request's `Host` (`http://` for a loopback host, or with `development`)
   */
  publicOrigin?: string | readonly string[];
  /** Allows cookies without Secure, for plain-HTTP local development only. @default false */
  development?: boolean;
  /**
   * Called with errors latchkey cannot answer itself (in the node:http
   * adapter: a guarded handler's unknown error, a failed answer). Never
   * receives a token.
   * @default console.error
   */
  onError?: (error: unknown) => void;
}


export type { TokenGuardOptions, TokenGuardResult } from './token-guard.js';

/** A successful answer of a token endpoint, for an adapter to send as JSON. */
export interface TokenResponse {
  readonly status: number;
  /** `set-cookie` lines are appended, others set. */
  readonly headers: readonly HeaderLine[];
  readonly body: Readonly<Record<string, unknown>>;
}

/** What a token endpoint decided. */
export type TokenEndpointResult = { readonly ok: true; readonly response: TokenResponse } | { readonly ok: false; readonly error: HttpError };

/** Token mode's HTTP transport, returned by {@link createTokenTransport}. */
export interface TokenTransport {
  /** The carrier in use. */
  readonly carrier: 'bearer' | 'cookie';
  /** The token mode it transports. */
  readonly tokens: Tokens;
  /** The configured `onError`. */
  readonly reportError: (error: unknown) => void;
  /** A guard for routes with these options (normalised once): verifies the request's access token. */
  guard(options?: TokenGuardOptions): (request: HttpRequest) => Promise<TokenGuardResult>;
  /** The refresh endpoint (`POST`): rotates the refresh token and answers the new pair. */
  refresh(request: HttpRequest): Promise<TokenEndpointResult>;
  /** The logout endpoint (`POST`): revokes the family and, with cookies, clears them. */
  logout(request: HttpRequest): Promise<TokenEndpointResult>;
  /**
   * A sign-in endpoint's answer, once the application has authenticated the
   * user: checks the request's `DPoP` proof (when token mode has DPoP on and
   * the client sent one, or must), issues the pair (bound to the proof's key)
   * and answers it.
   */
  issue(request: HttpRequest, input: CreateInput & { userId: string }): Promise<TokenEndpointResult>;
  /** The answer carrying a pair, e.g. the one of `tokens.issue()` after a sign-in. */
  respond(pair: TokenPair): TokenResponse;
}

const BRAND: unique symbol = Symbol('latchkey.tokenTransport');

const REALM = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}$/;
// RFC 6749 section 5.1 asks for Pragma too, for HTTP/1.0 caches.
const NO_STORE: readonly HeaderLine[] = [...NO_STORE_LINES, ['pragma', 'no-cache']];

/**
 * Creates token mode's HTTP transport. The adapters' `tokenGuard()`,
 * `tokenRefresh()` and `tokenLogout()` wrap it; use it directly for another
 * framework.
 *
 * @throws {ConfigError} for an unsafe or inconsistent configuration, saying how to fix it.
 * @example
 * ```ts
 * import { createTokenTransport, fetchRequest } from 'latchkey/http';
 *
 * const transport = createTokenTransport({ tokens, carrier: 'cookie' });
 * const guard = transport.guard({ scope: 'read' });
 *
 * const checked = await guard(fetchRequest(request, undefined));
 * if (!checked.ok) return errorResponse(checked.error);
 * console.log(checked.claims.sub);
 * ```
 */
export function createTokenTransport(options: TokenTransportOptions): TokenTransport {
  checkOptionKeys(options, 'createTokenTransport()', TRANSPORT_OPTIONS);
  const tokens = options.tokens;
  if (tokens === null || typeof tokens !== 'object' || typeof tokens.verify !== 'function' || typeof tokens.refresh !== 'function') {
    throw new ConfigError('tokens must be token mode from createTokens({ sessions, keys, ... }) (import { createTokens } from "latchkey/tokens")');
  }
  const carrier = options.carrier ?? 'bearer';
  if (carrier !== 'bearer' && carrier !== 'cookie') throw new ConfigError("carrier must be 'bearer' (Authorization header and JSON body) or 'cookie' (HttpOnly cookies)");
  const development = options.development ?? false;
  const reportError = options.onError ?? ((error: unknown) => console.error('latchkey:', error));
  if (typeof reportError !== 'function') throw new ConfigError('onError must be a function');
  if (typeof development !== 'boolean') throw new ConfigError('development must be a boolean');
  const realm = options.realm ?? 'latchkey';
  if (typeof realm !== 'string' || !REALM.test(realm)) throw new ConfigError('realm must be 1 to 64 printable ASCII characters without quotes or backslashes');
  const resolveIp = clientIpResolver(options);
  const origins = originsOption(options.publicOrigin);
  const dpop = tokens.dpop ?? null;
  if (dpop?.required === true && carrier === 'cookie') {
    throw new ConfigError("the cookie carrier sends access tokens in a cookie, never with the DPoP scheme, so dpop.required would refuse them all; use carrier: 'bearer' for DPoP clients");
  }
  const dpopAnswer: DpopAnswers | null = dpop === null ? null : dpopAnswers(dpop, realm);

  const clearSiteData = clearSiteDataLine(options.clearSiteData);
  let access: CookieConfig | null = null;
  let refresh: CookieConfig | null = null;
  let csrf: CsrfConfig | null = null;
  if (carrier === 'cookie') {
    access = accessCookieConfig(options.accessCookie, development);
    refresh = refreshCookieConfig(options.refreshCookie, development);
    if (options.csrf !== false) {
      const c = options.csrf ?? {};
      if (c === null || typeof c !== 'object') throw new ConfigError('csrf must be { trustedOrigins } or false');
      for (const key of Object.keys(c)) {
        if (key !== 'trustedOrigins') {
          throw new ConfigError(`csrf.${key} is not an option of token mode: its cookie carrier needs no CSRF token (only Fetch Metadata / Origin); keep only trustedOrigins`);
        }
      }
      csrf = csrfConfig({ trustedOrigins: c.trustedOrigins }, access, development);
    }
  } else {
    for (const key of ['accessCookie', 'refreshCookie', 'csrf'] as const) {
      if (options[key] !== undefined) throw new ConfigError(`${key} applies to the cookie carrier only; add carrier: 'cookie', or remove ${key}`);
    }
  }

  const challenge = (params: string): string => `Bearer realm="${realm}"${params}`;

  /** The CSRF verdict for a request a cookie authenticates, as an error or null. */
  function crossSite(req: HttpRequest): HttpError | null {
    if (csrf === null || isSafeMethod(req.method)) return null;
    const verdict = checkOrigin(csrf, { secFetchSite: req.header('sec-fetch-site'), origin: req.header('origin'), host: req.header('host') });
    if (verdict === 'pass') return null;
    return new HttpError(403, verdict === 'needs-token' ? 'csrf-origin-mismatch' : verdict);
  }

  const guardContext: GuardContext = { tokens, challenge, accessCookie: access?.name ?? null, crossSite, dpopAnswer, origins, development };
  const guard = (opts?: TokenGuardOptions) => createGuard(guardContext, opts);

  /**
   * The proof a token endpoint request carries, verified: `undefined` when
   * there is none (or DPoP is off), or the error to answer.
   */
  async function endpointProof(req: HttpRequest): Promise<{ proof: DpopProof | undefined } | { error: HttpError }> {
    if (dpop === null || dpopAnswer === null) return { proof: undefined };
    const header = req.header('dpop');
    if (header === undefined) return { proof: undefined };
    const url = requestUri(req, origins, development);
    if (url === null) return { error: dpopAnswer.endpoint({ error: 'invalid_dpop_proof', reason: 'htu-mismatch' }) };
    const checked = await dpop.verify({ proof: header, method: req.method, url });
    return checked.ok ? { proof: checked } : { error: dpopAnswer.endpoint(checked) };
  }

  /** `DPoP-Nonce` on a token endpoint's answer, when nonces are on. */
  function withNonce(response: TokenResponse): TokenResponse {
    const nonce = dpop?.nonce() ?? null;
    return nonce === null ? response : { ...response, headers: [...response.headers, ['dpop-nonce', nonce]] };
  }

  function respond(pair: TokenPair): TokenResponse {
    // The family's deadlines, counted from its last refresh: the moment of this answer by the engine's clock.
    const deadlines = deadlinesLine(pair.session, pair.session.lastSeenAt);
    if (access === null || refresh === null) {
      return {
        status: 200,
        headers: [...NO_STORE, deadlines],
        body: { access_token: pair.accessToken, token_type: pair.tokenType, expires_in: pair.expiresIn, refresh_token: pair.refreshToken },
      };
    }
    return {
      status: 200,
      headers: [
        ...NO_STORE,
        deadlines,
        ['set-cookie', setCookieHeader(access, pair.accessToken, pair.expiresIn)],
        ['set-cookie', setCookieHeader(refresh, pair.refreshToken, refreshLifetime(pair.session))],
      ],
      // The tokens stay in HttpOnly cookies: scripts learn only when to refresh.
      body: { token_type: pair.tokenType, expires_in: pair.expiresIn },
    };
  }

  const notPost = new HttpError(405, 'invalid_request', { detail: 'method-not-allowed', message: 'token endpoints take POST', headers: { allow: 'POST' } });
  const noToken = new HttpError(400, 'invalid_request', { detail: 'missing', message: 'refresh_token missing' });
  const wrongGrant = new HttpError(400, 'invalid_request', { detail: 'unsupported-grant-type', message: 'grant_type must be refresh_token' });
  const grantFailures = Object.fromEntries(
    Object.entries(GRANT_DESCRIPTIONS).map(([reason, description]) => [reason, new HttpError(401, 'invalid_grant', { detail: reason, message: description })]),
  ) as Record<Exclude<RefreshFailure, 'throttled'>, HttpError>;

  /** The presented refresh token, or the error to answer with. */
  async function presented(req: HttpRequest): Promise<{ token: string | null } | { error: HttpError }> {
    if (req.method.toUpperCase() !== 'POST') return { error: notPost };
    if (refresh !== null) {
      const refused = crossSite(req);
      if (refused !== null) return { error: refused };
      const token = readCookie(req.header('cookie'), refresh.name);
      return { token: token === '' ? null : token };
    }
    const [token, grantType] = await Promise.all([requestField(req, 'bodyField', 'refresh_token'), requestField(req, 'bodyField', 'grant_type')]);
    if (grantType !== undefined && grantType !== 'refresh_token') return { error: wrongGrant };
    return { token: token === undefined || token === '' ? null : token };
  }

  const clearing: readonly HeaderLine[] =
    access === null || refresh === null
      ? [...NO_STORE, clearSiteData]
      : [...NO_STORE, clearSiteData, ['set-cookie', clearCookieHeader(access)], ['set-cookie', clearCookieHeader(refresh)]];

  const transport: TokenTransport & { [BRAND]: true } = {
    [BRAND]: true,
    reportError,
    carrier,
    tokens,
    guard,
    respond,

    async refresh(req) {
      const p = await presented(req);
      if ('error' in p) return { ok: false, error: p.error };
      if (p.token === null) return { ok: false, error: noToken };
      const client = { ip: resolveIp(req.remoteAddress, req), userAgent: req.header('user-agent') };
      try {
        const proven = await endpointProof(req);
        if ('error' in proven) return { ok: false, error: proven.error };
        const r = await tokens.refresh(p.token, proven.proof === undefined ? { client } : { client, dpop: proven.proof });
        if (r.ok) return { ok: true, response: withNonce(respond(r)) };
        // A burst of invalid refresh tokens from this client: wait, as every throttle says.
        if (r.reason === 'throttled') return { ok: false, error: throttled(r.retryAfter, 'too many invalid refresh tokens; retry later') };
        return { ok: false, error: grantFailures[r.reason] };
      } catch (err) {
        const known = toHttpError(err);
        if (known === null) throw err;
        return { ok: false, error: known };
      }
    },

    async issue(req, input) {
      if (req.method.toUpperCase() !== 'POST') return { ok: false, error: notPost };
      try {
        const proven = await endpointProof(req);
        if ('error' in proven) return { ok: false, error: proven.error };
        if (proven.proof === undefined && dpop?.required === true && dpopAnswer !== null) {
          return { ok: false, error: dpopAnswer.endpoint({ error: 'invalid_dpop_proof', reason: 'missing' }) };
        }
        const pair = await tokens.issue(proven.proof === undefined ? input : { ...input, dpop: proven.proof });
        return { ok: true, response: withNonce(respond(pair)) };
      } catch (err) {
        const known = toHttpError(err);
        if (known === null) throw err;
        return { ok: false, error: known };
      }
    },

    async logout(req) {
      const p = await presented(req);
      if ('error' in p) return { ok: false, error: p.error };
      // Signing out twice is not an error (RFC 7009 answers 200 for unknown tokens too).
      if (p.token === null && refresh === null) return { ok: false, error: noToken };
      try {
        const revoked = p.token === null ? false : await tokens.revoke(p.token);
        return { ok: true, response: { status: 200, headers: clearing, body: { revoked } } };
      } catch (err) {
        const known = toHttpError(err);
        if (known === null) throw err;
        return { ok: false, error: known };
      }
    },
  };
  return transport;
}

/**
 * The transport itself when given one, else a new one from these options.
 * Lets every adapter factory take either.
 *
 * @example
 * ```ts
 * const transport = asTokenTransport(transportOrOptions);
 * ```
 */
export function asTokenTransport(input: TokenTransport | TokenTransportOptions): TokenTransport {
  if (input !== null && typeof input === 'object' && BRAND in input) return input as TokenTransport;
  return createTokenTransport(input as TokenTransportOptions);
}
