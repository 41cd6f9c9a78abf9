/**
 * Koa 3 adapter: a middleware that puts the request-scoped session on
 * `ctx.session`, commits it before Koa writes the response, and answers
 * latchkey's refusals (401, 403, 429, 503) as JSON; and token mode's guard
 * (`ctx.token`), sign-in (`issueTokens()`), refresh and logout endpoints.
 *
 * @module
 */
import type { Context, Middleware, Next } from 'koa';
import type { HttpSessionsOptions } from '../http/http-sessions.js';
import { createHttpSessions } from '../http/http-sessions.js';
import { koaRequest, sendKoaError, sendKoaJson, sendKoaTokenResult, serveKoa } from '../http/koa.js';
import type { RequestSession } from '../http/request-session.js';
import type { TokenGuardOptions, TokenTransport, TokenTransportOptions } from '../http/tokens.js';
import { asTokenTransport } from '../http/tokens.js';
import type { AccessTokenClaims } from '../tokens/access.js';
import type { TokenPair } from '../tokens/tokens.js';
import type { CreateInput } from '../core/sessions.js';

declare module 'koa' {
  interface DefaultContext {
    /** latchkey's session of this request; `await ctx.session.load()` before reading it. */
    session: RequestSession;
    /** The verified access-token claims, on routes behind `tokenGuard()`. */
    token: AccessTokenClaims;
  }
}

/** Options of the Koa middleware: the shared HTTP options. */
export type KoaSessionsOptions = HttpSessionsOptions;

/**
 * Creates the session middleware. Register it before your routes (and after
 * `@koa/bodyparser` if you have one; without one, latchkey reads a
 * URL-encoded body itself when it needs the CSRF form field, and leaves the
 * fields on `ctx.request.body`).
 *
 * Once the session has something to write, Koa's response waits for the
 * commit: a failed save is answered instead of the handler's answer (503
 * `store-unavailable`, 500 `session-not-saved`), never dropped behind a
 * success, and a session change after the response started throws a
 * `HeadersSentError`. latchkey's errors thrown by the routes (a guard's
 * 401, a store outage's 503) are answered as JSON; other errors go on to
 * your error handling, the session's cookies still reaching the client.
 *
 * @throws {ConfigError} for a weakening configuration.
 * @example
 * ```ts
 * import Koa from 'koa';
 * import { createSessions } from 'latchkey';
 * import { memoryStore } from 'latchkey/stores/memory';
 * import { latchkey } from 'latchkey/koa';
 *
 * const app = new Koa();
 * app.use(latchkey({ sessions: createSessions({ store: memoryStore() }) }));
 * app.use(async (ctx) => {
 *   const session = await ctx.session.load();
 *   ctx.body = session.isAuthenticated ? `hi ${session.userId}` : 'hi stranger';
 * });
 * ```
 */
export function latchkey(options: KoaSessionsOptions): Middleware {
  const http = createHttpSessions(options);
  return function latchkeyMiddleware(ctx: Context, next: Next): Promise<void> {
    return serveKoa(http, ctx, next, withSession);
  };
}

function withSession(session: RequestSession, ctx: Context): void {
  ctx.session = session;
}

/**
 * Token mode: a middleware that verifies the access token (`Authorization:
 * Bearer`, or the access cookie with `carrier: 'cookie'`) and puts its claims
 * on `ctx.token`, or answers 401/403 with RFC 6750 `WWW-Authenticate`.
 *
 * @throws {ConfigError} for a bad configuration.
 * @example
 * ```ts
 * import Router from '@koa/router';
 * import { tokenGuard } from 'latchkey/koa';
 *
 * const router = new Router();
 * router.get('/api/me', tokenGuard(transport), (ctx) => { ctx.body = { user: ctx.token.sub }; });
 * router.post('/api/password', tokenGuard(transport, { checkSession: true, scope: 'account' }), changePassword);
 * ```
 */
export function tokenGuard(transport: TokenTransport | TokenTransportOptions, options?: TokenGuardOptions): Middleware {
  const guard = asTokenTransport(transport).guard(options);
  return async function latchkeyTokenGuard(ctx: Context, next: Next): Promise<void> {
    const r = await guard(koaRequest(ctx));
    if (!r.ok) return sendKoaError(ctx, r.error);
    ctx.token = r.claims;
    for (const [name, value] of r.headers) ctx.set(name, value);
    await next();
  };
}

/**
 * Token mode: the refresh endpoint (`POST`). Takes `refresh_token` from a
 * JSON or form body (bearer carrier; from `ctx.request.body` when a body
 * parser ran) or the refresh cookie (cookie carrier), and answers the new
 * pair, or 401 `invalid_grant`.
 *
 * @example
 * ```ts
 * router.post('/auth/refresh', tokenRefresh({ tokens, carrier: 'cookie' }));
 * ```
 */
export function tokenRefresh(transport: TokenTransport | TokenTransportOptions): Middleware {
  const t = asTokenTransport(transport);
  return async function latchkeyTokenRefresh(ctx: Context): Promise<void> {
    sendKoaTokenResult(ctx, await t.refresh(koaRequest(ctx)));
  };
}

/**
 * Token mode: the logout endpoint (`POST`). Revokes the refresh token's
 * family and, with cookies, clears them; answers `{ revoked }`.
 *
 * @example
 * ```ts
 * router.post('/auth/logout', tokenLogout(transport));
 * ```
 */
export function tokenLogout(transport: TokenTransport | TokenTransportOptions): Middleware {
  const t = asTokenTransport(transport);
  return async function latchkeyTokenLogout(ctx: Context): Promise<void> {
    sendKoaTokenResult(ctx, await t.logout(koaRequest(ctx)));
  };
}

/**
 * Token mode: answers a sign-in with its token pair (JSON, or cookies with the
 * cookie carrier), through `ctx`.
 *
 * @example
 * ```ts
 * router.post('/auth/login', async (ctx) => {
 *   const user = await checkPassword(ctx.request.body); // yours
 *   sendTokens(ctx, transport, await tokens.issue({ userId: user.id }));
 * });
 * ```
 */
export function sendTokens(ctx: Context, transport: TokenTransport, pair: TokenPair): void {
  sendKoaJson(ctx, transport.respond(pair));
}

/**
 * Token mode: answers a sign-in, once your handler has authenticated the
 * user, with a new token pair, through `ctx`. With DPoP on in token mode,
 * the request's `DPoP` proof is checked and the pair bound to its key
 * (`token_type: DPoP`); a refused proof is answered 400
 * `invalid_dpop_proof` (or `use_dpop_nonce` with a `DPoP-Nonce`). Rejects
 * only with what latchkey cannot answer itself (Koa's error handling then
 * answers it).
 *
 * @example
 * ```ts
 * router.post('/auth/login', async (ctx) => {
 *   const user = await checkPassword(ctx.request.body); // yours
 *   await issueTokens(ctx, transport, { userId: user.id });
 * });
 * ```
 */
export async function issueTokens(ctx: Context, transport: TokenTransport, input: CreateInput & { userId: string }): Promise<void> {
  sendKoaTokenResult(ctx, await transport.issue(koaRequest(ctx), input));
}
