/**
 * Every error latchkey throws, as one union that narrows by `code`: the
 * engine's, the HTTP layer's (adapters, token transport, service), the
 * service client's and the browser module's. Each class has exactly one code; an HTTP refusal and a
 * failed service call refine theirs with a `reason` in the one spelling of
 * the HTTP layer.
 *
 * @module
 */
import type {
  ClosedError,
  ConfigError,
  ConfigWarning,
  InvalidDataError,
  LatchkeyTypeError,
  SessionLimitError,
  StoreUnavailableError,
} from './core/errors.js';
import type { BrowserSessionError } from './browser/errors.js';
import type { LatchkeyApiError } from './client/errors.js';
import type { HeadersSentError, HttpError } from './http/errors.js';

/**
 * Any error latchkey throws (or, for `ConfigWarning`, hands to `onError`).
 * A `switch` on `code` narrows it to its class.
 *
 * @example
 * ```ts
 * import { LatchkeyError, type AnyLatchkeyError } from 'latchkey';
 *
 * function describe(err: AnyLatchkeyError): string {
 *   switch (err.code) {
 *     case 'ERR_STORE_UNAVAILABLE': return 'try again shortly';
 *     case 'ERR_SESSION_LIMIT': return `sign out elsewhere first (limit ${err.limit})`;
 *     case 'ERR_HTTP': return `${err.status} ${err.reason}`;
 *     case 'ERR_SERVICE': return `service said ${err.reason}`;
 *     default: return err.message;
 *   }
 * }
 * try { await sessions.create({ userId: 'u1' }); } catch (e) { if (e instanceof LatchkeyError) console.warn(describe(e as AnyLatchkeyError)); }
 * ```
 */
export type AnyLatchkeyError =
  | ConfigError
  | ConfigWarning
  | LatchkeyTypeError
  | StoreUnavailableError
  | SessionLimitError
  | InvalidDataError
  | ClosedError
  | HttpError
  | HeadersSentError
  | LatchkeyApiError
  | BrowserSessionError;
