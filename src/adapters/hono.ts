/**
 * Hono 4 adapter: a middleware that puts the request-scoped session on
 * `c.var.session`, commits it after the handler, and answers latchkey's
 * refusals (401, 403, 429, 503) as JSON; and token mode's guard (a
 * middleware putting the claims on `c.var.token`), refresh and logout
 * handlers.
 *
 * @module
 */
import type { Context, Handler, MiddlewareHandler, Next } from 'hono';
import type { HttpSessionsOptions } from '../http/http-sessions.js';
import { createHttpSessions } from '../http/http-sessions.js';
import { toHttpError } from '../http/errors.js';
import { errorResponse, fetchRequest, FetchRequestView, jsonResponse, serveFetch, tokenEndpointResponse, withHeaders } from '../http/fetch.js';
import type { RequestSession } from '../http/request-session.js';
import type { TokenGuardOptions, TokenTransport, TokenTransportOptions } from '../http/tokens.js';
import { asTokenTransport } from '../http/tokens.js';
import type { AccessTokenClaims } from '../tokens/access.js';
import type { TokenPair } from '../tokens/tokens.js';
import type { CreateInput } from '../core/sessions.js';

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
  const remote = options.remoteAddress ?? defaultRemoteAddress;
  return async function latchkeyMiddleware(c, next) {
    // Form fields through Hono's parseBody(), which keeps what it parsed for the handler.
    const res = await serveFetch(http, new FetchRequestView(c.req.raw, remote(c), c.req), c, next, runHono);
    // Refused before next() ran: answered as any middleware's Response.
    if (!c.finalized) return res;
    if (res !== c.res) {
      c.res = undefined;
      c.res = res;
    }
    return undefined;
  };
}

/** The rest of the chain, with the session on `c.var.session`. */
async function runHono(session: RequestSession, c: Context<LatchkeyEnv>, next: Next): Promise<Response> {
  c.set('session', session);
  await next();
  // Hono answered a handler's error through its error handler: latchkey's own errors get latchkey's answer.
  if (c.error !== undefined && toHttpError(c.error) !== null) throw c.error;
  return c.res;
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
    if (r.headers.length > 0) {
      const res = withHeaders(c.res, r.headers);
      if (res !== c.res) {
        // Replaced, not merged: Hono would copy the old response's headers onto the new one.
        c.res = undefined;
        c.res = res;
      }
    }
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
    return tokenEndpointResponse(await t.refresh(fetchRequest(c.req.raw, remote(c))));
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
    return tokenEndpointResponse(await t.logout(fetchRequest(c.req.raw, undefined)));
  };
}

/**
 * Token mode: the `Response` answering a sign-in with its token pair (JSON,
 * or cookies with the cookie carrier). The same name in every adapter; on
 * the Fetch API it returns the answer rather than writing it.
 *
 * @example
 * ```ts
 * app.post('/auth/login', async (c) => {
 *   const user = await checkPassword(await c.req.json()); // yours
 *   return sendTokens(transport, await tokens.issue({ userId: user.id }));
 * });
 * ```
 */
export function sendTokens(transport: TokenTransport, pair: TokenPair): Response {
  return jsonResponse(transport.respond(pair));
}

/**
 * The former name of {@link sendTokens}.
 *
 * @deprecated Use `sendTokens(transport, pair)`, named as in every other adapter.
 * @example
 * ```ts
 * return sendTokens(transport, pair); // was: tokenResponse(transport, pair)
 * ```
 */
export const tokenResponse: (transport: TokenTransport, pair: TokenPair) => Response = sendTokens;

/**
 * Token mode: the `Response` answering a sign-in, once your handler has
 * authenticated the user, with a new token pair. With DPoP on in token
 * mode, the request's `DPoP` proof is checked and the pair bound to its key
 * (`token_type: DPoP`); a refused proof is answered 400
 * `invalid_dpop_proof` (or `use_dpop_nonce` with a `DPoP-Nonce`).
 *
 * @example
 * ```ts
 * app.post('/auth/login', async (c) => {
 *   const user = await checkPassword(await c.req.json()); // yours
 *   return issueTokens(c, transport, { userId: user.id });
 * });
 * ```
 */
export async function issueTokens(c: Context, transport: TokenTransport, input: CreateInput & { userId: string }): Promise<Response> {
  return tokenEndpointResponse(await transport.issue(fetchRequest(c.req.raw, undefined), input));
}
