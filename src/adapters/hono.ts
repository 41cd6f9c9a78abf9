/**
 * Hono 4 adapter: a middleware that puts the request-scoped session on
 * `c.var.session`, commits it after the handler, and answers latchkey's
 * refusals (401, 403, 429, 503) as JSON.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { HttpSessionsOptions } from '../http/http-sessions.js';
import { createHttpSessions } from '../http/http-sessions.js';
import { toHttpError } from '../http/errors.js';
import { errorResponse, fetchRequest, withHeaders } from '../http/fetch.js';
import type { RequestSession } from '../http/request-session.js';

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
    if (!session.dirty) return;
    try {
      await session.commit();
    } catch (err) {
      const known = toHttpError(err);
      if (known === null) throw err;
      c.res = undefined;
      c.res = errorResponse(known);
      return;
    }
    const res = withHeaders(c.res, session.responseHeaders());
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
