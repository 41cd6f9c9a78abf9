/**
 * Reading back JSON that latchkey wrote to a store (sealed mode's spilled
 * data and revocation epochs, the brake log, the security feed): what was
 * written as an object is read back as one, and anything else (damaged,
 * written by another version, not JSON at all) as `null`, never a throw.
 *
 * @module
 * @internal
 */

/**
 * `text` parsed, when it is a JSON object (not an array, not `null`); else `null`.
 *
 * @example
 * ```ts
 * jsonObject('{"key":"a"}'); // { key: 'a' }
 * jsonObject('[1]');         // null
 * jsonObject('{');           // null
 * ```
 */
export function jsonObject(text: string): Readonly<Record<string, unknown>> | null {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
