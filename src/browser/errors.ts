/**
 * The one error `latchkey/browser` throws. Like the service client's
 * `LatchkeyApiError`, it stands alone (the browser module imports nothing),
 * with a stable `code` spelt as latchkey's other errors spell theirs.
 * Never carries a token.
 *
 * @module
 */

/**
 * - `ERR_CONFIG`: an option is missing, unknown or of the wrong type
 *   (thrown by `createBrowserSession()`), or a method needs an option that
 *   was not given (`signOutEverywhere()` without `logoutEverywhereUrl`).
 * - `ERR_REFRESH_FAILED`: the refresh could not complete (network failure,
 *   5xx): the session is still on, try again later.
 * - `ERR_SIGN_OUT_FAILED`: the server could not be told about the sign-out;
 *   every tab is signed out all the same.
 */
export type BrowserSessionErrorCode = 'ERR_CONFIG' | 'ERR_REFRESH_FAILED' | 'ERR_SIGN_OUT_FAILED';

/**
 * An error of `latchkey/browser`.
 *
 * @example
 * ```ts
 * try {
 *   await session.fetch('/api/orders');
 * } catch (err) {
 *   if (err instanceof BrowserSessionError && err.code === 'ERR_REFRESH_FAILED') showOffline();
 * }
 * ```
 */
export class BrowserSessionError extends Error {
  /** A stable code; match on it, not on the message. */
  readonly code: BrowserSessionErrorCode;
  /** The HTTP status the server answered, or 0 when there was no answer (or for `ERR_CONFIG`). */
  readonly status: number;

  constructor(code: BrowserSessionErrorCode, message: string, status = 0, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.status = status;
    this.name = 'BrowserSessionError';
  }
}
