/**
 * Following a refresh family's lineage: every refresh leaves a tombstone that
 * names its successor, so any handle the family ever had leads to its live
 * record.
 *
 * @internal
 * @module
 */
import { LatchkeyError, StoreUnavailableError } from '../../core/errors.js';
import type { SessionRecord } from '../../core/model.js';
import { expiryOf } from '../../core/policy.js';
import type { Store } from '../../core/store.js';

/** Longest lineage walked: far more refreshes than fit in one access token's lifetime. */
export const MAX_LINEAGE = 64;

/** A store call whose failures surface as {@link StoreUnavailableError}, as the engine's do. */
export async function storeCall<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof LatchkeyError) throw err;
    throw new StoreUnavailableError('the session store failed; see cause', { cause: err });
  }
}

/** The live, unexpired record the lineage from `handle` leads to, or `null` (revoked, expired, gone). */
export async function liveRecord(store: Store, handle: string, now: number): Promise<SessionRecord | null> {
  let h = handle;
  for (let i = 0; i < MAX_LINEAGE; i++) {
    const r = await storeCall(() => store.get(h));
    if (r === null) return null;
    if (r.status === 'active') return expiryOf(r, now) === null ? r : null;
    if (r.successor === null) return null;
    h = r.successor;
  }
  return null;
}
