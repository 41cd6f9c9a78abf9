/**
 * Fetch API adapter for runtimes that speak `Request` / `Response`: Next.js
 * route handlers, Bun, Deno, Cloudflare-style workers. Wraps a handler that
 * also receives the request's session.
 *
 * @module
 */
import type { HttpSessionsOptions } from '../http/http-sessions.js';
import { createHttpSessions } from '../http/http-sessions.js';
import { toHttpError } from '../http/errors.js';
import { errorResponse, fetchRequest, withHeaders } from '../http/fetch.js';
import type { RequestSession } from '../http/request-session.js';

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
 * its cookies to the returned `Response`.
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
    return async (request: Request, ...rest: A): Promise<Response> => {
      const begun = await http.begin(fetchRequest(request, remote?.(request, ...rest)));
      if (!begun.ok) return errorResponse(begun.error);
      const session = begun.session;
      let res: Response;
      try {
        res = await handler(request, session, ...rest);
      } catch (err) {
        const known = toHttpError(err);
        if (known === null) throw err;
        return errorResponse(known);
      }
      if (!session.dirty) return res;
      try {
        await session.commit();
      } catch (err) {
        const known = toHttpError(err);
        if (known === null) throw err;
        return errorResponse(known);
      }
      return withHeaders(res, session.responseHeaders());
    };
  };
}
