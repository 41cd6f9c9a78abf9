/**
 * What the `latchkey` command may print of a credential: the handle of a
 * session or refresh token, the id of an API key, nothing of a JWT. Every
 * line the command writes passes through here (see `run.ts`), so a token
 * pasted where a handle belongs, or echoed by a parser's or a driver's error
 * message, never reaches a terminal or a CI log.
 *
 * @module
 */
import type { TextOutput } from './io.js';
import { printable } from './table.js';

// A session or refresh token is `handle.secret`: 22 base64url characters, a dot, 43 more. The
// secret is matched from 8 characters on, so that a truncated echo is caught too.
const TOKEN = /(?<![A-Za-z0-9_-])([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{8,}/g;
// An API key is `lk_<24 hex id>_<secret>`.
const API_KEY = /\b(lk_[0-9a-f]{24})_[A-Za-z0-9_-]+/g;
// A JWS or JWE in compact form: base64url JSON (`eyJ`), then dot-separated parts.
const JWT = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){1,4}/g;

/** Which credentials {@link redactSecrets} blanks out. */
export interface RedactOptions {
  /**
   * Blank out API keys too. Off only for the standard output of
   * `latchkey apikeys create`, whose last line is the new key, by design.
   * @default true
   */
  readonly apiKeys?: boolean;
}

/**
 * Replaces every credential in `text` by what may be shown of it:
 * `<handle>.***` for a session or refresh token, `lk_<id>_***` for an API key,
 * `[JWT]` for a JWT.
 *
 * @example
 * ```ts
 * redactSecrets('no session AbCdEfGhIjKlMnOpQrStUv.secret…'); // 'no session AbCdEfGhIjKlMnOpQrStUv.***'
 * ```
 */
export function redactSecrets(text: string, options: RedactOptions = {}): string {
  let out = text.replace(JWT, '[JWT]').replace(TOKEN, '$1.***');
  if (options.apiKeys !== false) out = out.replace(API_KEY, '$1_***');
  return out;
}

/**
 * A value that came from the command line, a client or the store, made fit
 * for a message: control characters replaced, credentials redacted, at most
 * `max` characters.
 *
 * @example
 * ```ts
 * `no live session of user ${JSON.stringify(shown(user))}`
 * ```
 */
export function shown(value: string, max = 256): string {
  const text = redactSecrets(printable(value));
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * A stream that redacts credentials from everything written to it. Writes
 * are redacted one by one, so a credential must be written in one piece
 * (as `println` writes whole lines).
 *
 * @example
 * ```ts
 * const stderr = redactingOutput(process.stderr);
 * ```
 */
export function redactingOutput(out: TextOutput, options: RedactOptions = {}): TextOutput {
  return { write: (chunk: string) => out.write(redactSecrets(String(chunk), options)) };
}
