/**
 * The request as latchkey's HTTP layer sees it: what every adapter builds
 * from its framework's request (node-request.ts, fetch.ts, fastify.ts).
 *
 * @module
 */

/**
 * The request as the HTTP layer sees it. Adapters build one per request.
 *
 * @example
 * ```ts
 * const request: HttpRequest = { method: 'GET', url: '/', header: (name) => headers[name], remoteAddress: '192.0.2.1' };
 * const begun = await http.begin(request);
 * ```
 */
export interface HttpRequest {
  /** The method, e.g. `'POST'`. */
  readonly method: string;
  /** The request target: path and query. */
  readonly url: string;
  /** A header by lower-case name; repeated headers joined as Node joins them. */
  header(name: string): string | undefined;
  /** The socket peer's address, if known. */
  readonly remoteAddress: string | undefined;
  /**
   * `true` when the response cannot carry cookies (a Next.js server
   * component): loading renews no token, and the session takes no change.
   * @default false
   */
  readonly readOnly?: boolean;
  /**
   * A field of a URL-encoded or multipart form body, or `undefined` when the
   * body is not a form. Called only for unsafe methods that need it.
   */
  formField?(name: string): Promise<string | undefined>;
  /**
   * A string field of a JSON object or form body, or `undefined` (token
   * mode's `refresh_token`). Called only by the token endpoints.
   */
  bodyField?(name: string): Promise<string | undefined>;
}

const FORM_TYPE = /^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i;

/**
 * @internal Whether a `Content-Type` is a form's (URL-encoded or multipart):
 * adapters whose framework parsed the body already (Express's and Koa's
 * body parsers, Fastify's) take {@link HttpRequest.formField}s from a form
 * only, never from a JSON body parsed into the same place.
 */
export function isFormContentType(type: string | undefined): boolean {
  return type !== undefined && FORM_TYPE.test(type);
}
