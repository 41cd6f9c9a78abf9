/**
 * Following a refresh family's lineage: every refresh leaves a tombstone that
 * names its successor, so any handle the family ever had leads to its live
 * record.
 *
 * @internal
 * @module
 */
import type { SessionRecord } from '../../core/model.js';
import { expiryOf } from '../../core/policy.js';

/** A bounded, mapped read of any record by handle (tombstones included). */
export type RecordReader = (handle: string) => Promise<SessionRecord | null>;

/** Longest lineage walked: far more refreshes than fit in one access token's lifetime. */
export const MAX_LINEAGE = 64;

/**
 * The live, unexpired record the lineage from `handle` leads to, or `null`
 * (revoked, expired, gone). `visit` is told each handle just before it is read.
 */
export async function liveRecord(read: RecordReader, handle: string, now: number, visit?: (handle: string) => void): Promise<SessionRecord | null> {
  let h = handle;
  for (let i = 0; i < MAX_LINEAGE; i++) {
    visit?.(h);
    const r = await read(h);
    if (r === null) return null;
    if (r.status === 'active') return expiryOf(r, now) === null ? r : null;
    if (r.successor === null) return null;
    h = r.successor;
  }
  return null;
}
