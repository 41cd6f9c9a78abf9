/**
 * The errors latchkey throws. Every error is a {@link LatchkeyError} with a
 * stable `code`; expected outcomes (an expired session, a malformed token)
 * are returned as values, never thrown. Messages never contain a secret.
 *
 * The rule: a mistake in the options of a factory (`createSessions()`,
 * `createTokens()`, `createClient()`...), unknown option keys included, is a
 * {@link ConfigError}, thrown at construction. An argument of the wrong type
 * given to a call is a {@link LatchkeyTypeError}: a `TypeError`, as the
 * platform and `jose` throw for such mistakes, and still a `LatchkeyError`
 * (`instanceof` says so) with the code `ERR_INVALID_ARGUMENT`. Everything
 * else (a store outage, a session limit, an HTTP refusal, a failed call to
 * the service) has a class and a code of its own; `AnyLatchkeyError` (from
 * `latchkey`) is their union, which narrows by `code`.
 *
 * @module
 */

/**
 * Stable machine-readable codes of every {@link LatchkeyError}, one per class:
 *
 * - `ERR_CONFIG` {@link ConfigError}; `WARN_CONFIG` {@link ConfigWarning};
 * - `ERR_INVALID_ARGUMENT` {@link LatchkeyTypeError};
 * - `ERR_STORE_UNAVAILABLE` {@link StoreUnavailableError};
 * - `ERR_SESSION_LIMIT` {@link SessionLimitError};
 * - `ERR_INVALID_DATA` {@link InvalidDataError}; `ERR_CLOSED` {@link ClosedError};
 * - `ERR_HTTP` `HttpError` and `ERR_HEADERS_SENT` `HeadersSentError` (`latchkey/http`);
 * - `ERR_SERVICE` `LatchkeyApiError` (`latchkey/client`);
 * - `ERR_BROWSER_SESSION` `BrowserSessionError` (`latchkey/browser`).
 *
 * @example
 * ```ts
 * const retryable = (code: LatchkeyErrorCode) => code === 'ERR_STORE_UNAVAILABLE';
 * ```
 */
export type LatchkeyErrorCode =
  | 'ERR_CONFIG'
  | 'WARN_CONFIG'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_STORE_UNAVAILABLE'
  | 'ERR_SESSION_LIMIT'
  | 'ERR_INVALID_DATA'
  | 'ERR_CLOSED'
  | 'ERR_HTTP'
  | 'ERR_HEADERS_SENT'
  | 'ERR_SERVICE'
  | 'ERR_BROWSER_SESSION';

/**
 * Base class of every error latchkey throws.
 *
 * @example
 * ```ts
 * try {
 *   await sessions.create({ userId: 'u1' });
 * } catch (err) {
 *   if (err instanceof LatchkeyError && err.code === 'ERR_SESSION_LIMIT') {
 *     // tell the user to sign out elsewhere first
 *   }
 * }
 * ```
 */
export class LatchkeyError<C extends LatchkeyErrorCode = LatchkeyErrorCode> extends Error {
  /** A stable code; match on it, not on the message. */
  readonly code: C;

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  /**
   * `instanceof LatchkeyError` also holds for a {@link LatchkeyTypeError},
   * which has to extend `TypeError`: every error latchkey throws passes the
   * one check. Subclasses keep the ordinary test.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    return this === LatchkeyError && value instanceof LatchkeyTypeError;
  }
}

/**
 * An argument of the wrong type or shape given to a call (not an option: those
 * are {@link ConfigError}s), such as a `userId` that is not a string. It is a
 * `TypeError` and, through `instanceof`, a {@link LatchkeyError} with the code
 * `ERR_INVALID_ARGUMENT`.
 *
 * @example
 * ```ts
 * try {
 *   await sessions.revokeUser(42 as never);
 * } catch (err) {
 *   err instanceof TypeError; // true
 *   err instanceof LatchkeyError && err.code === 'ERR_INVALID_ARGUMENT'; // true
 * }
 * ```
 */
export class LatchkeyTypeError extends TypeError {
  /** Always `ERR_INVALID_ARGUMENT`. */
  readonly code = 'ERR_INVALID_ARGUMENT' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LatchkeyTypeError';
  }
}

/** A configuration mistake, thrown at construction; the message says how to fix it. */
export class ConfigError extends LatchkeyError<'ERR_CONFIG'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CONFIG', message, options);
  }
}

/**
 * A configuration that works but gives up a protection on purpose (sealed
 * sessions with `revocable: false`). Never thrown: handed once, at
 * construction, to the configured `onError` (else written with
 * `console.warn`).
 *
 * @example
 * ```ts
 * latchkey({ sealed, onError: (e) => (e instanceof ConfigWarning ? log.warn(e.message) : log.error(e)) });
 * ```
 */
export class ConfigWarning extends LatchkeyError<'WARN_CONFIG'> {
  constructor(message: string) {
    super('WARN_CONFIG', message);
  }
}

/**
 * The store could not be reached or did not answer in time. Adapters turn it
 * into `503 Service Unavailable` (fail closed). The driver's error is kept as
 * `cause`.
 */
export class StoreUnavailableError extends LatchkeyError<'ERR_STORE_UNAVAILABLE'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_STORE_UNAVAILABLE', message, options);
  }
}

/** A user already holds the configured maximum of sessions and the policy is `'refuse'`. */
export class SessionLimitError extends LatchkeyError<'ERR_SESSION_LIMIT'> {
  /** The configured maximum. */
  readonly limit: number;
  constructor(limit: number) {
    super('ERR_SESSION_LIMIT', `the user already has the maximum of ${limit} sessions; revoke one first`);
    this.limit = limit;
  }
}

/** Session data that cannot be stored: not JSON-serialisable, or over the size limit. */
export class InvalidDataError extends LatchkeyError<'ERR_INVALID_DATA'> {
  constructor(message: string) {
    super('ERR_INVALID_DATA', message);
  }
}

/** The session manager or store was used after `close()`. */
export class ClosedError extends LatchkeyError<'ERR_CLOSED'> {
  constructor(what: string) {
    super('ERR_CLOSED', `${what} is closed`);
  }
}
