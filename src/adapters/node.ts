/**
 * node:http adapter: wraps a `(req, res, session)` handler into a plain
 * `(req, res)` request listener for `http.createServer()` or `https`.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpSessionsOptions } from '../http/http-sessions.js';
import { createHttpSessions } from '../http/http-sessions.js';
import type { RequestSession } from '../http/request-session.js';
import { commitBeforeResponse, nodeRequest, sendNodeError, sendNodeFailure } from '../http/node.js';

/** Options of the node:http adapter: the shared HTTP options. */
export type NodeSessionsOptions = HttpSessionsOptions;

/** A node:http handler that also receives the request's session. */
export type NodeSessionHandler = (req: IncomingMessage, res: ServerResponse, session: RequestSession) => unknown;

/**
 * Creates a wrapper that gives handlers the request's session. A handler's
 * error becomes a JSON answer when latchkey knows it (401, 503...), else a
 * bare 500 reported to `onError`. When latchkey had to read a URL-encoded
 * body (CSRF form field), the parsed fields are on `req.body`.
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
  return (handler) => {
    if (typeof handler !== 'function') throw new TypeError('latchkey(options)(handler) needs a handler function');
    const run = (req: IncomingMessage, res: ServerResponse, session: RequestSession): void => {
      try {
        const out = handler(req, res, session);
        if (out instanceof Promise) out.catch((err: unknown) => sendNodeFailure(res, err, report));
      } catch (err) {
        sendNodeFailure(res, err, report);
      }
    };
    return (req, res) => {
      let session: RequestSession | undefined;
      const begun = http.begin(nodeRequest(req), () => commitBeforeResponse(res, session as RequestSession, report));
      if (begun instanceof Promise) {
        begun.then(
          (b) => {
            if (!b.ok) return sendNodeError(res, b.error);
            session = b.session;
            if (session.dirty) commitBeforeResponse(res, session, report);
            run(req, res, session);
          },
          (err: unknown) => sendNodeFailure(res, err, report),
        );
        return;
      }
      if (!begun.ok) return sendNodeError(res, begun.error);
      session = begun.session;
      if (session.dirty) commitBeforeResponse(res, session, report);
      run(req, res, session);
    };
  };
}
