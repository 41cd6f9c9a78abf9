/**
 * The end of a request, the same in every adapter: once the handler's answer
 * is ready (the first `writeHead`/`write`/`end` on node:http and Express,
 * Fastify's `onSend`, after `next()` in Hono, the returned `Response` in the
 * Fetch adapter), commit the session, then send either the answer with the
 * session's headers, or the error that replaces it. A failed save is never
 * answered with the handler's success: 503 `store-unavailable` when the store
 * failed, the `HttpError` the commit threw, and 500 `session-not-saved` for
 * anything else (data over `maxDataBytes` or the cookie budget), whose cause
 * goes to `onError`.
 *
 * Each runtime renders answers through one {@link Responder}: Node's
 * `ServerResponse` (`latchkey/http`'s node glue, used by node:http and
 * Express), the Fetch API's `Response` (Hono and the Fetch adapter), and
 * Fastify's reply.
 *
 * @module
 */
import { HttpError, toHttpError } from './errors.js';
import type { HeaderLine, RequestSession } from './request-session.js';

/**
 * How a runtime answers: `target` is what the answer is written to (a Node
 * `ServerResponse`, a Fastify reply; nothing for Fetch), `T` the answer an
 * adapter hands on (a `Response`, Fastify's payload...).
 *
 * @example
 * ```ts
 * const responder: Responder<undefined, Response> = {
 *   error: (_, err) => errorResponse(err),
 *   headers: (_, res, lines) => withHeaders(res, lines),
 * };
 * ```
 */
export interface Responder<C, T> {
  /** The answer to `err`, replacing whatever the handler answered. */
  error(target: C, err: HttpError): T;
  /** The handler's answer with the session's header lines added. */
  headers(target: C, answer: T, lines: readonly HeaderLine[]): T;
}

/**
 * What a failed commit is answered with: latchkey's own answer when it has
 * one (503 `store-unavailable`, or the `HttpError` thrown), otherwise 500
 * `session-not-saved`, its cause reported to `report` (never sent).
 *
 * @example
 * ```ts
 * try { await session.commit(); } catch (err) { return errorResponse(commitFailure(err, console.error)); }
 * ```
 */
export function commitFailure(err: unknown, report: (error: unknown) => void): HttpError {
  const known = toHttpError(err);
  if (known !== null) return known;
  report(err);
  return new HttpError(500, 'session-not-saved', { cause: err });
}

/**
 * Ends a request: commits the session when it has something to write, then
 * resolves the handler's `answer` with the session's headers added, or the
 * error answer that replaces it. Returns `answer` itself, synchronously, when
 * nothing changed (the read path allocates nothing here). Never rejects for a
 * failed commit. Afterwards the session takes no change.
 *
 * @example
 * ```ts
 * const res = await handler(request, session);
 * return finishRequest(session, undefined, res, fetchResponder, http.reportError);
 * ```
 */
export function finishRequest<C, T>(
  session: RequestSession,
  target: C,
  answer: T,
  responder: Responder<C, T>,
  report: (error: unknown) => void,
): T | Promise<T> {
  if (!session.dirty) {
    session.responseStarted();
    return answer;
  }
  return commitThenAnswer(session, target, answer, responder, report);
}

async function commitThenAnswer<C, T>(
  session: RequestSession,
  target: C,
  answer: T,
  responder: Responder<C, T>,
  report: (error: unknown) => void,
): Promise<T> {
  try {
    await session.commit();
  } catch (err) {
    return responder.error(target, commitFailure(err, report));
  }
  return responder.headers(target, answer, session.responseHeaders());
}
