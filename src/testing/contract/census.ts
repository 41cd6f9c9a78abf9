/**
 * The conformance suite's tests of the optional census (`Store.census`):
 * live signed-in sessions counted per user, by prefix, most first; expired,
 * revoked and anonymous records left out; bad arguments refused.
 *
 * @module
 * @internal
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Store, UserCensus } from '../../core/store.js';
import { sampleRecord, T0, type ContractContext } from './support.js';

type Census = NonNullable<Store['census']>;

/** Registers the census tests (skipped by a store without `census`). */
export function censusTests({ describe, test }: ContractContext): void {
  describe('census', () => {
    const censusOf = (store: Store): Census | null => (typeof store.census === 'function' ? store.census.bind(store) : null);

    test('counts live sessions per user by prefix, most first, leaving out expired, revoked and anonymous ones', async (store) => {
      const census = censusOf(store);
      if (census === null) return;
      // Ids unique to this run, so that a store shared with other tests does not change the counts.
      const p = `c${randomUUID().slice(0, 8)}-`;
      const live = (userId: string) => sampleRecord({ userId });
      for (const r of [live(`${p}ann`), live(`${p}ann`), live(`${p}ann`), live(`${p}bob`), live(`${p}bob`), live(`${p}al*ce`), live(`x${p}ann`)]) {
        assert.equal(await store.create(r), true);
      }
      // Past its deadlines: not live.
      await store.create(sampleRecord({ userId: `${p}old`, idleExpiresAt: T0 - 1, expiresAt: T0 - 1 }));
      // Revoked: not live.
      const gone = sampleRecord({ userId: `${p}gone` });
      await store.create(gone);
      await store.revoke(gone.handle, T0 + 60_000);
      await store.create(sampleRecord({ userId: null }));

      const all: UserCensus = await census(T0 + 1, p, 10);
      assert.deepEqual(all.users, [
        { userId: `${p}ann`, sessions: 3 },
        { userId: `${p}bob`, sessions: 2 },
        { userId: `${p}al*ce`, sessions: 1 },
      ]);
      assert.equal(all.sessions, 6);
      assert.equal(all.userCount, 3);
      assert.equal(all.complete, true);

      // A narrower prefix (its glob character taken literally), and a limit that cuts the list but not the totals.
      assert.deepEqual((await census(T0 + 1, `${p}al*`, 10)).users, [{ userId: `${p}al*ce`, sessions: 1 }]);
      assert.deepEqual((await census(T0 + 1, `${p}a*`, 10)).users, []);
      const top = await census(T0 + 1, p, 1);
      assert.deepEqual(top.users, [{ userId: `${p}ann`, sessions: 3 }]);
      assert.equal(top.sessions, 6);
      assert.equal(top.userCount, 3);

      // Later, every one of them is past its idle deadline.
      assert.deepEqual(await census(T0 + 1_800_001, p, 10), { sessions: 0, userCount: 0, users: [], complete: true });
    });

    test('refuses a prefix or a limit out of bounds with a TypeError', async (store) => {
      const census = censusOf(store);
      if (census === null) return;
      await assert.rejects(() => census(T0, 'x'.repeat(257), 10), TypeError);
      await assert.rejects(() => census(T0, '', 0), TypeError);
      await assert.rejects(() => census(T0, '', 1001), TypeError);
      await assert.rejects(() => census(T0, 42 as unknown as string, 10), TypeError);
    });
  });
}
