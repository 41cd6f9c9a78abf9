/**
 * The one HTTP failure type of latchkey's web layer and of the session
 * service. Every refusal (CSRF, throttling, a missing or stale sign-in, an
 * unreachable store, a bad API key) is an {@link HttpError} carrying its
 * status, headers and a stable reason, so that every adapter, the token
 * transport and the service answer it the same way, with one `Retry-After`
 * policy.
 *
 * One spelling: every reason is lower-case kebab-case (`store-unavailable`,
 * `session-invalid`), in the library's values, the adapters' answers and the
 * service's, except the OAuth 2.0 error codes of token mode, which keep the
 * spelling RFC 6749 and RFC 6750 give them (`invalid_grant`).
 *
 * @module
 */
import { LatchkeyError, SessionLimitError, StoreUnavailableError } from '../core/errors.js';

/**
 * Stable reasons of {@link HttpError}: the adapters send one as `error` in
 * their JSON body, the service as `error.code`.
 *
 * The HTTP layer (adapters, token transport):
 * - `csrf-cross-site`: `Sec-Fetch-Site: cross-site` on an unsafe method.
 * - `csrf-origin-mismatch`: an `Origin` that is neither this host nor a trusted origin.
 * - `csrf-token-missing` / `csrf-token-invalid`: a request that needs the CSRF token lacks it or sends a wrong one.
 * - `throttled`: too many invalid tokens from this client (429, `Retry-After`).
 * - `unauthenticated`: the route needs a signed-in user (401).
 * - `reauth-required`: the route needs a recent authentication (401).
 * - `store-unavailable`: the session store failed or timed out (503, `Retry-After`).
 * - `session-not-saved`: the end-of-request save of the session failed for
 *   another reason (500): data over `maxDataBytes` or, in sealed mode, over
 *   the cookie budget. The handler's own answer is replaced, never sent as if
 *   the change had been kept; the cause goes to `onError`.
 * - `session-limit`: a sign-in over `maxSessionsPerUser` with `onLimit: 'refuse'` (409).
 * - `invalid_request`, `invalid_token`, `insufficient_scope` (RFC 6750) and
 *   `invalid_grant` (RFC 6749): token mode's refusals, spelled as OAuth
 *   clients expect them; `detail` then names the exact cause (`expired`,
 *   `reused`...).
 *
 * The service's `/v1` API adds (and answers `throttled`, `store-unavailable`,
 * `session-limit` and `invalid_grant` too):
 * - `bad-request` (400): the body or a parameter breaks the API schema.
 * - `unauthorized` (401): missing, malformed, unknown or revoked API key.
 * - `session-invalid` (401): the session token was refused; `detail` says why.
 * - `not-found` (404), `conflict` (409), `payload-too-large` (413),
 *   `unsupported-media-type` (415), `internal` (500).
 */
export type HttpReason =
  | 'csrf-cross-site'
  | 'csrf-origin-mismatch'
  | 'csrf-token-missing'
  | 'csrf-token-invalid'
  | 'throttled'
  | 'unauthenticated'
  | 'reauth-required'
  | 'store-unavailable'
  | 'session-not-saved'
  | 'session-limit'
  | 'bad-request'
  | 'unauthorized'
  | 'session-invalid'
  | 'not-found'
  | 'conflict'
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'internal'
  | 'invalid_request'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'invalid_grant'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce';

const MESSAGES: Record<HttpReason, string> = {
  'csrf-cross-site': 'cross-site request refused',
  'csrf-origin-mismatch': 'request origin not allowed',
  'csrf-token-missing': 'CSRF token missing',
  'csrf-token-invalid': 'CSRF token invalid',
  throttled: 'too many invalid session tokens; retry later',
  unauthenticated: 'sign-in required',
  'reauth-required': 're-authentication required',
  'store-unavailable': 'session store unavailable; retry later',
  'session-not-saved': 'the session could not be saved',
  'session-limit': 'too many sessions for this user; sign out elsewhere first',
  'bad-request': 'bad request',
  unauthorized: 'the API key is missing or not valid',
  'session-invalid': 'the session token is not valid',
  'not-found': 'not found',
  conflict: 'the resource changed during the request',
  'payload-too-large': 'the request body is too large',
  'unsupported-media-type': 'the request body must be application/json',
  internal: 'an unexpected error occurred',
  invalid_request: 'malformed token request',
  invalid_token: 'access token invalid',
  insufficient_scope: 'insufficient scope',
  invalid_grant: 'refresh token invalid',
  invalid_dpop_proof: 'DPoP proof invalid',
  use_dpop_nonce: 'a DPoP nonce is required',
};

/**
 * An HTTP refusal with a stable {@link HttpReason}. Adapters answer it with
 * `status`, `headers` and the JSON body `{ "error": reason, "message": ... }`.
 * It also carries `statusCode` and `expose`, so framework default error
 * handlers (Express, Fastify) answer with the right status.
 *
 * @example
 * ```ts
 * try {
 *   session.requireFresh('5m');
 * } catch (err) {
 *   if (err instanceof HttpError && err.reason === 'reauth-required') redirect('/login?step-up=1');
 * }
 * ```
 */
export class HttpError extends LatchkeyError<'ERR_HTTP'> {
  /** HTTP status to answer with. */
  readonly status: number;
  /** Same as `status`, for frameworks that read `statusCode`. */
  readonly statusCode: number;
  /** The stable reason code. */
  readonly reason: HttpReason;
  /** Extra response headers (`Retry-After`, `WWW-Authenticate`). */
  readonly headers: Readonly<Record<string, string>>;
  /** A stable sub-code refining `reason` (token mode: `'expired'`, `'reused'`...), or `undefined`. */
  readonly detail: string | undefined;
  /** The message is safe to show to clients (it never holds a secret). */
  readonly expose = true;

  constructor(status: number, reason: HttpReason, options?: { headers?: Record<string, string>; cause?: unknown; detail?: string; message?: string }) {
    super('ERR_HTTP', options?.message ?? MESSAGES[reason], options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.statusCode = status;
    this.reason = reason;
    this.headers = options?.headers ?? {};
    this.detail = options?.detail;
  }

  /** The JSON body every adapter sends; `detail` only when there is one. */
  body(): { error: HttpReason; message: string; detail?: string } {
    return this.detail === undefined ? { error: this.reason, message: this.message } : { error: this.reason, message: this.message, detail: this.detail };
  }

  /**
   * The answer as a Fetch `Response` (the JSON body, the status and the
   * extra headers). Hono's default error handler answers an error that has
   * this method with it instead of logging it as a 500, so that a refusal
   * (`requireUser()` in a route) is not logged as a crash before latchkey's
   * middleware answers it.
   *
   * @example
   * ```ts
   * if (err instanceof HttpError) return err.getResponse();
   * ```
   */
  getResponse(): Response {
    return Response.json(this.body(), { status: this.status, headers: this.headers });
  }
}

/**
 * Turns what a handler threw into an {@link HttpError} when latchkey knows
 * the answer (a store outage becomes 503 `store-unavailable` with
 * `Retry-After`), or `null`.
 *
 * @example
 * ```ts
 * const known = toHttpError(err);
 * if (known) return new Response(JSON.stringify(known.body()), { status: known.status });
 * ```
 */
export function toHttpError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err;
  if (err instanceof StoreUnavailableError) return storeUnavailable(err);
  // maxSessionsPerUser with onLimit 'refuse': the sign-in is refused, not broken.
  if (err instanceof SessionLimitError) return new HttpError(409, 'session-limit', { cause: err });
  return null;
}

/**
 * The `Retry-After` of a store outage (503), in seconds: long enough for a
 * reconnection or a Sentinel failover, short enough that a client retries
 * soon. Adapters, the token transport and the service all send it.
 *
 * @example
 * ```ts
 * res.setHeader('retry-after', String(STORE_RETRY_AFTER_SECONDS));
 * ```
 */
export const STORE_RETRY_AFTER_SECONDS = 5;

/**
 * The `Retry-After` value of a throttled client (429): the seconds until its
 * window ends, rounded up, at least 1. The invalid-token throttles (sessions,
 * refresh tokens) and the service's sign-in brakes all send it.
 *
 * @example
 * ```ts
 * retryAfter(0.2); // '1'
 * retryAfter(41.5); // '42'
 * ```
 */
export function retryAfter(seconds: number): string {
  return String(Number.isFinite(seconds) ? Math.max(1, Math.ceil(seconds)) : 1);
}

/**
 * The 503 answered while the store is down, with `Retry-After:
 * {@link STORE_RETRY_AFTER_SECONDS}`; the store's error is kept as `cause`.
 *
 * @example
 * ```ts
 * throw storeUnavailable(err);
 * ```
 */
export function storeUnavailable(cause: unknown): HttpError {
  return new HttpError(503, 'store-unavailable', { headers: { 'retry-after': String(STORE_RETRY_AFTER_SECONDS) }, cause });
}

/**
 * The 429 answered to a client that sent a burst of invalid tokens, with
 * `Retry-After` as {@link retryAfter} says.
 *
 * @example
 * ```ts
 * const wait = sessions.throttled(ip);
 * if (wait > 0) throw throttled(wait);
 * ```
 */
export function throttled(seconds: number, message?: string): HttpError {
  return new HttpError(429, 'throttled', { headers: { 'retry-after': retryAfter(seconds) }, ...(message !== undefined ? { message } : {}) });
}

/**
 * A session change made after the response started: its headers were sent
 * (node:http, Express), or the handler's answer was already handed back
 * (Fastify's `onSend`, Hono after `next()`, the Fetch adapter after the
 * `Response`). The change could never reach the client (no `Set-Cookie`, no
 * commit), so it is refused rather than lost. Make every change before
 * `writeHead()`/`write()`/`end()`/`send()`, or before returning the answer.
 *
 * @example
 * ```ts
 * res.writeHead(200).end(page);
 * session.set('seen', true); // throws HeadersSentError (code ERR_HEADERS_SENT)
 * ```
 */
export class HeadersSentError extends LatchkeyError<'ERR_HEADERS_SENT'> {
  /** The session operation that was refused, e.g. `'set()'`, or `'load()'` for a renewal that could not be sent. */
  readonly operation: string;
  constructor(operation: string, message?: string) {
    super(
      'ERR_HEADERS_SENT',
      message ??
        `session.${operation} was called after the response headers were sent, so the change could not reach the client; make session changes before writeHead()/end()/send() or before returning the response`,
    );
    this.operation = operation;
  }
}
