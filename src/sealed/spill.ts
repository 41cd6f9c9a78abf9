/**
 * What sealed mode keeps in a store's key-value facet (`store.kv`,
 * namespace `'sealed'`): the data of sessions too big for their cookies
 * ("spilled"), keyed by a random handle, until the session's absolute
 * deadline; and, keyed by a hash of the user (revocation.ts), revocation
 * epochs. Values are JSON objects.
 *
 * @module
 * @internal
 */
import { StoreUnavailableError } from '../core/errors.js';
import { jsonObject } from '../core/json.js';
import type { SessionData } from '../core/model.js';
import type { Store } from '../core/store.js';

/** The key-value namespace of sealed mode. */
export const SEALED_NAMESPACE = 'sealed';

/** Keeps spilled data under a fresh `handle` until `expiresAt`. */
export async function putSpill(store: Store, call: <T>(op: () => Promise<T>) => Promise<T>, handle: string, data: SessionData, now: number, expiresAt: number): Promise<void> {
  const entry = { value: JSON.stringify(data), expiresAt };
  if (!(await call(() => store.kv.set(SEALED_NAMESPACE, handle, entry, now, 'if-absent')))) {
    throw new StoreUnavailableError('the store refused a fresh spill key; is set() with if-absent atomic?');
  }
}

/** The spilled data under `handle`, or `null` when it is gone (expired, swept) or unreadable. */
export async function readSpill(store: Store, call: <T>(op: () => Promise<T>) => Promise<T>, handle: string, now: number): Promise<SessionData | null> {
  const stored = await call(() => store.kv.get(SEALED_NAMESPACE, handle, now));
  return stored === null ? null : jsonObject(stored.value);
}
