/**
 * Glue between the HTTP layer and Node's `IncomingMessage` / `ServerResponse`,
 * shared by the Express and node:http adapters: the request view, a bounded
 * URL-encoded form reader, the hold that commits the session just before the
 * response is written, and the Node renderer of an {@link HttpError}.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpError } from './errors.js';
import { toHttpError } from './errors.js';
import { finishRequest, type Responder } from './exchange.js';
import type { HttpRequest } from './http-sessions.js';
import type { HeaderLine, RequestSession } from './request-session.js';
import type { TokenResponse } from './tokens.js';

/**
 * Largest URL-encoded body the CSRF and form carriers read (bytes).
 *
 * @example
 * ```ts
 * app.use(express.urlencoded({ limit: MAX_FORM_BYTES }));
 * ```
 */
export const MAX_FORM_BYTES = 1_048_576;

type BodyHolder = IncomingMessage & { body?: unknown; _body?: boolean };

/**
 * The {@link HttpRequest} view of a Node request.
 *
 * @example
 * ```ts
 * const begun = http.begin(nodeRequest(req));
 * ```
 */
export function nodeRequest(req: IncomingMessage): HttpRequest {
  return new NodeRequestView(req as BodyHolder);
}

// A class rather than closures: one small object per request on the hot path.
class NodeRequestView implements HttpRequest {
  readonly method: string;
  readonly url: string;
  readonly remoteAddress: string | undefined;
  readonly #req: BodyHolder;
  #parsed: Promise<Record<string, unknown>> | null = null;

  constructor(req: BodyHolder) {
    this.#req = req;
    this.method = req.method ?? 'GET';
    this.url = req.url ?? '/';
    this.remoteAddress = req.socket?.remoteAddress;
  }

  header(name: string): string | undefined {
    const v = this.#req.headers[name];
    return v === undefined || typeof v === 'string' ? v : v.join(', ');
  }

  /**
   * A field of a URL-encoded body: from `req.body` when a body parser already
   * ran, otherwise by reading the stream (at most {@link MAX_FORM_BYTES}) and
   * leaving the parsed fields on `req.body`, flagged the way body parsers
   * recognise, so that a later `express.urlencoded()` does not wait for a
   * consumed stream.
   */
  async formField(name: string): Promise<string | undefined> {
    const req = this.#req;
    const body = req.body;
    if (body !== null && typeof body === 'object' && !Buffer.isBuffer(body)) return stringField(body as Record<string, unknown>, name);
    if (this.#parsed === null) {
      const type = req.headers['content-type'] ?? '';
      if (!/^application\/x-www-form-urlencoded\b/i.test(type) || req._body === true) return undefined;
      this.#parsed = readUrlencoded(req);
    }
    return stringField(await this.#parsed, name);
  }

  /** A field of a JSON or URL-encoded body: from `req.body` when a body parser already ran, otherwise read (bounded) once. */
  async bodyField(name: string): Promise<string | undefined> {
    const req = this.#req;
    const body = req.body;
    if (body !== null && typeof body === 'object' && !Buffer.isBuffer(body)) return stringField(body as Record<string, unknown>, name);
    if (this.#parsed === null) {
      const type = req.headers['content-type'] ?? '';
      const json = /^application\/(.+\+)?json\b/i.test(type);
      if ((!json && !/^application\/x-www-form-urlencoded\b/i.test(type)) || req._body === true) return undefined;
      this.#parsed = json ? readJson(req) : readUrlencoded(req);
    }
    return stringField(await this.#parsed, name);
  }
}

function stringField(body: Record<string, unknown>, name: string): string | undefined {
  if (!Object.hasOwn(body, name)) return undefined;
  const v = body[name];
  return typeof v === 'string' ? v : undefined;
}

/** The whole body as text, or `null` when larger than {@link MAX_FORM_BYTES} (it is still drained). */
async function readText(req: BodyHolder): Promise<string | null> {
  req._body = true;
  const chunks: Buffer[] = [];
  let size = 0;
  let tooBig = false;
  for await (const chunk of req as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buf.length;
    if (size > MAX_FORM_BYTES) tooBig = true;
    else chunks.push(buf);
  }
  return tooBig ? null : Buffer.concat(chunks).toString('utf8');
}

async function readUrlencoded(req: BodyHolder): Promise<Record<string, unknown>> {
  const text = await readText(req);
  const fields: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  if (text !== null) {
    for (const [k, v] of new URLSearchParams(text)) {
      if (!(k in fields)) fields[k] = v;
    }
  }
  req.body = fields;
  return fields;
}

async function readJson(req: BodyHolder): Promise<Record<string, unknown>> {
  const text = await readText(req);
  let fields: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  try {
    const parsed: unknown = text === null ? null : JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) fields = parsed as Record<string, unknown>;
  } catch {
    // Not JSON: no fields (the caller answers invalid_request).
  }
  req.body = fields;
  return fields;
}

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
  readonly #writeHead: Write;
  readonly #write: Write;
  readonly #end: Write;
  readonly #queue: Array<[Write, unknown[]]> = [];
  #state = HOLDING;

  constructor(res: ServerResponse, session: RequestSession, onError: (err: unknown) => void) {
    this.res = res;
    this.#session = session;
    this.#onError = onError;
    this.#writeHead = res.writeHead as Write;
    this.#write = res.write as Write;
    this.#end = res.end as Write;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the replaced methods are called with the response as `this`
    const hold = this;
    res.writeHead = function (...args: unknown[]) {
      hold.#take(hold.#writeHead, args);
      return res;
    } as typeof res.writeHead;
    res.write = function (...args: unknown[]) {
      hold.#take(hold.#write, args);
      return true;
    } as typeof res.write;
    res.end = function (...args: unknown[]) {
      hold.#take(hold.#end, args);
      return res;
    } as typeof res.end;
    // flushHeaders() and an implicit header go through this.writeHead(): held too.
  }

  #take(fn: Write, args: unknown[]): void {
    if (this.#state === ANSWERING) {
      fn.apply(this.res, args);
      return;
    }
    if (this.#state === DROPPED) return;
    this.#queue.push([fn, args]);
    if (this.#state === HOLDING) this.#commit();
  }

  #commit(): void {
    this.#state = COMMITTING;
    Promise.resolve(finishRequest(this.#session, this, true, HELD, this.#onError))
      .then((go) => {
        if (!go) return;
        this.#restore();
        for (const [fn, args] of this.#queue.splice(0)) fn.apply(this.res, args);
      })
      .catch((err: unknown) => {
        // A held call that throws once replayed (a bad status code...): the answer cannot be trusted.
        this.#onError(err);
        this.res.destroy();
      });
  }

  #restore(): void {
    const res = this.res;
    res.writeHead = this.#writeHead as typeof res.writeHead;
    res.write = this.#write as typeof res.write;
    res.end = this.#end as typeof res.end;
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
 * const begun = http.begin(nodeRequest(req), () => commitBeforeResponse(res, session, console.error));
 * ```
 */
export function commitBeforeResponse(res: ServerResponse, session: RequestSession, onError: (err: unknown) => void): boolean {
  if (res.headersSent) return false;
  new ResponseHold(res, session, onError);
  return true;
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
