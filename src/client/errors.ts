/**
 * The one error the service client throws: {@link LatchkeyApiError}. It
 * carries the HTTP status, the service's stable error `code` and, for refused
 * tokens, the `reason`; never the API key, a token or the request body.
 *
 * @module
 */

/**
 * Error codes of the service's JSON API (`{ error: { code } }`).
 *
 * @example
 * ```ts
 * const retryable: ServiceErrorCode[] = ['store_unavailable'];
 * ```
 *
 * - `bad_request` (400): the body or a parameter breaks the API schema (unknown fields included).
 * - `unauthorized` (401): missing, malformed, unknown or revoked API key.
 * - `session_invalid` (401): the session token was refused; see `reason`.
 * - `invalid_grant` (401): the refresh token was refused; see `reason`.
 * - `not_found` (404), `conflict` (409), `session_limit` (409),
 *   `payload_too_large` (413), `unsupported_media_type` (415),
 *   `internal` (500), `store_unavailable` (503).
 */
export type ServiceErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'session_invalid'
  | 'invalid_grant'
  | 'not_found'
  | 'conflict'
  | 'session_limit'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'internal'
  | 'store_unavailable';

/**
 * Every `code` a {@link LatchkeyApiError} can carry: the service's own codes,
 * plus what the client detects itself (all with `status` 0 but `bad_response`):
 *
 * - `network`: the service could not be reached (refused, reset, DNS...).
 * - `timeout`: no complete answer within the client's `timeout`.
 * - `aborted`: the caller's `signal` aborted the call.
 * - `bad_response`: the answer is not what the API promises (not JSON, wrong
 *   shape, an HTML error page from a proxy); `status` is the HTTP status.
 *
 * A future service may add codes: match the ones you handle and treat the
 * rest as failures.
 *
 * @example
 * ```ts
 * const transient = (code: LatchkeyApiErrorCode) => code === 'network' || code === 'timeout' || code === 'store_unavailable';
 * ```
 */
export type LatchkeyApiErrorCode = ServiceErrorCode | 'network' | 'timeout' | 'aborted' | 'bad_response' | (string & {});

/**
 * What {@link LatchkeyApiError} is built from (for tests and fakes of the client).
 *
 * @example
 * ```ts
 * new LatchkeyApiError({ status: 503, code: 'store_unavailable', message: 'down', operation: 'POST /v1/sessions/validate' });
 * ```
 */
export interface LatchkeyApiErrorInit {
  /** HTTP status of the answer; 0 when there was none. */
  readonly status: number;
  readonly code: LatchkeyApiErrorCode;
  readonly message: string;
  /** Why a token was refused, when the service says. */
  readonly reason?: string | undefined;
  /** The failing call, e.g. `POST /v1/sessions/rotate` (no query string). */
  readonly operation: string;
  /** The underlying error (a network failure), if any. */
  readonly cause?: unknown;
}

/**
 * A call to the session service failed: the service answered with an error,
 * or did not answer in time, or could not be reached. Match on `code` (and
 * `reason`), not on the message. The message and fields never hold the API
 * key nor a session or refresh token.
 *
 * @example
 * ```ts
 * import { LatchkeyApiError } from 'latchkey/client';
 *
 * try {
 *   const { token } = await latchkey.rotateSession(oldToken);
 *   setCookie(token);
 * } catch (err) {
 *   if (err instanceof LatchkeyApiError && err.code === 'session_invalid') {
 *     redirectToSignIn(err.reason); // 'expired-idle', 'revoked', ...
 *   } else throw err;
 * }
 * ```
 */
export class LatchkeyApiError extends Error {
  /** HTTP status of the service's answer, or 0 when there was none (`network`, `timeout`, `aborted`). */
  readonly status: number;
  /** A stable code; see {@link LatchkeyApiErrorCode}. */
  readonly code: LatchkeyApiErrorCode;
  /**
   * Why the token was refused, for `session_invalid` (`'malformed'`,
   * `'unknown'`, `'expired-idle'`, `'expired-absolute'`, `'revoked'`,
   * `'binding-mismatch'`) and `invalid_grant` (`'malformed'`, `'unknown'`,
   * `'expired'`, `'revoked'`, `'reused'`).
   */
  readonly reason: string | undefined;
  /** The failing call, e.g. `'POST /v1/sessions/rotate'`. */
  readonly operation: string;

  constructor(init: LatchkeyApiErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'LatchkeyApiError';
    this.status = init.status;
    this.code = init.code;
    this.reason = init.reason;
    this.operation = init.operation;
  }
}
