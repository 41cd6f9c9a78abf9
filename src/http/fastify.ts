/**
 * Glue between the HTTP layer and Fastify's request and reply, for the
 * Fastify adapter: the request view, the session's hooks (begin in
 * `preHandler`, commit in `onSend`), and the Fastify renderer of an
 * {@link HttpError}. Written against the few members it uses, so that
 * `latchkey/http` never imports Fastify.
 *
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http';
import { toHttpError, type HttpError } from './errors.js';
import { finishRequest, type Responder } from './exchange.js';
import type { BeginResult, HttpAnswer, HttpSessions } from './http-sessions.js';
import type { HttpRequest } from './request.js';
import { isFormContentType } from './request.js';
import type { RequestSession } from './request-session.js';
import type { TokenEndpointResult } from './tokens.js';

/** @internal what the glue reads of a Fastify request */
export interface FastifyRequestLike {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
  readonly raw: { readonly socket?: { readonly remoteAddress?: string } | null };
  session: RequestSession | null;
}

/** @internal what the glue uses of a Fastify reply */
export interface FastifyReplyLike {
  readonly sent: boolean;
  code(status: number): unknown;
  header(name: string, value: string): unknown;
  headers(values: Record<string, string>): unknown;
  getHeaders(): Record<string, unknown>;
  removeHeader(name: string): unknown;
  send(payload?: unknown): unknown;
}

/**
 * The {@link HttpRequest} view of a Fastify request. Fastify has parsed the
 * body already (JSON by default; URL-encoded through the plugin's parser or
 * `@fastify/formbody`): fields are read from it, form fields only from a form.
 */
class FastifyRequestView implements HttpRequest {
  readonly method: string;
  readonly url: string;
  readonly remoteAddress: string | undefined;
  readonly #request: FastifyRequestLike;

  constructor(request: FastifyRequestLike) {
    this.#request = request;
    this.method = request.method;
    this.url = request.url;
    this.remoteAddress = request.raw.socket?.remoteAddress;
  }

  header(name: string): string | undefined {
    const v = this.#request.headers[name];
    return v === undefined || typeof v === 'string' ? v : v.join(', ');
  }

  async formField(name: string): Promise<string | undefined> {
    // The parsed body may be JSON (Fastify's own parser): its fields are no form's.
    return isFormContentType(this.header('content-type')) ? parsedField(this.#request.body, name) : undefined;
  }

  async bodyField(name: string): Promise<string | undefined> {
    return parsedField(this.#request.body, name);
  }
}

function parsedField(body: unknown, name: string): string | undefined {
  if (body === null || typeof body !== 'object' || !Object.hasOwn(body, name)) return undefined;
  const v = (body as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * @internal The {@link HttpRequest} view of a Fastify request.
 */
export function fastifyRequest(request: FastifyRequestLike): HttpRequest {
  return new FastifyRequestView(request);
}

/**
 * @internal The fields of a URL-encoded body, first value of each name, in
 * an object without a prototype: the plugin's body parser.
 */
export function urlencodedFields(body: string): Record<string, string> {
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of new URLSearchParams(body)) if (!(k in fields)) fields[k] = v;
  return fields;
}

/** The Fastify renderer of latchkey's errors: sets the reply's status and headers, returns the JSON body. */
function errorPayload(reply: FastifyReplyLike, err: HttpError): string {
  reply.code(err.status);
  reply.headers({ ...err.headers, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  // A string is sent as it is: the JSON is made here, once.
  return JSON.stringify(err.body());
}

/** @internal answers an {@link HttpError} on a Fastify reply */
export function sendFastifyError<R extends FastifyReplyLike>(reply: R, err: HttpError): R {
  reply.send(errorPayload(reply, err));
  return reply;
}

/** @internal sends an answer the HTTP layer made by itself (a DBSC endpoint's) */
export function sendFastifyAnswer<R extends FastifyReplyLike>(reply: R, answer: HttpAnswer): R {
  reply.code(answer.status);
  // Fastify appends repeated set-cookie lines and replaces other headers.
  for (const [name, value] of answer.headers) reply.header(name, value);
  reply.send(answer.body ?? undefined);
  return reply;
}

/** @internal answers a token endpoint's result (refresh, logout): its JSON answer, or its error */
export function sendFastifyTokenResult<R extends FastifyReplyLike>(reply: R, r: TokenEndpointResult): R {
  if (!r.ok) return sendFastifyError(reply, r.error);
  // Fastify appends repeated set-cookie lines and replaces other headers.
  for (const [name, value] of r.response.headers) reply.header(name, value);
  reply.code(r.response.status);
  reply.header('content-type', 'application/json; charset=utf-8');
  reply.send(r.response.body);
  return reply;
}

/** The end of a request on a Fastify reply (see `finishRequest`), in `onSend`. */
const fastifyResponder: Responder<FastifyReplyLike, unknown> = {
  error(reply, err) {
    // Nothing of the handler's answer stays: its type, length, cookies and location described a success.
    for (const name of Object.keys(reply.getHeaders())) reply.removeHeader(name);
    return errorPayload(reply, err);
  },
  headers(reply, payload, lines) {
    // Fastify appends repeated set-cookie lines and replaces other headers.
    for (const [name, value] of lines) reply.header(name, value);
    return payload;
  },
};

/** Fastify's `done` of a `preHandler` hook. */
type HookDone = (err?: Error) => void;
/** Fastify's `done` of an `onSend` hook: the error, or the payload to send. */
type SendDone = (err: Error | null, value?: unknown) => void;

/** @internal the session's hooks of the Fastify plugin, made once per registration */
export interface FastifySessionHooks {
  /** Begins the request (callback style: no promise when nothing is read); a refusal is answered, the route never runs. */
  preHandler(request: FastifyRequestLike, reply: FastifyReplyLike, done: HookDone): void;
  /** Commits the session, then lets the payload go with its headers, or the error that replaces it. */
  onSend(request: FastifyRequestLike, reply: FastifyReplyLike, payload: unknown, done: SendDone): void;
  /** Wraps a route handler so that latchkey's own errors it throws are answered here, not by the application's error handler. */
  wrapHandler<H extends (this: never, request: never, reply: never) => unknown>(handler: H): H;
}

/** @internal */
export function fastifySessionHooks(http: HttpSessions): FastifySessionHooks {
  const report = http.reportError;
  const started = (begun: BeginResult, request: FastifyRequestLike, reply: FastifyReplyLike, done: HookDone): void => {
    if (!begun.ok) {
      // Answered here: the route never runs (a callback hook that answers does not call done).
      if (begun.error === null) sendFastifyAnswer(reply, begun.answer);
      else sendFastifyError(reply, begun.error);
      return;
    }
    request.session = begun.session;
    done();
  };
  return {
    preHandler(request, reply, done) {
      const begun = http.begin(new FastifyRequestView(request));
      if (begun instanceof Promise) begun.then((b) => started(b, request, reply, done), done);
      else started(begun, request, reply, done);
    },
    onSend(request, reply, payload, done) {
      const session = request.session;
      // Callback style: the common read (nothing to write) answers without a promise.
      const out = session === null ? payload : finishRequest(session, reply, payload, fastifyResponder, report);
      if (out instanceof Promise) out.then((value) => done(null, value), done);
      else done(null, out);
    },
    wrapHandler<H extends (this: never, request: never, reply: never) => unknown>(handler: H): H {
      const route = handler as unknown as (this: unknown, request: unknown, reply: FastifyReplyLike) => unknown;
      return function latchkeyRoute(this: unknown, request: unknown, reply: FastifyReplyLike): unknown {
        try {
          const out = route.call(this, request, reply);
          return out instanceof Promise ? out.catch((err: unknown) => answerThrown(err, reply)) : out;
        } catch (err) {
          return answerThrown(err, reply);
        }
      } as unknown as H;
    },
  };
}

/** latchkey's own errors get latchkey's answer; any other error goes on to Fastify's error handling. */
function answerThrown(err: unknown, reply: FastifyReplyLike): FastifyReplyLike {
  const known = toHttpError(err);
  if (known === null || reply.sent) throw err;
  return sendFastifyError(reply, known);
}
