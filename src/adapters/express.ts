/**
 * Express adapter (Express 4 and 5): a middleware that puts the
 * request-scoped session on `req.session`, an error handler that answers
 * latchkey's refusals (401, 403, 429, 503) as JSON, and token mode's guard
 * (`req.token`), refresh and logout endpoints.
 *
 * @module
 */
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import type { HttpSessionsOptions } from '../http/http-sessions.js';
import { createHttpSessions } from '../http/http-sessions.js';
import type { RequestSession } from '../http/request-session.js';
import { toHttpError } from '../http/errors.js';
import { nodeRequest, sendNodeError, sendNodeJson, sendNodeTokenResult, serveNode } from '../http/node.js';
import type { TokenGuardOptions, TokenTransport, TokenTransportOptions } from '../http/tokens.js';
import { asTokenTransport } from '../http/tokens.js';
import type { AccessTokenClaims } from '../tokens/access.js';
import type { TokenPair } from '../tokens/tokens.js';
import type { CreateInput } from '../core/sessions.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** latchkey's session of this request; `await req.session.load()` before reading it. */
    session: RequestSession;
    /** The verified access-token claims, on routes behind `tokenGuard()`. */
    token: AccessTokenClaims;
  }
}

/** Options of the Express middleware: the shared HTTP options. */
export type ExpressSessionsOptions = HttpSessionsOptions;

/**
 * Creates the session middleware. Register it before your routes (and after
 * `express.urlencoded()` if you have one, so the CSRF form field is read from
 * the parsed body).
 *
 * @throws {ConfigError} for a weakening configuration.
 * @example
 * ```ts
 * import express from 'express';
 * import { createSessions } from 'latchkey';
 * import { memoryStore } from 'latchkey/stores/memory';
 * import { latchkey, errorHandler } from 'latchkey/express';
 *
 * const app = express();
 * app.use(latchkey({ sessions: createSessions({ store: memoryStore() }) }));
 * app.get('/', async (req, res) => {
 *   const session = await req.session.load();
 *   res.send(session.isAuthenticated ? `hi ${session.userId}` : 'hi stranger');
 * });
 * app.use(errorHandler());
 * ```
 */
export function latchkey(options: ExpressSessionsOptions): RequestHandler {
  const http = createHttpSessions(options);
  return function latchkeyMiddleware(req: Request, res: Response, next: NextFunction): void {
    serveNode(http, req, res, next, withSession, failed);
  };
}

function withSession(session: RequestSession, req: Request, _res: Response, next: NextFunction): void {
  req.session = session;
  next();
}

function failed(err: unknown, _req: Request, _res: Response, next: NextFunction): void {
  next(err);
}

/**
 * An Express error handler answering latchkey's errors (a failed guard, a
 * store outage) as JSON `{ error, message }` with their status and headers;
 * other errors go on to the next error handler.
 *
 * @example
 * ```ts
 * app.use(errorHandler()); // after your routes
 * ```
 */
export function errorHandler(): ErrorRequestHandler {
  return function latchkeyErrors(err: unknown, _req: Request, res: Response, next: NextFunction): void {
    const known = toHttpError(err);
    if (known === null || res.headersSent) return next(err);
    sendNodeError(res, known);
  };
}

/**
 * Token mode: a middleware that verifies the access token (`Authorization:
 * Bearer`, or the access cookie with `carrier: 'cookie'`) and puts its claims
 * on `req.token`, or answers 401/403 with RFC 6750 `WWW-Authenticate`.
 *
 * @throws {ConfigError} for a bad configuration.
 * @example
 * ```ts
 * import { tokenGuard } from 'latchkey/express';
 *
 * const transport = createTokenTransport({ tokens }); // or pass { tokens } directly
 * app.get('/api/me', tokenGuard(transport), (req, res) => res.json({ user: req.token.sub }));
 * app.post('/api/password', tokenGuard(transport, { checkSession: true, scope: 'account' }), changePassword);
 * ```
 */
export function tokenGuard(transport: TokenTransport | TokenTransportOptions, options?: TokenGuardOptions): RequestHandler {
  const guard = asTokenTransport(transport).guard(options);
  return function latchkeyTokenGuard(req: Request, res: Response, next: NextFunction): void {
    guard(nodeRequest(req)).then((r) => {
      if (!r.ok) return sendNodeError(res, r.error);
      req.token = r.claims;
      for (const [name, value] of r.headers) res.setHeader(name, value);
      next();
    }, next);
  };
}

/**
 * Token mode: the refresh endpoint (`POST`). Takes `refresh_token` from a JSON
 * or form body (bearer carrier) or the refresh cookie (cookie carrier) and
 * answers the new pair, or 401 `invalid_grant`.
 *
 * @example
 * ```ts
 * app.post('/auth/refresh', tokenRefresh({ tokens, carrier: 'cookie' }));
 * ```
 */
export function tokenRefresh(transport: TokenTransport | TokenTransportOptions): RequestHandler {
  const t = asTokenTransport(transport);
  return function latchkeyTokenRefresh(req: Request, res: Response, next: NextFunction): void {
    t.refresh(nodeRequest(req)).then((r) => sendNodeTokenResult(res, r), next);
  };
}

/**
 * Token mode: the logout endpoint (`POST`). Revokes the refresh token's
 * family and, with cookies, clears them; answers `{ revoked }`.
 *
 * @example
 * ```ts
 * app.post('/auth/logout', tokenLogout(transport));
 * ```
 */
export function tokenLogout(transport: TokenTransport | TokenTransportOptions): RequestHandler {
  const t = asTokenTransport(transport);
  return function latchkeyTokenLogout(req: Request, res: Response, next: NextFunction): void {
    t.logout(nodeRequest(req)).then((r) => sendNodeTokenResult(res, r), next);
  };
}

/**
 * Token mode: answers a sign-in with its token pair (JSON, or cookies with the
 * cookie carrier).
 *
 * @example
 * ```ts
 * app.post('/auth/login', async (req, res) => {
 *   const user = await checkPassword(req.body); // yours
 *   sendTokens(res, transport, await tokens.issue({ userId: user.id }));
 * });
 * ```
 */
export function sendTokens(res: Response, transport: TokenTransport, pair: TokenPair): void {
  sendNodeJson(res, transport.respond(pair));
}

/**
 * Token mode: answers a sign-in, once your handler has authenticated the
 * user, with a new token pair. With DPoP on in token mode, the request's
 * `DPoP` proof is checked and the pair bound to its key (`token_type:
 * DPoP`); a refused proof is answered 400 `invalid_dpop_proof` (or
 * `use_dpop_nonce` with a `DPoP-Nonce`). Rejects only with what latchkey
 * cannot answer itself: pass it to `next`.
 *
 * @example
 * ```ts
 * app.post('/auth/login', (req, res, next) => {
 *   const user = checkPassword(req.body); // yours
 *   issueTokens(req, res, transport, { userId: user.id }).catch(next);
 * });
 * ```
 */
export async function issueTokens(req: Request, res: Response, transport: TokenTransport, input: CreateInput & { userId: string }): Promise<void> {
  sendNodeTokenResult(res, await transport.issue(nodeRequest(req), input));
}
