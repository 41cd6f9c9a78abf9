/**
 * The Store conformance suite. Every latchkey store runs it, and so can yours:
 * hand it your test runner's `describe` and `it` and a factory that makes a
 * fresh, empty store. Each test gets its own store; no test depends on
 * another's leftovers or order. Assertions use `node:assert/strict`, so any
 * runner that reports thrown errors works (vitest, node:test, mocha, jest).
 *
 * It holds a store to the whole contract: session records (every operation,
 * expiry, tombstones, the user index, concurrency, invalidations), their
 * kinds, and the key-value facet (atomic take and insert-if-absent under
 * concurrency, compare-and-set, expiry, namespaces, bounded lists).
 *
 * @module
 */
import assert from 'node:assert/strict';
import type { Store } from '../core/store.js';
import { kindTests } from './contract/kinds.js';
import { recordTests } from './contract/records.js';
import type { ContractRunner } from './contract/support.js';
import { valueTests } from './contract/values.js';
import { censusTests } from './contract/census.js';

export { sampleRecord } from './contract/support.js';
export type { ContractRunner } from './contract/support.js';

/** Options of {@link storeContract}. */
export interface ContractOptions {
  /** Makes a fresh, empty store for one test. */
  makeStore: () => Store | Promise<Store>;
  /** Parallel operations in the concurrency tests. @default 50 */
  concurrency?: number;
}

/**
 * Registers the conformance tests.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * import { storeContract } from 'latchkey/testing/store-contract';
 * import { myStore } from './my-store.js';
 *
 * storeContract('myStore', { describe, it }, { makeStore: () => myStore({ url: process.env.DB_URL }) });
 * ```
 */
export function storeContract(name: string, runner: ContractRunner, options: ContractOptions): void {
  const { describe, it } = runner;
  const n = options.concurrency ?? 50;

  async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
    const store = await options.makeStore();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  }
  const test = (title: string, fn: (store: Store) => Promise<void>): void => it(title, () => withStore(fn));

  describe(`store contract: ${name}`, () => {
    recordTests({ describe, test, n });
    kindTests({ describe, test, n });
    valueTests({ describe, test, n });
    censusTests({ describe, test, n });

    describe('health', () => {
      test('answers ping while open', async (store) => {
        assert.equal(await store.ping(), true);
      });
    });
  });
}
