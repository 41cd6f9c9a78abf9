/**
 * latchkey's framework-neutral HTTP layer: cookies, carriers, CSRF, client
 * context, the request-scoped session and token mode's transport. The adapters (`latchkey/express`,
 * `latchkey/fastify`, `latchkey/hono`, `latchkey/fetch`, `latchkey/node`) are
 * thin wrappers over it; use it directly to support another framework.
 *
 * @module
 */
export { createHttpSessions } from './http-sessions.js';
export type { BeginResult, HttpAnswer, HttpDbscOptions, HttpRequest, HttpSessions, HttpSessionsOptions, OnDirty } from './http-sessions.js';
export { createDbsc, DBSC_CHALLENGE_NAMESPACE, memoryChallengeStore, storeChallengeStore } from './dbsc/index.js';
export type {
  BoundCookieResult,
  Dbsc,
  DbscAlgorithm,
  DbscAnswer,
  DbscBinding,
  DbscChallengeStore,
  DbscContext,
  DbscCookieOptions,
  DbscOptions,
  DbscRefreshResult,
  DbscRegistrationResult,
  DbscScopeOptions,
  DbscSession,
  MemoryChallengeStore,
  MemoryChallengeStoreOptions,
  StoreChallengeStoreOptions,
} from './dbsc/index.js';
export { RequestSession } from './request-session.js';
export type { HeaderLine, LoginOptions, SessionRotateOptions } from './request-session.js';
export { HeadersSentError, HttpError, retryAfter, STORE_RETRY_AFTER_SECONDS, storeUnavailable, throttled, toHttpError } from './errors.js';
export { commitFailure, finishRequest } from './exchange.js';
export type { Responder } from './exchange.js';
export type { HttpReason } from './errors.js';
export { readCookie, MAX_COOKIE_AGE, MAX_COOKIE_HEADER } from './cookies.js';
export type { CookieOptions } from './cookies.js';
export type { FormFields } from './fetch.js';
export type { ClearSiteDataOptions } from './credential-headers.js';
export { DEADLINES_HEADER } from './deadlines.js';
export { readBearer, readQueryParameter } from './carriers.js';
export type { Carrier, CarrierOptions } from './carriers.js';
export { checkOrigin, csrfTokenFor, csrfTokenMatches, isSafeMethod } from './csrf.js';
export type { CsrfOptions, OriginVerdict } from './csrf.js';
export { parseForwarded, parseXForwardedFor } from './client.js';
export type { ProxyHeader, TrustProxyOptions } from './client.js';
export { applyNodeHeaders, commitBeforeResponse, nodeRequest, nodeResponder, sendNodeAnswer, sendNodeError, sendNodeFailure, sendNodeJson } from './node.js';
export { answerResponse, errorResponse, fetchRequest, fetchResponder, jsonResponse, withHeaders } from './fetch.js';
export { asTokenTransport, createTokenTransport } from './tokens.js';
export type { TokenEndpointResult, TokenGuardOptions, TokenGuardResult, TokenResponse, TokenTransport, TokenTransportOptions } from './tokens.js';
