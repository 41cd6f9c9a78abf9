/**
 * Glue between the HTTP layer and Koa's context, for the Koa adapter: the
 * beginning of a request, the Koa renderer of an {@link HttpError}, and the
 * answers of token mode's endpoints. Written against the few members it
 * uses, so that `latchkey/http` never imports Koa.
 *
 * Koa sends `ctx.body` once the whole middleware chain has run, with
 * `res.end()` (or a pipe into `res`); a thrown error is answered by Koa's
 * `ctx.onerror`, which first removes every header set so far. Both go
 * through the Node response, so the session is committed by the same hold
 * as on node:http and Express (node.ts): once it has something to write,
 * the response's first write waits for the commit, gets the session's
 * headers (whatever was removed before), or is replaced by the failed
 * save's answer (503 `store-unavailable`, 500 `session-not-saved`).
 * latchkey's own refusals (CSRF, throttling, a guard's 401) are answered
 * through `ctx`, as any Koa middleware answers, so that the middleware
 * around it sees them.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toHttpError, type HttpError } from './errors.js';
import type { BeginResult, HttpSessions } from './http-sessions.js';
import { commitBeforeResponse, holdResponse } from './node.js';
import { NodeRequestView, type ParsedBodyHolder } from './node-request.js';
import type { HttpRequest } from './request.js';
import type { RequestSession } from './request-session.js';
import type { TokenEndpointResult, TokenResponse } from './tokens.js';

/** @internal what the glue uses of a Koa context */
export interface KoaContextLike {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Koa's request: `@koa/bodyparser` leaves the parsed body on its `body` (which Koa's own types do not declare). */
  readonly request: object;
  status: number;
  body: unknown;
  set(name: string, value: string): void;
  append(name: string, value: string): void;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const DONE: Promise<void> = Promise.resolve();
const nothing = (): void => undefined;

/**
 * @internal The {@link HttpRequest} view of a Koa request: its body read
 * from `ctx.request.body` when a body parser ran, else from the stream
 * (bounded) and left there for the handler and a later body parser.
 */
export function koaRequest(ctx: KoaContextLike): HttpRequest {
  return new NodeRequestView(ctx.req, null, null, ctx.request as ParsedBodyHolder);
}

/**
 * @internal Answers an {@link HttpError} through `ctx`, as JSON `{ error,
 * message }`: nothing the handler set stays (its type, cookies and location
 * described a success), as with Koa's own error answer. Throws `err` back
 * when the headers already went out (Koa then reports it).
 */
export function sendKoaError(ctx: KoaContextLike, err: HttpError): void {
  const res = ctx.res;
  if (res.headersSent) throw err;
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  ctx.status = err.status;
  for (const [name, value] of Object.entries(err.headers)) ctx.set(name, value);
  ctx.set('content-type', JSON_TYPE);
  ctx.set('cache-control', 'no-store');
  ctx.body = JSON.stringify(err.body());
}

/** @internal Answers a JSON body with its status and header lines (a token endpoint's {@link TokenResponse}) through `ctx`. */
export function sendKoaJson(ctx: KoaContextLike, answer: TokenResponse): void {
  ctx.status = answer.status;
  for (const [name, value] of answer.headers) {
    if (name === 'set-cookie') ctx.append(name, value);
    else ctx.set(name, value);
  }
  ctx.set('content-type', JSON_TYPE);
  ctx.body = JSON.stringify(answer.body);
}

/** @internal Answers a token endpoint's result (refresh, logout): its JSON answer, or its error. */
export function sendKoaTokenResult(ctx: KoaContextLike, r: TokenEndpointResult): void {
  if (r.ok) sendKoaJson(ctx, r.response);
  else sendKoaError(ctx, r.error);
}

/**
 * @internal A request in a Koa middleware: begins it (a refusal is answered
 * through `ctx` and the chain stops), arranges for the session's commit
 * before the response's first write once it has something to write, hands
 * the session to `go` and runs the rest of the chain. latchkey's own errors
 * thrown there are answered through `ctx` (a renewed token or a cookie to
 * clear still goes out with them); others go on to Koa.
 */
export function serveKoa<C extends KoaContextLike>(
  http: HttpSessions,
  ctx: C,
  next: () => Promise<unknown>,
  go: (session: RequestSession, ctx: C) => void,
): Promise<void> {
  const report = http.reportError;
  const begun = http.begin(new NodeRequestView(ctx.req, ctx.res, report, ctx.request as ParsedBodyHolder), holdResponse);
  // Synchronous unless a form body had to be read for the CSRF token or the form carrier.
  if (begun instanceof Promise) return begun.then((b) => started(b, ctx, next, go, report));
  return started(begun, ctx, next, go, report);
}

function started<C extends KoaContextLike>(
  begun: BeginResult,
  ctx: C,
  next: () => Promise<unknown>,
  go: (session: RequestSession, ctx: C) => void,
  report: (err: unknown) => void,
): Promise<void> {
  if (!begun.ok) {
    sendKoaError(ctx, begun.error);
    return DONE;
  }
  const session = begun.session;
  // Already something to write (a token from the URL or a form, a change while begin() loaded the session).
  if (session.dirty) commitBeforeResponse(ctx.res, session, report);
  go(session, ctx);
  return next().then(nothing, (err: unknown) => answerThrown(err, ctx));
}

/** latchkey's own errors get latchkey's answer; any other error goes on to Koa (and its `ctx.onerror`). */
function answerThrown(err: unknown, ctx: KoaContextLike): void {
  const known = toHttpError(err);
  if (known === null) throw err;
  sendKoaError(ctx, known);
}
