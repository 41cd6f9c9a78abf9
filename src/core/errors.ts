/**
 * The errors latchkey throws. Every error is a {@link LatchkeyError} with a
 * stable `code`; expected outcomes (an expired session, a malformed token)
 * are returned as values, never thrown. Messages never contain a secret.
 *
 * @module
 */

/** Stable machine-readable codes of every {@link LatchkeyError}. */
export type LatchkeyErrorCode =
  | 'ERR_CONFIG'
  | 'WARN_CONFIG'
  | 'ERR_STORE_UNAVAILABLE'
  | 'ERR_SESSION_LIMIT'
  | 'ERR_INVALID_DATA'
  | 'ERR_CLOSED'
  | 'ERR_HTTP'
  | 'ERR_HEADERS_SENT';

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
export class LatchkeyError extends Error {
  /** A stable code; match on it, not on the message. */
  readonly code: LatchkeyErrorCode;

  constructor(code: LatchkeyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A configuration mistake, thrown at construction; the message says how to fix it. */
export class ConfigError extends LatchkeyError {
  constructor(message: string) {
    super('ERR_CONFIG', message);
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
export class ConfigWarning extends LatchkeyError {
  constructor(message: string) {
    super('WARN_CONFIG', message);
  }
}

/**
 * The store could not be reached or did not answer in time. Adapters turn it
 * into `503 Service Unavailable` (fail closed). The driver's error is kept as
 * `cause`.
 */
export class StoreUnavailableError extends LatchkeyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_STORE_UNAVAILABLE', message, options);
  }
}

/** A user already holds the configured maximum of sessions and the policy is `'refuse'`. */
export class SessionLimitError extends LatchkeyError {
  /** The configured maximum. */
  readonly limit: number;
  constructor(limit: number) {
    super('ERR_SESSION_LIMIT', `the user already has the maximum of ${limit} sessions; revoke one first`);
    this.limit = limit;
  }
}

/** Session data that cannot be stored: not JSON-serialisable, or over the size limit. */
export class InvalidDataError extends LatchkeyError {
  constructor(message: string) {
    super('ERR_INVALID_DATA', message);
  }
}

/** The session manager or store was used after `close()`. */
export class ClosedError extends LatchkeyError {
  constructor(what: string) {
    super('ERR_CLOSED', `${what} is closed`);
  }
}
