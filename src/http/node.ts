/**
 * Glue between the HTTP layer and Node's `IncomingMessage` / `ServerResponse`,
 * shared by the Express and node:http adapters: the beginning of a request,
 * the hold that commits the session just before the response is written, and
 * the Node renderer of an {@link HttpError}. The request view is in
 * node-request.ts.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpError } from './errors.js';
import { toHttpError } from './errors.js';
import { finishRequest, type Responder } from './exchange.js';
import type { BeginResult, HttpAnswer, HttpSessions } from './http-sessions.js';
import { NodeRequestView } from './node-request.js';
import type { HeaderLine, RequestSession } from './request-session.js';
import type { TokenEndpointResult, TokenResponse } from './tokens.js';

export { MAX_FORM_BYTES, nodeRequest } from './node-request.js';

/**
 * Adds header lines to a response that has not sent its headers yet;
 * `set-cookie` lines are appended, others replace.
 *
 * @example
 * ```ts
 * applyNodeHeaders(res, session.responseHeaders());
 * ```
 */
export function applyNodeHeaders(res: ServerResponse, lines: readonly HeaderLine[]): void {
  for (const [name, value] of lines) {
    if (name === 'set-cookie') res.appendHeader(name, value);
    else res.setHeader(name, value);
  }
}

/**
 * Answers a JSON body with its status and header lines (a token endpoint's {@link TokenResponse}).
 *
 * @example
 * ```ts
 * const r = await transport.refresh(nodeRequest(req));
 * if (r.ok) sendNodeJson(res, r.response);
 * else sendNodeError(res, r.error);
 * ```
 */
export function sendNodeJson(res: ServerResponse, answer: TokenResponse): void {
  const body = JSON.stringify(answer.body);
  res.statusCode = answer.status;
  applyNodeHeaders(res, answer.headers);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}

/**
 * Sends an answer the HTTP layer made by itself (a DBSC endpoint's).
 *
 * @example
 * ```ts
 * if (!begun.ok) return begun.error === null ? sendNodeAnswer(res, begun.answer) : sendNodeError(res, begun.error);
 * ```
 */
export function sendNodeAnswer(res: ServerResponse, answer: HttpAnswer): void {
  res.statusCode = answer.status;
  applyNodeHeaders(res, answer.headers);
  res.end(answer.body ?? undefined);
}

/**
 * Answers an {@link HttpError} as JSON `{ error, message }`: the Node
 * renderer of latchkey's errors (node:http and Express).
 *
 * @example
 * ```ts
 * if (!begun.ok) return sendNodeError(res, begun.error);
 * ```
 */
export function sendNodeError(res: ServerResponse, err: HttpError): void {
  const body = JSON.stringify(err.body());
  res.statusCode = err.status;
  for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.setHeader('cache-control', 'no-store');
  res.end(body);
}

/**
 * The end of a request on a Node `ServerResponse` (see `finishRequest`): an
 * error replaces everything the handler set; header lines are added to what
 * it set. The answer is whether the handler's own writes go out.
 *
 * @example
 * ```ts
 * await finishRequest(session, res, true, nodeResponder, console.error);
 * ```
 */
export const nodeResponder: Responder<ServerResponse, boolean> = {
  error(res, err) {
    // Too late for another answer: cut the connection, so that no client takes a truncated answer for a success.
    if (res.headersSent) {
      res.destroy();
      return false;
    }
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    sendNodeError(res, err);
    return false;
  },
  headers(res, go, lines) {
    if (!res.headersSent) applyNodeHeaders(res, lines);
    return go;
  },
};

type Write = (...args: unknown[]) => unknown;

const HOLDING = 0;
const COMMITTING = 1;
/** Writing latchkey's own error answer: calls go straight through. */
const ANSWERING = 2;
/** The error was answered: the handler's writes go nowhere (a write after the end would be an 'error' event, a crash). */
const DROPPED = 3;

/** Where a held response keeps its hold: the held methods are made once and find it there. */
const HOLD = Symbol('latchkey.responseHold');
type HeldResponse = ServerResponse & { [HOLD]: ResponseHold };

function heldWriteHead(this: HeldResponse, ...args: unknown[]): ServerResponse {
  this[HOLD].take(0, args);
  return this;
}

function heldWrite(this: HeldResponse, ...args: unknown[]): boolean {
  this[HOLD].take(1, args);
  return true;
}

function heldEnd(this: HeldResponse, ...args: unknown[]): ServerResponse {
  this[HOLD].take(2, args);
  return this;
}

/**
 * The one place where latchkey holds a Node response: `writeHead`, `write`
 * and `end` (and so `flushHeaders()`, which calls `writeHead`) are queued
 * from the first call on, the session is
 * committed, and then either the queued calls run (the session's headers
 * added first), or latchkey's error answer replaces them.
 */
class ResponseHold {
  readonly res: ServerResponse;
  readonly #session: RequestSession;
  readonly #onError: (err: unknown) => void;
  /** The response's own writeHead, write and end (another middleware's wrappers, if any), called once the commit is done. */
  readonly #methods: readonly [Write, Write, Write];
  readonly #queue: Array<[Write, unknown[]]> = [];
  #state = HOLDING;

  constructor(res: ServerResponse, session: RequestSession, onError: (err: unknown) => void) {
    this.res = res;
    this.#session = session;
    this.#onError = onError;
    this.#methods = [res.writeHead as Write, res.write as Write, res.end as Write];
    (res as HeldResponse)[HOLD] = this;
    res.writeHead = heldWriteHead as typeof res.writeHead;
    res.write = heldWrite as typeof res.write;
    res.end = heldEnd as typeof res.end;
    // flushHeaders() and an implicit header go through this.writeHead(): held too.
  }

  take(method: 0 | 1 | 2, args: unknown[]): void {
    const fn = this.#methods[method];
    if (this.#state === ANSWERING) {
      fn.apply(this.res, args);
      return;
    }
    if (this.#state === DROPPED) return;
    this.#queue.push([fn, method === 0 ? setWriteHeadHeaders(this.res, args) : args]);
    if (this.#state === HOLDING) void this.#commit();
  }

  async #commit(): Promise<void> {
    this.#state = COMMITTING;
    try {
      const go = await finishRequest(this.#session, this, true, HELD, this.#onError);
      if (!go) return;
      this.#restore();
      for (const [fn, args] of this.#queue.splice(0)) fn.apply(this.res, args);
    } catch (err) {
      // A held call that throws once replayed (a bad status code...): the answer cannot be trusted.
      this.#onError(err);
      this.res.destroy();
    }
  }

  #restore(): void {
    const res = this.res;
    const [writeHead, write, end] = this.#methods;
    res.writeHead = writeHead as typeof res.writeHead;
    res.write = write as typeof res.write;
    res.end = end as typeof res.end;
  }

  /** latchkey's error answer in place of the handler's: its writes so far and from now on are dropped. */
  answerError(err: HttpError): boolean {
    this.#queue.length = 0;
    this.#state = ANSWERING;
    try {
      nodeResponder.error(this.res, err);
    } finally {
      this.#state = DROPPED;
    }
    return false;
  }
}

/**
 * A held `writeHead(status[, message][, headers])`: its headers go on the
 * response now, each replacing what the response had under that name (as
 * node:http's own `writeHead` sets them, but keeping repeated names of a raw
 * header list, as node:http sends them), and the call is replayed with the
 * status alone. The session's lines, added at the commit, then come after
 * the application's, as after its `setHeader()` calls: its `Set-Cookie`
 * lines join the application's cookies instead of being replaced by them
 * (or replacing them), and its `Cache-Control: no-store` stands. A bad
 * header throws here, at the application's call, as node:http's would.
 */
function setWriteHeadHeaders(res: ServerResponse, args: unknown[]): unknown[] {
  const withMessage = typeof args[1] === 'string';
  const headers = withMessage ? args[2] : (args[2] ?? args[1]);
  if (headers === undefined || headers === null || typeof headers !== 'object') return args;
  const values = new Map<string, { name: string; value: unknown[] }>();
  const add = (name: unknown, value: unknown): void => {
    // node:http skips an empty name and lets setHeader() refuse any other bad one.
    if (typeof name !== 'string' || name === '') return;
    const key = name.toLowerCase();
    const entry = values.get(key) ?? { name, value: [] };
    if (Array.isArray(value)) entry.value.push(...(value as unknown[]));
    else entry.value.push(value);
    values.set(key, entry);
  };
  if (Array.isArray(headers)) {
    // An odd list is node:http's to refuse: replayed as it came.
    if (headers.length % 2 !== 0) return args;
    for (let i = 0; i < headers.length; i += 2) add(headers[i], headers[i + 1]);
  } else {
    for (const name of Object.keys(headers)) add(name, (headers as Record<string, unknown>)[name]);
  }
  for (const { name, value } of values.values()) res.setHeader(name, value.length === 1 ? (value[0] as string) : (value as string[]));
  return withMessage ? [args[0], args[1]] : [args[0]];
}

/** The held response's renderer: errors through the hold, headers on the response before its queued writes run. */
const HELD: Responder<ResponseHold, boolean> = {
  error: (hold, err) => hold.answerError(err),
  headers: (hold, go, lines) => nodeResponder.headers(hold.res, go, lines),
};

/**
 * Makes the first `writeHead`, `write` or `end` (or `flushHeaders`) of `res` wait
 * for the session's commit, then adds its headers and lets the response go.
 * Installed only once the session has something to write, so read-only
 * requests pay nothing. If the commit fails, the response becomes the error
 * instead (503 `store-unavailable`, 500 `session-not-saved`...) and the
 * handler's writes are dropped, never sent as a success. Returns `false`,
 * installing nothing, when the headers were already sent: the session then
 * refuses the change (`HeadersSentError`).
 *
 * @example
 * ```ts
 * const begun = http.begin(nodeRequest(req), (_request, session) => commitBeforeResponse(res, session, console.error));
 * ```
 */
export function commitBeforeResponse(res: ServerResponse, session: RequestSession, onError: (err: unknown) => void): boolean {
  if (res.headersSent) return false;
  new ResponseHold(res, session, onError);
  return true;
}

/**
 * The beginning of a request on node:http and Express: begins it (a refusal
 * is answered at once, as JSON), arranges for the session's commit before
 * the response's first write once it has something to write, and hands the
 * session to `go`. What `begin` throws goes to `fail`. `arg` is handed to
 * `go` and `fail` as it is (Express's `next`), so that both can be made once
 * rather than per request.
 *
 * @example
 * ```ts
 * const go = (session: RequestSession, req: IncomingMessage, res: ServerResponse) => handler(req, res, session);
 * const fail = (err: unknown, req: IncomingMessage, res: ServerResponse) => sendNodeFailure(res, err, console.error);
 * createServer((req, res) => serveNode(http, req, res, null, go, fail));
 * ```
 */
export function serveNode<Q extends IncomingMessage, S extends ServerResponse, A>(
  http: HttpSessions,
  req: Q,
  res: S,
  arg: A,
  go: (session: RequestSession, req: Q, res: S, arg: A) => void,
  fail: (err: unknown, req: Q, res: S, arg: A) => void,
): void {
  const view = new NodeRequestView(req, res, http.reportError);
  const begun = http.begin(view, holdResponse);
  if (begun instanceof Promise) {
    // A form body was read for the CSRF token or the form carrier.
    begun.then((b) => started(b, req, res, arg, go, view.report!), (err: unknown) => fail(err, req, res, arg));
    return;
  }
  started(begun, req, res, arg, go, view.report!);
}

/**
 * @internal The `onDirty` of a request begun on a {@link NodeRequestView}
 * that knows its response: the session has something to write, so the
 * response is held for its commit (node:http, Express, Koa).
 */
export function holdResponse(view: NodeRequestView, session: RequestSession): boolean {
  return commitBeforeResponse(view.res!, session, view.report!);
}

function started<Q extends IncomingMessage, S extends ServerResponse, A>(
  begun: BeginResult,
  req: Q,
  res: S,
  arg: A,
  go: (session: RequestSession, req: Q, res: S, arg: A) => void,
  report: (err: unknown) => void,
): void {
  if (!begun.ok) return begun.error === null ? sendNodeAnswer(res, begun.answer) : sendNodeError(res, begun.error);
  const session = begun.session;
  // Already something to write (a token from the URL or a form, a change while begin() loaded the session).
  if (session.dirty) commitBeforeResponse(res, session, report);
  go(session, req, res, arg);
}

/**
 * Answers a token endpoint's result (refresh, logout): its JSON answer, or its error.
 *
 * @example
 * ```ts
 * sendNodeTokenResult(res, await transport.refresh(nodeRequest(req)));
 * ```
 */
export function sendNodeTokenResult(res: ServerResponse, r: TokenEndpointResult): void {
  if (r.ok) sendNodeJson(res, r.response);
  else sendNodeError(res, r.error);
}

/**
 * Answers an error thrown by a handler: known ones as JSON, others as a bare 500 (and reported).
 *
 * @example
 * ```ts
 * handler(req, res, session).catch((err) => sendNodeFailure(res, err, console.error));
 * ```
 */
export function sendNodeFailure(res: ServerResponse, err: unknown, onError: (err: unknown) => void): void {
  const known = toHttpError(err);
  if (known === null) onError(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (known !== null) {
    sendNodeError(res, known);
    return;
  }
  res.statusCode = 500;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end('Internal Server Error');
}
