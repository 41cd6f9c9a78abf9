/**
 * Opening the store a verb works on, so that every failure to open or reach
 * it ends with exit code 3, a bad URL or a missing driver with 2, and the
 * store is closed however the verb ends.
 *
 * @module
 */
import { LatchkeyError } from '../core/errors.js';
import type { Store } from '../core/store.js';
import { openStore } from '../server/store-url.js';
import { storeError } from './exit.js';
import type { CliIO } from './io.js';

/**
 * Runs `action` on the store `url` names, then closes it. Errors of the
 * driver that are not latchkey's own (a refused connection, an unreadable
 * SQLite file) become "the store could not be reached" (exit code 3).
 */
export async function withStore<T>(url: string, io: CliIO, action: (store: Store) => Promise<T>): Promise<T> {
  let store: Store;
  try {
    // Connection errors that belong to no call are reported by the calls that fail.
    store = await openStore(url, { cwd: io.cwd, onError: () => {} });
  } catch (err) {
    throw err instanceof LatchkeyError ? err : storeError(err);
  }
  try {
    return await action(store);
  } finally {
    await store.close().catch(() => {});
  }
}

/** Runs a store operation, reporting a driver's own error as unreachable store (exit code 3). */
export async function storeCall<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw err instanceof LatchkeyError ? err : storeError(err);
  }
}
