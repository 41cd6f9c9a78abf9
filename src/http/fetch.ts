/**
 * Glue between the HTTP layer and the Fetch API's `Request` / `Response`,
 * shared by the Hono and Fetch adapters.
 *
 * @module
 */
import { toHttpError, type HttpError } from './errors.js';
import { finishRequest, type Responder } from './exchange.js';
import type { HttpAnswer, HttpSessions } from './http-sessions.js';
import { isFormContentType, type HttpRequest } from './request.js';
import type { HeaderLine, RequestSession } from './request-session.js';
import type { TokenEndpointResult, TokenResponse } from './tokens.js';

const JSON_TYPE = /^application\/(.+\+)?json\b/i;
const MAX_JSON_CHARS = 1_048_576;

/** The parsed form body a {@link FormSource} gives: a `FormData`, or a plain record (Hono's `parseBody()`). */
export type FormFields = { get(name: string): unknown } | Record<string, unknown>;

/**
 * Where a request view reads a form body from, without consuming it for the
 * handler: Hono's `c.req` (its `parseBody()` caches what it parsed), or a
 * reader of your own.
 */
export interface FormSource {
  parseBody(): Promise<FormFields>;
}

/**
 * The {@link HttpRequest} view of a Fetch `Request`. `readForm` reads the form
 * body without consuming it for the handler (default: a clone of the request).
 *
 * @example
 * ```ts
 * const begun = await http.begin(fetchRequest(request, remoteAddress));
 * ```
 */
export function fetchRequest(request: Request, remoteAddress: string | undefined, readForm?: () => Promise<FormFields>): HttpRequest {
  return new FetchRequestView(request, remoteAddress, readForm === undefined ? null : { parseBody: readForm });
}

/**
 * @internal The Fetch request view. A class, not an object literal with
 * closures: one small object per request, and no accessor of its own (an
 * object literal's getter is an accessor pair in the old generation, which
 * keeps each request's closures, and through them the whole request, alive
 * until the next full collection).
 */
export class FetchRequestView implements HttpRequest {
  readonly method: string;
  readonly remoteAddress: string | undefined;
  readonly #request: Request;
  readonly #form: FormSource | null;
  #url: string | undefined = undefined;
  #json: Promise<Record<string, unknown> | undefined> | undefined = undefined;
  #fields: Promise<FormFields | undefined> | undefined = undefined;

  constructor(request: Request, remoteAddress: string | undefined, form: FormSource | null) {
    this.#request = request;
    this.method = request.method;
    this.remoteAddress = remoteAddress;
    this.#form = form;
  }

  /** The request target: everything after scheme://host, read once, on first use (only the URL carrier needs it). */
  get url(): string {
    if (this.#url === undefined) {
      const u = this.#request.url;
      const start = u.indexOf('/', u.indexOf('//') + 2);
      this.#url = start === -1 ? '/' : u.slice(start);
    }
    return this.#url;
  }

  header(name: string): string | undefined {
    return this.#request.headers.get(name) ?? undefined;
  }

  async formField(name: string): Promise<string | undefined> {
    const request = this.#request;
    if (!isFormContentType(request.headers.get('content-type') ?? undefined) || declaredTooLarge(request)) return undefined;
    this.#fields ??= (this.#form === null ? boundedForm(request) : this.#form.parseBody()).catch(() => undefined);
    const f = await this.#fields;
    if (f === undefined) return undefined;
    const v = typeof f.get === 'function' ? (f as { get(name: string): unknown }).get(name) : Object.hasOwn(f, name) ? (f as Record<string, unknown>)[name] : undefined;
    return typeof v === 'string' ? v : undefined;
  }

  async bodyField(name: string): Promise<string | undefined> {
    if (!JSON_TYPE.test(this.#request.headers.get('content-type') ?? '')) return this.formField(name);
    this.#json ??= readJsonObject(this.#request);
    const body = await this.#json;
    const v = body !== undefined && Object.hasOwn(body, name) ? body[name] : undefined;
    return typeof v === 'string' ? v : undefined;
  }
}

/** Whether the body declares a length over the limit: then it is never read, and its fields count as absent. */
function declaredTooLarge(request: Request): boolean {
  const declared = request.headers.get('content-length');
  return declared !== null && !(Number(declared) <= MAX_JSON_CHARS);
}

/**
 * The body of a clone of the request (the handler can still read the
 * original), or `undefined` when it is over the limit: reading stops there,
 * whatever length the body declared or did not declare.
 */
async function boundedBytes(request: Request): Promise<Uint8Array<ArrayBuffer> | undefined> {
  if (declaredTooLarge(request)) return undefined;
  const reader = request.body === null ? undefined : request.clone().body?.getReader();
  if (reader === undefined) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_JSON_CHARS) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  // Web-standard bytes (no Buffer): this runs on Workers without Node.js compatibility too.
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** The default form reader: a bounded read, then the platform's own form parser. */
async function boundedForm(request: Request): Promise<FormData> {
  const bytes = await boundedBytes(request);
  if (bytes === undefined) throw new RangeError('form body over the limit');
  return new Response(bytes, { headers: { 'content-type': request.headers.get('content-type') ?? '' } }).formData();
}

async function readJsonObject(request: Request): Promise<Record<string, unknown> | undefined> {
  try {
    const bytes = await boundedBytes(request);
    if (bytes === undefined) return undefined;
    const text = new TextDecoder().decode(bytes);
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The JSON `Response` of an {@link HttpError}: the Fetch API renderer of
 * latchkey's errors (Hono and the Fetch adapter).
 *
 * @example
 * ```ts
 * if (!begun.ok) return errorResponse(begun.error);
 * ```
 */
export function errorResponse(err: HttpError): Response {
  const headers = new Headers(err.headers);
  headers.set('content-type', 'application/json; charset=utf-8');
  headers.set('cache-control', 'no-store');
  return new Response(JSON.stringify(err.body()), { status: err.status, headers });
}

/**
 * The end of a request on the Fetch API (see `finishRequest`): the error's
 * `Response` in place of the handler's, or the handler's with the session's
 * headers added.
 *
 * @example
 * ```ts
 * return finishRequest(session, undefined, await handler(request, session), fetchResponder, console.error);
 * ```
 */
export const fetchResponder: Responder<unknown, Response> = {
  error: (_target, err) => errorResponse(err),
  headers: (_target, res, lines) => withHeaders(res, lines),
};

/**
 * A request on the Fetch API from beginning to end (the Hono and Fetch
 * adapters): begins it, answering a refusal (CSRF, throttling) at once; runs
 * `run` with the session; answers latchkey's own errors that `run` throws
 * (401, 503...), still committing the session so that a renewed token or a
 * cookie to clear reaches the client with the error; then commits and adds
 * the session's headers, or answers the failed commit instead (see
 * `finishRequest`). Other errors are rethrown. `a` and `b` are handed to
 * `run` as they are, so that `run` can be made once rather than per request.
 *
 * @example
 * ```ts
 * const run = (session: RequestSession, request: Request) => handler(request, session);
 * export default { fetch: (request: Request) => serveFetch(http, fetchRequest(request, undefined), request, null, run) };
 * ```
 */
export async function serveFetch<A, B>(
  http: HttpSessions,
  request: HttpRequest,
  a: A,
  b: B,
  run: (session: RequestSession, a: A, b: B) => Response | Promise<Response>,
): Promise<Response> {
  const begin = http.begin(request);
  // Synchronous unless a form body had to be read: no extra turn for the common case.
  const begun = begin instanceof Promise ? await begin : begin;
  if (!begun.ok) return begun.error === null ? answerResponse(begun.answer) : errorResponse(begun.error);
  const session = begun.session;
  let res: Response;
  try {
    const out = run(session, a, b);
    res = out instanceof Promise ? await out : out;
  } catch (err) {
    res = thrownResponse(err);
  }
  return finishRequest(session, undefined, res, fetchResponder, http.reportError);
}

/**
 * The `Response` of an answer the HTTP layer made by itself (a DBSC endpoint's).
 *
 * @example
 * ```ts
 * if (!begun.ok) return begun.error === null ? answerResponse(begun.answer) : errorResponse(begun.error);
 * ```
 */
export function answerResponse(answer: HttpAnswer): Response {
  const headers = new Headers();
  add(headers, answer.headers);
  return new Response(answer.body, { status: answer.status, headers });
}

/**
 * The answer to what a handler threw when it is one of latchkey's errors
 * (a guard's 401, a store outage's 503...); anything else is rethrown.
 *
 * @example
 * ```ts
 * try { return await handler(request); } catch (err) { return thrownResponse(err); }
 * ```
 */
export function thrownResponse(err: unknown): Response {
  const known = toHttpError(err);
  if (known === null) throw err;
  return errorResponse(known);
}

/**
 * The `Response` of a token endpoint (refresh, logout): its JSON answer, or
 * its error.
 *
 * @example
 * ```ts
 * export const POST = async (request: Request) => tokenEndpointResponse(await transport.refresh(fetchRequest(request, undefined)));
 * ```
 */
export function tokenEndpointResponse(r: TokenEndpointResult): Response {
  return r.ok ? jsonResponse(r.response) : errorResponse(r.error);
}

/**
 * The JSON `Response` of a token endpoint's {@link TokenResponse}.
 *
 * @example
 * ```ts
 * const r = await transport.refresh(fetchRequest(request, undefined));
 * return r.ok ? jsonResponse(r.response) : errorResponse(r.error);
 * ```
 */
export function jsonResponse(answer: TokenResponse): Response {
  const headers = new Headers();
  add(headers, answer.headers);
  headers.set('content-type', 'application/json; charset=utf-8');
  return new Response(JSON.stringify(answer.body), { status: answer.status, headers });
}

/**
 * Adds header lines to a response (`set-cookie` appended, others replaced),
 * copying the response first when its headers are immutable (e.g. one
 * returned by `fetch()`).
 *
 * @example
 * ```ts
 * await session.commit();
 * return withHeaders(response, session.responseHeaders());
 * ```
 */
export function withHeaders(res: Response, lines: readonly HeaderLine[]): Response {
  if (lines.length === 0) return res;
  let out = res;
  try {
    add(out.headers, lines);
  } catch {
    out = new Response(res.body, res);
    add(out.headers, lines);
  }
  return out;
}

function add(headers: Headers, lines: readonly HeaderLine[]): void {
  for (const [name, value] of lines) {
    if (name === 'set-cookie') headers.append(name, value);
    else headers.set(name, value);
  }
}
