/**
 * The wire format of invalidation messages shared by the Redis and PostgreSQL
 * stores: `{"handles":[...]}` (and, from other writers, an optional
 * `"userId"`), as JSON text.
 *
 * @module
 * @internal
 */
import type { Invalidation } from '../core/store.js';

/** A message naming these handles. @internal */
export function encodeInvalidation(handles: readonly string[]): string {
  return JSON.stringify({ handles });
}

/** A message as received; anything unreadable means "forget everything" (`{}`), never a crash. @internal */
export function decodeInvalidation(text: string): Invalidation {
  try {
    const m = JSON.parse(text) as unknown;
    if (m === null || typeof m !== 'object') return {};
    const handles = (m as { handles?: unknown }).handles;
    const userId = (m as { userId?: unknown }).userId;
    const out: { handles?: string[]; userId?: string } = {};
    if (Array.isArray(handles)) out.handles = handles.filter((h): h is string => typeof h === 'string');
    if (typeof userId === 'string') out.userId = userId;
    return out;
  } catch {
    return {};
  }
}
