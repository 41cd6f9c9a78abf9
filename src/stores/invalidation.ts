/**
 * The wire format of invalidation messages shared by the Redis and PostgreSQL
 * stores: `{"handles":[...]}` (and, from other writers, an optional
 * `"userId"`; `{"values":["apikeys:<id>"]}` for values of the key-value
 * facet), as JSON text.
 *
 * @module
 * @internal
 */
import type { Invalidation } from '../core/store.js';

/** A message naming these handles. @internal */
export function encodeInvalidation(handles: readonly string[]): string {
  return JSON.stringify({ handles });
}

/** Any message, as JSON text (`announce()`). @internal */
export function encodeMessage(message: Invalidation): string {
  const { handles, userId, values, brakes } = message;
  return JSON.stringify({ handles, userId, values, brakes });
}

/** A message as received; anything unreadable means "forget everything" (`{}`), never a crash. @internal */
export function decodeInvalidation(text: string): Invalidation {
  try {
    const m = JSON.parse(text) as unknown;
    if (m === null || typeof m !== 'object') return {};
    const handles = (m as { handles?: unknown }).handles;
    const userId = (m as { userId?: unknown }).userId;
    const values = (m as { values?: unknown }).values;
    const brakes = (m as { brakes?: unknown }).brakes;
    const out: { handles?: string[]; userId?: string; values?: string[]; brakes?: Array<{ name: string; key: string; until: number }> } = {};
    if (Array.isArray(values)) out.values = values.filter((v): v is string => typeof v === 'string');
    if (Array.isArray(brakes)) {
      out.brakes = brakes.filter(
        (b): b is { name: string; key: string; until: number } =>
          b !== null && typeof b === 'object' && typeof b.name === 'string' && typeof b.key === 'string' && typeof b.until === 'number' && Number.isFinite(b.until),
      );
    }
    if (Array.isArray(handles)) out.handles = handles.filter((h): h is string => typeof h === 'string');
    if (typeof userId === 'string') out.userId = userId;
    return out;
  } catch {
    return {};
  }
}
