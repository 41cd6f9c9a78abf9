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
import { openStore } from '../stores/open.js';
import { parseStoreUrl } from '../stores/url.js';
import { resolveOption, type ParsedArgs } from './args.js';
import { CliError, EXIT, storeError } from './exit.js';
import type { CliIO } from './io.js';

/** Options of {@link withStore}. */
export interface WithStoreOptions {
  /**
   * Whether a store that does not exist yet may be created: a missing SQLite
   * file, latchkey's tables in a PostgreSQL database. Verbs that work on the
   * store of a running service refuse to (exit code 3 for a missing SQLite
   * file, 2 for a PostgreSQL schema that is missing or older): a mistyped
   * path or URL would otherwise answer "nothing there" from a fresh, empty
   * store left behind, or make an API key nobody's service reads.
   * `latchkey serve` and `latchkey migrate` create stores.
   * @default true
   */
  readonly create?: boolean;
}

/**
 * The store URL of a verb that works on the store of a running service
 * (`sessions`, `apikeys`, `migrate`): `--store`, `LATCHKEY_STORE`, the config
 * file or the default, as {@link resolveOption} finds it, but never
 * `memory:`. A memory store lives inside the process that opened it: a
 * one-shot command would act on an empty store of its own and lose it when
 * it exits, and no service would ever see the change.
 *
 * @throws {CliError} exit code 2 for `memory:`
 */
export function serviceStore(values: ParsedArgs['values'], io: CliIO, verb: string): string {
  const url = resolveOption(values, io, 'store');
  if (parseStoreUrl(url, io.cwd).kind === 'memory') {
    throw new CliError(
      EXIT.usage,
      `'latchkey ${verb}' cannot work on the memory: store: a memory store lives only inside the process that opened it, ` +
        'so this command would act on an empty store of its own and lose it on exit, unseen by any latchkey serve. ' +
        'Name the store your service uses: --store sqlite:<path>, redis://…, postgres://…',
    );
  }
  return url;
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
    store = await openStore(url, { cwd: io.cwd, onError: () => {}, migrate: options.create !== false });
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
