/**
 * Opening the store a verb works on, so that every failure to open or reach
 * it ends with exit code 3, a bad URL or a missing driver with 2, and the
 * store is closed however the verb ends.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { LatchkeyError } from '../core/errors.js';
import type { Store } from '../core/store.js';
import { openStore, parseStoreUrl } from '../server/store-url.js';
import { CliError, EXIT, storeError } from './exit.js';
import type { CliIO } from './io.js';

/** Options of {@link withStore}. */
export interface WithStoreOptions {
  /**
   * Whether a missing SQLite file may be created. Verbs that only read or
   * delete refuse one (exit code 3): a mistyped path would otherwise answer
   * "nothing there" from a fresh, empty database left behind.
   * @default true
   */
  readonly create?: boolean;
}

/**
 * Runs `action` on the store `url` names, then closes it. Errors of the
 * driver that are not latchkey's own (a refused connection, an unreadable
 * SQLite file) become "the store could not be reached" (exit code 3).
 */
export async function withStore<T>(url: string, io: CliIO, action: (store: Store) => Promise<T>, options: WithStoreOptions = {}): Promise<T> {
  if (options.create === false) {
    const where = parseStoreUrl(url, io.cwd);
    if (where.kind === 'sqlite' && where.path !== ':memory:' && !existsSync(where.path)) {
      throw new CliError(EXIT.store, `no database at ${where.path} (start latchkey serve or run latchkey migrate to create it)`);
    }
  }
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
