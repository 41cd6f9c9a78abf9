/**
 * Glue between the HTTP layer and the Fetch API's `Request` / `Response`,
 * shared by the Hono and Fetch adapters.
 *
 * @module
 */
import type { HttpError } from './errors.js';
import type { Responder } from './exchange.js';
import type { HttpRequest } from './http-sessions.js';
import type { HeaderLine } from './request-session.js';
import type { TokenResponse } from './tokens.js';

const JSON_TYPE = /^application\/(.+\+)?json\b/i;
const MAX_JSON_CHARS = 1_048_576;
const FORM_TYPE = /^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i;

/**
 * The {@link HttpRequest} view of a Fetch `Request`. `readForm` reads the form
 * body without consuming it for the handler (default: a clone of the request).
 *
 * @example
 * ```ts
 * const begun = await http.begin(fetchRequest(request, remoteAddress));
 * ```
 */
export function fetchRequest(
  request: Request,
  remoteAddress: string | undefined,
  readForm: () => Promise<{ get(name: string): unknown } | Record<string, unknown>> = () => boundedForm(request),
): HttpRequest {
  let url: string | undefined;
  let json: Promise<Record<string, unknown> | undefined> | undefined;
  let form: Promise<{ get(name: string): unknown } | Record<string, unknown> | undefined> | undefined;
  const formField = async (name: string): Promise<string | undefined> => {
    if (!FORM_TYPE.test(request.headers.get('content-type') ?? '') || declaredTooLarge(request)) return undefined;
    form ??= readForm().catch(() => undefined);
    const f = await form;
    if (f === undefined) return undefined;
    const v = typeof f.get === 'function' ? (f as { get(name: string): unknown }).get(name) : Object.hasOwn(f, name) ? (f as Record<string, unknown>)[name] : undefined;
    return typeof v === 'string' ? v : undefined;
  };
  return {
    method: request.method,
    get url() {
      if (url === undefined) {
        const u = request.url;
        // The request target: everything after scheme://host.
        const start = u.indexOf('/', u.indexOf('//') + 2);
        url = start === -1 ? '/' : u.slice(start);
      }
      return url;
    },
    header: (name) => request.headers.get(name) ?? undefined,
    remoteAddress,
    formField,
    bodyField: async (name) => {
      if (!JSON_TYPE.test(request.headers.get('content-type') ?? '')) return formField(name);
      json ??= readJsonObject(request);
      const body = await json;
      const v = body !== undefined && Object.hasOwn(body, name) ? body[name] : undefined;
      return typeof v === 'string' ? v : undefined;
    },
  };
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
