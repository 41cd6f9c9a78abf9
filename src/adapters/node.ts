/**
 * node:http adapter: wraps a `(req, res, session)` handler into a plain
 * `(req, res)` request listener for `http.createServer()` or `https`, and
 * token mode's guard, refresh and logout endpoints likewise.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpSessionsOptions } from '../http/http-sessions.js';
import { createHttpSessions } from '../http/http-sessions.js';
import type { RequestSession } from '../http/request-session.js';
import { nodeRequest, sendNodeError, sendNodeFailure, sendNodeJson, sendNodeTokenResult, serveNode } from '../http/node.js';
import type { TokenGuardOptions, TokenTransport, TokenTransportOptions } from '../http/tokens.js';
import { asTokenTransport } from '../http/tokens.js';
import type { AccessTokenClaims } from '../tokens/access.js';
import type { TokenPair } from '../tokens/tokens.js';
import type { CreateInput } from '../core/sessions.js';

/** Options of the node:http adapter: the shared HTTP options. */
export type NodeSessionsOptions = HttpSessionsOptions;

/** A node:http handler that also receives the request's session. */
export type NodeSessionHandler = (req: IncomingMessage, res: ServerResponse, session: RequestSession) => unknown;

/**
 * Creates a wrapper that gives handlers the request's session. A handler's
 * error becomes a JSON answer when latchkey knows it (401, 503...), else a
 * bare 500 reported to `onError`. Once the session has something to write,
 * the response's first `writeHead`/`write`/`end` waits for the commit; a
 * failed commit is answered instead of the handler's response (503
 * `store-unavailable`, 500 `session-not-saved`). A session change after the
 * headers went out throws a `HeadersSentError`. When latchkey had to read a
 * URL-encoded body (CSRF form field), the parsed fields are on `req.body`.
 *
 * @throws {ConfigError} for a weakening configuration.
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { latchkey } from 'latchkey/node';
 *
 * const withSession = latchkey({ sessions });
 * createServer(withSession(async (req, res, session) => {
 *   await session.load();
 *   res.end(session.isAuthenticated ? `hi ${session.userId}` : 'hi stranger');
 * })).listen(3000);
 * ```
 */
export function latchkey(options: NodeSessionsOptions): (handler: NodeSessionHandler) => (req: IncomingMessage, res: ServerResponse) => void {
  const http = createHttpSessions(options);
  const report = http.reportError;
  const fail = (err: unknown, _req: IncomingMessage, res: ServerResponse): void => sendNodeFailure(res, err, report);
  return (handler) => {
    if (typeof handler !== 'function') throw new TypeError('latchkey(options)(handler) needs a handler function');
    const run = (session: RequestSession, req: IncomingMessage, res: ServerResponse): void => {
      try {
        const out = handler(req, res, session);
        if (out instanceof Promise) out.catch((err: unknown) => sendNodeFailure(res, err, report));
      } catch (err) {
        sendNodeFailure(res, err, report);
      }
    };
    return (req, res) => serveNode(http, req, res, null, run, fail);
  };
}

/** A node:http handler that also receives the verified access-token claims. */
export type NodeTokenHandler = (req: IncomingMessage, res: ServerResponse, token: AccessTokenClaims) => unknown;

/**
 * Token mode: wraps a handler so that it runs only with a valid access token
 * (`Authorization: Bearer`, or the access cookie with `carrier: 'cookie'`)
 * and receives its claims; otherwise answers 401/403 with RFC 6750
 * `WWW-Authenticate`.
 *
 * @throws {ConfigError} for a bad configuration.
 * @example
 * ```ts
 * import { tokenGuard } from 'latchkey/node';
 *
 * const guarded = tokenGuard({ tokens });
 * createServer(guarded((req, res, token) => res.end(`hi ${token.sub}`))).listen(3000);
 * ```
 */
export function tokenGuard(
  transport: TokenTransport | TokenTransportOptions,
  options?: TokenGuardOptions,
): (handler: NodeTokenHandler) => (req: IncomingMessage, res: ServerResponse) => void {
  const t = asTokenTransport(transport);
  const guard = t.guard(options);
  const report = t.reportError;
  return (handler) => {
    if (typeof handler !== 'function') throw new TypeError('tokenGuard(options)(handler) needs a handler function');
    return (req, res) => {
      guard(nodeRequest(req))
        .then((r) => {
          if (!r.ok) return sendNodeError(res, r.error);
          for (const [name, value] of r.headers) res.setHeader(name, value);
          return handler(req, res, r.claims);
        })
        .catch((err: unknown) => sendNodeFailure(res, err, report));
    };
  };
}

/**
 * Token mode: the refresh endpoint (`POST`) as a request listener. Takes
 * `refresh_token` from a JSON or form body (bearer carrier) or the refresh
 * cookie (cookie carrier); answers the new pair, or 401 `invalid_grant`.
 *
 * @example
 * ```ts
 * const refresh = tokenRefresh(transport);
 * createServer((req, res) => (req.url === '/auth/refresh' ? refresh(req, res) : app(req, res)));
 * ```
 */
export function tokenRefresh(transport: TokenTransport | TokenTransportOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const t = asTokenTransport(transport);
  const report = t.reportError;
  return (req, res) => {
    t.refresh(nodeRequest(req)).then(
      (r) => sendNodeTokenResult(res, r),
      (err: unknown) => sendNodeFailure(res, err, report),
    );
  };
}

/**
 * Token mode: the logout endpoint (`POST`) as a request listener; revokes the
 * family and, with cookies, clears them.
 *
 * @example
 * ```ts
 * const logout = tokenLogout(transport);
 * if (req.url === '/auth/logout') return logout(req, res);
 * ```
 */
export function tokenLogout(transport: TokenTransport | TokenTransportOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const t = asTokenTransport(transport);
  const report = t.reportError;
  return (req, res) => {
    t.logout(nodeRequest(req)).then(
      (r) => sendNodeTokenResult(res, r),
      (err: unknown) => sendNodeFailure(res, err, report),
    );
  };
}

/**
 * Token mode: answers a sign-in with its token pair (JSON, or cookies with the
 * cookie carrier).
 *
 * @example
 * ```ts
 * sendTokens(res, transport, await tokens.issue({ userId: user.id }));
 * ```
 */
export function sendTokens(res: ServerResponse, transport: TokenTransport, pair: TokenPair): void {
  sendNodeJson(res, transport.respond(pair));
}

/**
 * Token mode: answers a sign-in, once your handler has authenticated the
 * user, with a new token pair. With DPoP on in token mode, the request's
 * `DPoP` proof is checked and the pair bound to its key (`token_type:
 * DPoP`); a refused proof is answered 400 `invalid_dpop_proof` (or
 * `use_dpop_nonce` with a `DPoP-Nonce`). Never rejects: what latchkey
 * cannot answer goes to the transport's `onError` and a 500.
 *
 * @example
 * ```ts
 * if (req.url === '/auth/login') {
 *   const user = await checkPassword(req); // yours
 *   return issueTokens(req, res, transport, { userId: user.id });
 * }
 * ```
 */
export async function issueTokens(req: IncomingMessage, res: ServerResponse, transport: TokenTransport, input: CreateInput & { userId: string }): Promise<void> {
  try {
    sendNodeTokenResult(res, await transport.issue(nodeRequest(req), input));
  } catch (err) {
    sendNodeFailure(res, err, transport.reportError);
  }
}
