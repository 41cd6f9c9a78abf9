/**
 * Glue between the HTTP layer and the Fetch API's `Request` / `Response`,
 * shared by the Hono and Fetch adapters.
 *
 * @module
 */
import type { HttpError } from './errors.js';
import type { HttpRequest } from './http-sessions.js';
import type { HeaderLine } from './request-session.js';

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
  readForm: () => Promise<{ get(name: string): unknown } | Record<string, unknown>> = () => request.clone().formData(),
): HttpRequest {
  let url: string | undefined;
  let form: Promise<{ get(name: string): unknown } | Record<string, unknown> | undefined> | undefined;
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
    formField: async (name) => {
      if (!FORM_TYPE.test(request.headers.get('content-type') ?? '')) return undefined;
      form ??= readForm().catch(() => undefined);
      const f = await form;
      if (f === undefined) return undefined;
      const v = typeof f.get === 'function' ? (f as { get(name: string): unknown }).get(name) : Object.hasOwn(f, name) ? (f as Record<string, unknown>)[name] : undefined;
      return typeof v === 'string' ? v : undefined;
    },
  };
}

/**
 * The JSON `Response` of an {@link HttpError}.
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
