/**
 * The one error the service client throws for a failed call:
 * {@link LatchkeyApiError}, a `LatchkeyError` with the code `ERR_SERVICE`. It
 * carries the HTTP status, the service's stable `reason` (its answer's
 * `error.code`) and, for refused tokens, the `detail` (its `error.reason`);
 * never the API key, a token or the request body.
 *
 * @module
 */
import { LatchkeyError } from '../core/errors.js';
import type { HttpReason } from '../http/errors.js';

/**
 * The `error.code` values of the service's JSON API, spelled as the HTTP
 * layer spells them (`HttpReason`): kebab-case, but RFC 6749's
 * `invalid_grant`.
 *
 * - `bad-request` (400): the body or a parameter breaks the API schema (unknown fields included).
 * - `unauthorized` (401): missing, malformed, unknown or revoked API key.
 * - `session-invalid` (401): the session token was refused; see `detail`.
 * - `invalid_grant` (401): the refresh token was refused; see `detail`.
 * - `invalid_dpop_proof` (400): the forwarded DPoP proof was refused; see `detail`.
 * - `not-found` (404), `conflict` (409), `session-limit` (409),
 *   `payload-too-large` (413), `unsupported-media-type` (415),
 *   `throttled` (429, a burst of invalid tokens from `client.ip`),
 *   `internal` (500), `store-unavailable` (503).
 *
 * @example
 * ```ts
 * const retryable: ServiceErrorCode[] = ['store-unavailable', 'throttled'];
 * ```
 */
export type ServiceErrorCode = Extract<
  HttpReason,
  | 'bad-request'
  | 'unauthorized'
  | 'session-invalid'
  | 'invalid_grant'
  | 'invalid_dpop_proof'
  | 'not-found'
  | 'conflict'
  | 'session-limit'
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'throttled'
  | 'internal'
  | 'store-unavailable'
>;

/**
 * Every `reason` a {@link LatchkeyApiError} can carry: the service's codes,
 * plus what the client detects itself (all with `status` 0 but
 * `bad-response`):
 *
 * - `network`: the service could not be reached (refused, reset, DNS...).
 * - `timeout`: no complete answer within the client's `timeout`.
 * - `aborted`: the caller's `signal` aborted the call.
 * - `bad-response`: the answer is not what the API promises (not JSON, wrong
 *   shape, an HTML error page from a proxy); `status` is the HTTP status.
 *
 * A future service may add codes: match the ones you handle and treat the
 * rest as failures.
 *
 * @example
 * ```ts
 * const transient = (reason: LatchkeyApiErrorReason) => reason === 'network' || reason === 'timeout' || reason === 'store-unavailable';
 * ```
 */
export type LatchkeyApiErrorReason = ServiceErrorCode | 'network' | 'timeout' | 'aborted' | 'bad-response' | (string & {});

/**
 * What {@link LatchkeyApiError} is built from (for tests and fakes of the client).
 *
 * @example
 * ```ts
 * new LatchkeyApiError({ status: 503, reason: 'store-unavailable', message: 'down', operation: 'POST /v1/sessions/validate' });
 * ```
 */
export interface LatchkeyApiErrorInit {
  /** HTTP status of the answer; 0 when there was none. */
  readonly status: number;
  readonly reason: LatchkeyApiErrorReason;
  readonly message: string;
  /** Why a token was refused, when the service says. */
  readonly detail?: string | undefined;
  /** The failing call, e.g. `POST /v1/sessions/rotate` (no query string). */
  readonly operation: string;
  /** The underlying error (a network failure), if any. */
  readonly cause?: unknown;
  /** Seconds the service asked to wait (`Retry-After` of a 429 or 503 answer). */
  readonly retryAfter?: number | undefined;
  /** The `DPoP-Nonce` of the answer (a forwarded proof refused for its nonce), if any. */
  readonly dpopNonce?: string | undefined;
}

/**
 * A call to the session service failed: the service answered with an error,
 * or did not answer in time, or could not be reached. Its `code` is always
 * `ERR_SERVICE`; match on `reason` (and `detail`), not on the message, as on
 * an `HttpError` of the HTTP layer, whose vocabulary the service speaks. The
 * message and fields never hold the API key nor a session or refresh token.
 *
 * @example
 * ```ts
 * import { LatchkeyApiError } from 'latchkey/client';
 *
 * try {
 *   const { token } = await latchkey.rotateSession(oldToken);
 *   setCookie(token);
 * } catch (err) {
 *   if (err instanceof LatchkeyApiError && err.reason === 'session-invalid') {
 *     redirectToSignIn(err.detail); // 'expired-idle', 'revoked', ...
 *   } else throw err;
 * }
 * ```
 */
export class LatchkeyApiError extends LatchkeyError<'ERR_SERVICE'> {
  /** HTTP status of the service's answer, or 0 when there was none (`network`, `timeout`, `aborted`). */
  readonly status: number;
  /** A stable reason: the service's `error.code`, or what the client detected; see {@link LatchkeyApiErrorReason}. */
  readonly reason: LatchkeyApiErrorReason;
  /**
   * Why the token was refused, for `session-invalid` (`'malformed'`,
   * `'unknown'`, `'expired-idle'`, `'expired-absolute'`, `'revoked'`,
   * `'binding-mismatch'`) and `invalid_grant` (`'malformed'`, `'unknown'`,
   * `'expired'`, `'revoked'`, `'reused'`): the service's `error.reason`.
   */
  readonly detail: string | undefined;
  /** The failing call, e.g. `'POST /v1/sessions/rotate'`. */
  readonly operation: string;
  /**
   * Seconds the service asked the caller to wait before trying again (its
   * `Retry-After` on `throttled` and `store-unavailable`), when it said.
   */
  readonly retryAfter: number | undefined;
  /**
   * With DPoP nonces on at the service, the nonce the end user's client must
   * retry with when its forwarded proof was refused for its nonce
   * (`reason: 'invalid_dpop_proof'`, `detail: 'nonce-missing'`, `'nonce-stale'`
   * or `'nonce-invalid'`): answer the client `use_dpop_nonce` with it as
   * `DPoP-Nonce` (RFC 9449 section 8).
   */
  readonly dpopNonce: string | undefined;

  constructor(init: LatchkeyApiErrorInit) {
    super('ERR_SERVICE', init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.reason = init.reason;
    this.detail = init.detail;
    this.operation = init.operation;
    this.retryAfter = init.retryAfter;
    this.dpopNonce = init.dpopNonce;
  }
}
