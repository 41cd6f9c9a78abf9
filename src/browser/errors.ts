/**
 * The error `latchkey/browser` throws when a session request fails:
 * {@link BrowserSessionError}, one of latchkey's error family (a
 * `LatchkeyError` with its own code, `ERR_BROWSER_SESSION`, refined by a
 * `reason`). Options are refused with the family's `ConfigError`. Never
 * carries a token.
 *
 * @module
 */
import { LatchkeyError } from '../core/errors.js';

/**
 * Why a session request failed:
 * - `refresh-failed`: the refresh could not complete (no answer, a 5xx, an
 *   answer without a token pair): the session is still on, try again later;
 * - `sign-out-failed`: the server could not be told about the sign-out;
 *   every tab is signed out all the same.
 */
export type BrowserSessionErrorReason = 'refresh-failed' | 'sign-out-failed';

/**
 * A session request of `latchkey/browser` failed.
 *
 * @example
 * ```ts
 * try {
 *   await session.fetch('/api/orders');
 * } catch (err) {
 *   if (err instanceof BrowserSessionError && err.reason === 'refresh-failed') showOffline();
 * }
 * ```
 */
export class BrowserSessionError extends LatchkeyError<'ERR_BROWSER_SESSION'> {
  /** What failed; match on it, not on the message. */
  readonly reason: BrowserSessionErrorReason;
  /** The HTTP status the server answered, or 0 when there was no answer. */
  readonly status: number;

  constructor(reason: BrowserSessionErrorReason, message: string, status = 0, cause?: unknown) {
    super('ERR_BROWSER_SESSION', message, cause === undefined ? undefined : { cause });
    this.reason = reason;
    this.status = status;
    // Spelt out: a bundler's minifier renames classes, and new.target.name with them.
    this.name = 'BrowserSessionError';
  }
}
