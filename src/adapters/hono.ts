/**
 * Hono 4 adapter: a middleware that puts the request-scoped session on
 * `c.var.session`, commits it after the handler, and answers latchkey's
 * refusals (401, 403, 429, 503) as JSON; and token mode's guard (a
 * middleware putting the claims on `c.var.token`), refresh and logout
 * handlers.
 *
 * @module
 */
import type { Context, Handler, MiddlewareHandler } from 'hono';
import type { HttpSessionsOptions } from '../http/http-sessions.js';
import { createHttpSessions } from '../http/http-sessions.js';
import { toHttpError } from '../http/errors.js';
import { finishRequest } from '../http/exchange.js';
import { errorResponse, fetchRequest, fetchResponder, jsonResponse } from '../http/fetch.js';
import type { RequestSession } from '../http/request-session.js';
import type { TokenGuardOptions, TokenTransport, TokenTransportOptions } from '../http/tokens.js';
import { asTokenTransport } from '../http/tokens.js';
import type { AccessTokenClaims } from '../tokens/access.js';
import type { TokenPair } from '../tokens/tokens.js';

/** The Hono environment the middleware provides: `c.var.session`. */
export interface LatchkeyEnv {
  Variables: { session: RequestSession };
}

/** Options of the Hono middleware. */
export interface HonoSessionsOptions extends HttpSessionsOptions {
  /**
   * The client's socket address. The default reads `@hono/node-server`'s
   * `c.env.incoming` and Bun's `c.env.requestIP`; on other runtimes pass it.
   */
  remoteAddress?: (c: Context) => string | undefined;
}

/**
 * Creates the session middleware.
 *
 * @throws {ConfigError} for a weakening configuration.
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { latchkey, type LatchkeyEnv } from 'latchkey/hono';
 *
 * const app = new Hono<LatchkeyEnv>();
 * app.use(latchkey({ sessions }));
 * app.get('/', async (c) => {
 *   const session = await c.var.session.load();
 *   return c.text(session.isAuthenticated ? `hi ${session.userId}` : 'hi stranger');
 * });
 * ```
 */
export function latchkey(options: HonoSessionsOptions): MiddlewareHandler<LatchkeyEnv> {
  const http = createHttpSessions(options);
  const report = http.reportError;
  const remote = options.remoteAddress ?? defaultRemoteAddress;
  return async function latchkeyMiddleware(c, next) {
    const begun = await http.begin(
      fetchRequest(c.req.raw, remote(c), () => c.req.parseBody()),
    );
    if (!begun.ok) return errorResponse(begun.error);
    const session = begun.session;
    c.set('session', session);
    await next();
    const failed = c.error === undefined ? null : toHttpError(c.error);
    if (failed !== null) {
      c.res = undefined;
      c.res = errorResponse(failed);
    }
    const out = finishRequest(session, undefined, c.res, fetchResponder, report);
    // Nothing to write (the common read): no await, no extra turn.
    const res = out instanceof Promise ? await out : out;
    if (res !== c.res) {
      c.res = undefined;
      c.res = res;
    }
  };
}

function defaultRemoteAddress(c: Context): string | undefined {
  const env = c.env as
    | { incoming?: { socket?: { remoteAddress?: string } }; requestIP?: (req: Request) => { address?: string } | null }
    | undefined;
  if (env === undefined || env === null) return undefined;
  const node = env.incoming?.socket?.remoteAddress;
  if (typeof node === 'string') return node;
  if (typeof env.requestIP === 'function') {
    try {
      return env.requestIP(c.req.raw)?.address;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The Hono environment of {@link tokenGuard}: `c.var.token`. */
export interface TokenEnv {
  Variables: { token: AccessTokenClaims };
}

/**
 * Token mode: a middleware that verifies the access token (`Authorization:
 * Bearer`, or the access cookie with `carrier: 'cookie'`) and puts its claims
 * on `c.var.token`, or answers 401/403 with RFC 6750 `WWW-Authenticate`.
 *
 * @throws {ConfigError} for a bad configuration.
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { tokenGuard, type TokenEnv } from 'latchkey/hono';
 *
 * const app = new Hono<TokenEnv>();
 * app.use('/api/*', tokenGuard({ tokens }));
 * app.get('/api/me', (c) => c.json({ user: c.var.token.sub }));
 * ```
 */
export function tokenGuard(transport: TokenTransport | TokenTransportOptions, options?: TokenGuardOptions): MiddlewareHandler<TokenEnv> {
  const guard = asTokenTransport(transport).guard(options);
  return async function latchkeyTokenGuard(c, next) {
    const r = await guard(fetchRequest(c.req.raw, undefined));
    if (!r.ok) return errorResponse(r.error);
    c.set('token', r.claims);
    await next();
  };
}

/**
 * Token mode: the refresh handler (`POST`). Takes `refresh_token` from a JSON
 * or form body (bearer carrier) or the refresh cookie (cookie carrier);
 * answers the new pair, or 401 `invalid_grant`.
 *
 * @example
 * ```ts
 * app.post('/auth/refresh', tokenRefresh(transport));
 * ```
 */
export function tokenRefresh(transport: TokenTransport | TokenTransportOptions, options: Pick<HonoSessionsOptions, 'remoteAddress'> = {}): Handler {
  const t = asTokenTransport(transport);
  const remote = options.remoteAddress ?? defaultRemoteAddress;
  return async function latchkeyTokenRefresh(c) {
    // A final handler: the bounded form reader (1 MiB), not Hono's parseBody, which buffers any size.
    const r = await t.refresh(fetchRequest(c.req.raw, remote(c)));
    return r.ok ? jsonResponse(r.response) : errorResponse(r.error);
  };
}

/**
 * Token mode: the logout handler (`POST`); revokes the family and, with
 * cookies, clears them.
 *
 * @example
 * ```ts
 * app.post('/auth/logout', tokenLogout(transport));
 * ```
 */
export function tokenLogout(transport: TokenTransport | TokenTransportOptions): Handler {
  const t = asTokenTransport(transport);
  return async function latchkeyTokenLogout(c) {
    const r = await t.logout(fetchRequest(c.req.raw, undefined));
    return r.ok ? jsonResponse(r.response) : errorResponse(r.error);
  };
}

/**
 * Token mode: the `Response` answering a sign-in with its token pair (JSON,
 * or cookies with the cookie carrier).
 *
 * @example
 * ```ts
 * app.post('/auth/login', async (c) => {
 *   const user = await checkPassword(await c.req.json()); // yours
 *   return tokenResponse(transport, await tokens.issue({ userId: user.id }));
 * });
 * ```
 */
export function tokenResponse(transport: TokenTransport, pair: TokenPair): Response {
  return jsonResponse(transport.respond(pair));
}
