/**
 * Express adapter (Express 4 and 5): a middleware that puts the
 * request-scoped session on `req.session`, and an error handler that answers
 * latchkey's refusals (401, 403, 429, 503) as JSON.
 *
 * @module
 */
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import type { HttpSessionsOptions } from '../http/http-sessions.js';
import { createHttpSessions } from '../http/http-sessions.js';
import type { RequestSession } from '../http/request-session.js';
import { toHttpError } from '../http/errors.js';
import { commitBeforeResponse, nodeRequest, sendNodeError } from '../http/node.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** latchkey's session of this request; `await req.session.load()` before reading it. */
    session: RequestSession;
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
  const report = http.reportError;
  return function latchkeyMiddleware(req: Request, res: Response, next: NextFunction): void {
    let session: RequestSession | undefined;
    const begun = http.begin(nodeRequest(req), () => commitBeforeResponse(res, session as RequestSession, report));
    if (begun instanceof Promise) {
      begun.then((b) => {
        if (!b.ok) return sendNodeError(res, b.error);
        session = req.session = b.session;
        if (session.dirty) commitBeforeResponse(res, session, report);
        next();
      }, next);
      return;
    }
    if (!begun.ok) return sendNodeError(res, begun.error);
    session = req.session = begun.session;
    if (session.dirty) commitBeforeResponse(res, session, report);
    next();
  };
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
