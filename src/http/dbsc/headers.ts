/**
 * DBSC's header fields, as Structured Fields (RFC 9651) on the way out and
 * as browsers really send them on the way in.
 *
 * Out: `Secure-Session-Registration` (a list of inner lists of algorithm
 * tokens with string parameters) and `Secure-Session-Challenge` (a list of
 * strings with an `id` parameter). In: `Secure-Session-Response` and
 * `Sec-Secure-Session-Id`, which the draft defines as an sf-string but
 * Chrome sends bare; both forms are accepted, anything else is refused.
 *
 * Only the small part of RFC 9651 these fields use lives here: serialising
 * and parsing an sf-string. The test suite checks both against a complete
 * implementation.
 *
 * @module
 * @internal
 */
import type { DbscAlgorithm } from './types.js';
import { LatchkeyTypeError } from '../../core/errors.js';

const SF_STRING_CHARS = /^[\x20-\x7e]*$/;
const SP = /^ +| +$/g;
const JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const SESSION_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Longest `Secure-Session-Response` accepted, in characters: an RS256 proof is well under 2 KiB. */
export const MAX_PROOF_LENGTH = 8192;

/** An sf-string (RFC 9651 section 4.1.6): printable ASCII in quotes, `"` and `\` escaped. */
export function sfString(value: string): string {
  if (!SF_STRING_CHARS.test(value)) throw new LatchkeyTypeError('a structured-field string holds printable ASCII only');
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * The string of a field value that is exactly one sf-string (RFC 9651
 * sections 4.2 and 4.2.5: surrounding spaces allowed, nothing else, no
 * parameters), or `null`.
 */
export function parseSfString(field: string): string | null {
  const input = field.replace(SP, '');
  if (input.charCodeAt(0) !== 0x22) return null;
  let out = '';
  for (let i = 1; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c === 0x5c) {
      const next = input.charCodeAt(++i);
      if (next !== 0x22 && next !== 0x5c) return null;
      out += input[i];
    } else if (c === 0x22) {
      return i === input.length - 1 ? out : null;
    } else if (c < 0x20 || c > 0x7e) {
      return null;
    } else {
      out += input[i];
    }
  }
  return null;
}

/** A field value in the draft's quoted form or Chrome's bare form, trimmed; `null` when absent or unparsable. */
function stringOrBare(field: string | undefined, shape: RegExp, maxLength: number): string | null {
  if (field === undefined || field.length > maxLength + 64) return null;
  const trimmed = field.replace(/^[ \t]+|[ \t]+$/g, '');
  const value = trimmed.startsWith('"') ? parseSfString(trimmed) : trimmed;
  return value !== null && value.length <= maxLength && shape.test(value) ? value : null;
}

/** The proof JWT of a `Secure-Session-Response` header, or `null` when absent or not one compact JWS. */
export function readProofHeader(field: string | undefined): string | null {
  return stringOrBare(field, JWS, MAX_PROOF_LENGTH);
}

/** The session identifier of a `Sec-Secure-Session-Id` header, or `null` when absent or not one of latchkey's. */
export function readSessionIdHeader(field: string | undefined): string | null {
  return stringOrBare(field, SESSION_ID, 128);
}

/** The value of a `Secure-Session-Registration` header offering `algorithms`. */
export function registrationHeader(algorithms: readonly DbscAlgorithm[], params: { path: string; challenge: string; authorization?: string }): string {
  let value = `(${algorithms.join(' ')});path=${sfString(params.path)};challenge=${sfString(params.challenge)}`;
  if (params.authorization !== undefined) value += `;authorization=${sfString(params.authorization)}`;
  return value;
}

/** The value of a `Secure-Session-Challenge` header giving `challenge` to the session `id`. */
export function challengeHeader(challenge: string, id: string): string {
  return `${sfString(challenge)};id=${sfString(id)}`;
}
