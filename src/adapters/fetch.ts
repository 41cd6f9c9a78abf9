/**
 * Fetch API adapter for runtimes that speak `Request` / `Response`: Next.js
 * route handlers, Bun, Deno, Cloudflare-style workers. Wraps a handler that
 * also receives the request's session, and token mode's guard (a wrapper
 * passing the claims), refresh and logout handlers.
 *
 * @module
 */
import type { HttpSessionsOptions } from '../http/http-sessions.js';
import { createHttpSessions } from '../http/http-sessions.js';
import { errorResponse, fetchRequest, FetchRequestView, jsonResponse, serveFetch, thrownResponse, tokenEndpointResponse, withHeaders } from '../http/fetch.js';
import type { RequestSession } from '../http/request-session.js';
import type { TokenGuardOptions, TokenTransport, TokenTransportOptions } from '../http/tokens.js';
import { asTokenTransport } from '../http/tokens.js';
import type { AccessTokenClaims } from '../tokens/access.js';
import type { TokenPair } from '../tokens/tokens.js';
import type { CreateInput } from '../core/sessions.js';

/** A Fetch handler that also receives the request's session; `rest` is whatever the runtime passes (Next.js context, Bun server, Deno info). */
export type FetchSessionHandler<A extends unknown[]> = (request: Request, session: RequestSession, ...rest: A) => Response | Promise<Response>;

/** Options of the Fetch adapter. */
export interface FetchSessionsOptions extends HttpSessionsOptions {
  /**
   * The client's socket address, which the Fetch API does not carry:
   * `(req, server) => server.requestIP(req)?.address` on Bun,
   * `(req, info) => info.remoteAddr.hostname` on Deno.
   * @default none (no IP: no binding by IP, no throttling)
   */
  remoteAddress?: (request: Request, ...rest: never[]) => string | undefined;
}

/**
 * Creates a wrapper that gives Fetch handlers the request's session and adds
 * its cookies to the returned `Response`. A failed save of the session is
 * answered instead of the handler's `Response` (503 `store-unavailable`, 500
 * `session-not-saved`); a session change after the `Response` was returned
 * throws a `HeadersSentError`.
 *
 * @throws {ConfigError} for a weakening configuration.
 * @example
 * ```ts
 * // app/api/me/route.ts (Next.js)
 * import { latchkey } from 'latchkey/fetch';
 *
 * const withSession = latchkey({ sessions });
 * export const GET = withSession(async (request, session) => {
 *   await session.load();
 *   return Response.json({ user: session.userId });
 * });
 * ```
 */
export function latchkey(options: FetchSessionsOptions): <A extends unknown[]>(handler: FetchSessionHandler<A>) => (request: Request, ...rest: A) => Promise<Response> {
  const http = createHttpSessions(options);
  const remote = options.remoteAddress as ((request: Request, ...rest: unknown[]) => string | undefined) | undefined;
  return <A extends unknown[]>(handler: FetchSessionHandler<A>) => {
    if (typeof handler !== 'function') throw new TypeError('latchkey(options)(handler) needs a handler function');
    const run = (session: RequestSession, request: Request, rest: A): Response | Promise<Response> => handler(request, session, ...rest);
    return (request: Request, ...rest: A): Promise<Response> =>
      serveFetch(http, new FetchRequestView(request, remote?.(request, ...rest), null), request, rest, run);
  };
}

/** A Fetch handler that also receives the verified access-token claims. */
export type FetchTokenHandler<A extends unknown[]> = (request: Request, token: AccessTokenClaims, ...rest: A) => Response | Promise<Response>;

/**
 * Token mode: wraps a Fetch handler so that it runs only with a valid access
 * token (`Authorization: Bearer`, or the access cookie with `carrier:
 * 'cookie'`) and receives its claims; otherwise answers 401/403 with RFC 6750
 * `WWW-Authenticate`. latchkey's errors thrown by the handler are answered too.
 *
 * @throws {ConfigError} for a bad configuration.
 * @example
 * ```ts
 * // app/api/me/route.ts (Next.js)
 * import { tokenGuard } from 'latchkey/fetch';
 *
 * const guarded = tokenGuard(transport);
 * export const GET = guarded(async (request, token) => Response.json({ user: token.sub }));
 * ```
 */
export function tokenGuard(
  transport: TokenTransport | TokenTransportOptions,
  options?: TokenGuardOptions,
): <A extends unknown[]>(handler: FetchTokenHandler<A>) => (request: Request, ...rest: A) => Promise<Response> {
  const guard = asTokenTransport(transport).guard(options);
  return <A extends unknown[]>(handler: FetchTokenHandler<A>) => {
    if (typeof handler !== 'function') throw new TypeError('tokenGuard(options)(handler) needs a handler function');
    return async (request: Request, ...rest: A): Promise<Response> => {
      const r = await guard(fetchRequest(request, undefined));
      if (!r.ok) return errorResponse(r.error);
      try {
        return withHeaders(await handler(request, r.claims, ...rest), r.headers);
      } catch (err) {
        return thrownResponse(err);
      }
    };
  };
}

/**
 * Token mode: the refresh handler (`POST`). Takes `refresh_token` from a JSON
 * or form body (bearer carrier) or the refresh cookie (cookie carrier);
 * answers the new pair, or 401 `invalid_grant`.
 *
 * @example
 * ```ts
 * // app/auth/refresh/route.ts (Next.js)
 * export const POST = tokenRefresh(transport);
 * ```
 */
export function tokenRefresh(
  transport: TokenTransport | TokenTransportOptions,
  options: Pick<FetchSessionsOptions, 'remoteAddress'> = {},
): (request: Request, ...rest: unknown[]) => Promise<Response> {
  const t = asTokenTransport(transport);
  const remote = options.remoteAddress as ((request: Request, ...rest: unknown[]) => string | undefined) | undefined;
  return async (request, ...rest) => {
    return tokenEndpointResponse(await t.refresh(fetchRequest(request, remote?.(request, ...rest))));
  };
}

/**
 * Token mode: the logout handler (`POST`); revokes the family and, with
 * cookies, clears them.
 *
 * @example
 * ```ts
 * export const POST = tokenLogout(transport);
 * ```
 */
export function tokenLogout(transport: TokenTransport | TokenTransportOptions): (request: Request) => Promise<Response> {
  const t = asTokenTransport(transport);
  return async (request) => {
    return tokenEndpointResponse(await t.logout(fetchRequest(request, undefined)));
  };
}

/**
 * Token mode: the `Response` answering a sign-in with its token pair (JSON,
 * or cookies with the cookie carrier). The same name in every adapter; on
 * the Fetch API it returns the answer rather than writing it.
 *
 * @example
 * ```ts
 * export const POST = async (request: Request) => {
 *   const user = await checkPassword(await request.json()); // yours
 *   return sendTokens(transport, await tokens.issue({ userId: user.id }));
 * };
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
 * export const POST = async (request: Request) => {
 *   const user = await checkPassword(await request.clone().json()); // yours
 *   return issueTokens(request, transport, { userId: user.id });
 * };
 * ```
 */
export async function issueTokens(request: Request, transport: TokenTransport, input: CreateInput & { userId: string }): Promise<Response> {
  return tokenEndpointResponse(await transport.issue(fetchRequest(request, undefined), input));
}
