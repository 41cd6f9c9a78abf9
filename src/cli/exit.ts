/**
 * Exit codes of the `latchkey` command, and how an error becomes one. These
 * codes are a contract that scripts rely on: keep them stable.
 *
 *  -  0  success
 *  -  1  the operation found nothing to act on (revoking an unknown session
 *        handle or API key id, listing the keys of a missing key file)
 *  -  2  usage or configuration error: an unknown verb or flag, a bad flag
 *        value, a bad store URL, an invalid configuration, a missing driver
 *  -  3  the store could not be opened or reached
 *  - 70  unexpected internal error (EX_SOFTWARE of sysexits.h)
 *
 * `latchkey serve` ends with 0 after a graceful shutdown; a second SIGINT or
 * SIGTERM during the shutdown ends it at once with 128 + the signal number.
 *
 * @module
 */
import { ConfigError, LatchkeyError, LatchkeyTypeError, StoreUnavailableError } from '../core/errors.js';

/** The exit codes of `latchkey`. */
export const EXIT = Object.freeze({
  ok: 0,
  nothing: 1,
  usage: 2,
  store: 3,
  internal: 70,
});

/** An exit code of {@link EXIT}. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * A failure the command reports in one line and maps to an exit code. `help`
 * names the help to point at (a usage error prints it).
 */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly usage: string | undefined;

  constructor(exitCode: ExitCode, message: string, options?: { usage?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.usage = options?.usage;
  }
}

/** A bad verb, flag or argument: exit code 2, with the verb's usage. */
export function usageError(message: string, usage: string): CliError {
  return new CliError(EXIT.usage, message, { usage });
}

/** Nothing to act on: exit code 1. */
export function nothingError(message: string): CliError {
  return new CliError(EXIT.nothing, message);
}

/** The store failed to open or answer: exit code 3. */
export function storeError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  return new CliError(EXIT.store, `the store could not be opened or reached: ${reasonOf(err)}`, { cause: err });
}

/**
 * The exit code and the one-line message of an error. A `StoreUnavailableError`
 * (the engine's "see cause") is completed with its cause's message.
 */
export function classify(err: unknown): { code: ExitCode; message: string } {
  if (err instanceof CliError) return { code: err.exitCode, message: err.message };
  // The command hands the user's arguments to the library: a refused one is a usage error.
  if (err instanceof ConfigError || err instanceof LatchkeyTypeError) return { code: EXIT.usage, message: err.message };
  if (err instanceof StoreUnavailableError) return { code: EXIT.store, message: reasonOf(err) };
  if (err instanceof LatchkeyError) return { code: EXIT.internal, message: err.message };
  // A driver's own error that escaped (the service opening its store, say).
  if (isDriverError(err)) return { code: EXIT.store, message: storeError(err).message };
  return { code: EXIT.internal, message: `internal error: ${reasonOf(err)}` };
}

/** An error's message, followed by its causes' (`a: b: c`), without repeating "see cause". */
export function reasonOf(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    const text = e instanceof Error ? e.message || e.name : String(e);
    const code = e instanceof Error ? (e as NodeJS.ErrnoException).code : undefined;
    const trimmed = text.replace(/;? ?see cause\.?$/, '').trim();
    if (trimmed !== '') parts.push(trimmed);
    else if (typeof code === 'string') parts.push(code);
    // AggregateError (a host with several addresses): the first reason is enough.
    e = e instanceof AggregateError && e.errors.length > 0 ? e.errors[0] : e instanceof Error ? e.cause : undefined;
  }
  return parts.join(': ') || 'unknown error';
}

/** SQLite's errors (`SQLITE_CANTOPEN`... from better-sqlite3 and bun:sqlite, `ERR_SQLITE_ERROR` from node:sqlite) and network failures: the store, not latchkey. */
function isDriverError(err: unknown): boolean {
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  return typeof code === 'string' && /^(SQLITE_|ERR_SQLITE_|ECONNREFUSED$|ECONNRESET$|ENOTFOUND$|EAI_AGAIN$|ETIMEDOUT$|EHOSTUNREACH$|ENETUNREACH$)/.test(code);
}
