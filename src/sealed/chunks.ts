/**
 * Splitting a sealed blob across numbered cookies and joining it back.
 *
 * A blob that fits one cookie is its value. A longer blob is cut in parts:
 * the cookie `name` holds `<count>.<part 0>` and the cookies `name.1` …
 * `name.<count-1>` hold the other parts in order. base64url has no `.`, so
 * the two shapes cannot be confused; a missing, re-ordered or altered part
 * makes the joined blob fail authentication.
 *
 * @module
 */

/** One `Set-Cookie` to send: a value to store, or an empty value with `maxAge: 0` to delete the cookie. */
export interface CookieWrite {
  readonly name: string;
  readonly value: string;
  /** Seconds the browser keeps the cookie; `0` deletes it. */
  readonly maxAge: number;
}

/** Reads a request cookie by name; `undefined` when absent. */
export type CookieReader = (name: string) => string | undefined;

/** @internal size limits, normalised */
export interface ChunkLimits {
  /** Budget of one cookie: name, `=`, value and attributes. */
  readonly cookieBytes: number;
  /** What the attributes (`; Path=/; Secure; …`) are assumed to take. */
  readonly attributeBytes: number;
  /** Budget of every part together, name and value, as they travel in the `Cookie` header. */
  readonly totalBytes: number;
  readonly maxChunks: number;
}

/**
 * The name of part `i` of a chunked session (0 is the cookie itself).
 *
 * @example
 * ```ts
 * chunkName('__Host-session', 0); // '__Host-session'
 * chunkName('__Host-session', 2); // '__Host-session.2'
 * ```
 */
export function chunkName(name: string, i: number): string {
  return i === 0 ? name : `${name}.${i}`;
}

/**
 * @internal the values of the parts, or `null` when the blob does not fit
 * the limits. Values are ASCII, so characters are bytes.
 */
export function splitBlob(name: string, blob: string, limits: ChunkLimits): string[] | null {
  if (name.length + 1 + blob.length + limits.attributeBytes <= limits.cookieBytes) return [blob];
  for (let count = 2; count <= limits.maxChunks; count++) {
    const prefix = `${count}.`;
    const parts: string[] = [];
    let at = 0;
    let total = 0;
    for (let i = 0; i < count && at < blob.length; i++) {
      const cname = chunkName(name, i);
      const room = limits.cookieBytes - limits.attributeBytes - cname.length - 1 - (i === 0 ? prefix.length : 0);
      if (room <= 0) return null;
      const part = blob.slice(at, at + room);
      at += part.length;
      const value = i === 0 ? prefix + part : part;
      parts.push(value);
      total += cname.length + 1 + value.length;
    }
    if (at >= blob.length && parts.length === count) return total <= limits.totalBytes ? parts : null;
  }
  return null;
}

const COUNTED = /^(\d{1,2})\.([A-Za-z0-9_-]*)$/;

/**
 * @internal joins the parts, or returns how it failed. Never throws.
 */
export function joinBlob(name: string, read: CookieReader, maxChunks: number): { blob: string; chunks: number } | 'missing' | 'malformed' {
  const first = read(name);
  if (first === undefined || first === '') return 'missing';
  if (!first.includes('.')) return { blob: first, chunks: 1 };
  const m = COUNTED.exec(first);
  const count = m === null ? 0 : Number(m[1]);
  if (m === null || count < 2 || count > maxChunks) return 'malformed';
  let blob = m[2] as string;
  for (let i = 1; i < count; i++) {
    const part = read(chunkName(name, i));
    if (part === undefined || part === '') return 'malformed';
    blob += part;
  }
  return { blob, chunks: count };
}
