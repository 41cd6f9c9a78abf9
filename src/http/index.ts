/**
 * latchkey's framework-neutral HTTP layer: cookies, carriers, CSRF, client
 * context and the request-scoped session. The adapters (`latchkey/express`,
 * `latchkey/fastify`, `latchkey/hono`, `latchkey/fetch`, `latchkey/node`) are
 * thin wrappers over it; use it directly to support another framework.
 *
 * @module
 */
export { createHttpSessions } from './http-sessions.js';
export type { BeginResult, HttpRequest, HttpSessions, HttpSessionsOptions } from './http-sessions.js';
export { RequestSession } from './request-session.js';
export type { HeaderLine, LoginOptions, SessionRotateOptions } from './request-session.js';
export { HttpError, toHttpError } from './errors.js';
export type { HttpReason } from './errors.js';
export { readCookie, MAX_COOKIE_HEADER } from './cookies.js';
export type { CookieOptions } from './cookies.js';
export { readBearer, readQueryParameter } from './carriers.js';
export type { Carrier, CarrierOptions } from './carriers.js';
export { checkOrigin, csrfTokenFor, csrfTokenMatches, isSafeMethod } from './csrf.js';
export type { CsrfOptions, OriginVerdict } from './csrf.js';
export { parseForwarded, parseXForwardedFor } from './client.js';
export type { ProxyHeader, TrustProxyOptions } from './client.js';
export { applyNodeHeaders, commitBeforeResponse, nodeRequest, sendNodeError, sendNodeFailure } from './node.js';
export { errorResponse, fetchRequest, withHeaders } from './fetch.js';
