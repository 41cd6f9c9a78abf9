/**
 * The conformance suite's tests of record kinds: a store keeps each
 * record's kind as given (a tombstone keeps the kind of the record it
 * replaced), lists a user's records of every kind, and revokes a user's
 * records of the kinds asked for only.
 *
 * @module
 * @internal
 */
import assert from 'node:assert/strict';
import type { SessionRecord } from '../../core/model.js';
import { sampleRecord, T0, type ContractContext } from './support.js';

/** Registers the kind tests. */
export function kindTests({ describe, test, n }: ContractContext): void {
  describe('kinds', () => {
    test('keeps each record’s kind, and a tombstone keeps the kind of the record it replaced', async (store) => {
      const refresh = sampleRecord({ kind: 'refresh' });
      const demo = sampleRecord({ kind: 'demo', userId: null });
      const long = sampleRecord({ kind: `a${'-b9'.repeat(10)}c` });
      for (const r of [refresh, demo, long]) await store.create(r);
      assert.deepEqual(await store.get(refresh.handle), refresh);
      assert.deepEqual(await store.get(demo.handle), demo);
      assert.deepEqual(await store.get(long.handle), long);
      const next = sampleRecord({ kind: 'refresh' });
      assert.equal(await store.replace(refresh.handle, 1, next, { status: 'revoked', successor: next.handle, expiresAt: T0 + 60_000 }), true);
      assert.equal((await store.get(refresh.handle))?.kind, 'refresh');
      await store.revoke(demo.handle, T0 + 60_000);
      assert.equal((await store.get(demo.handle))?.kind, 'demo');
      await store.patch(long.handle, { set: { a: 1 } }, T0);
      await store.touch(long.handle, T0 + 1, T0 + 2_000_000, T0 + 2_000_000);
      assert.equal((await store.get(long.handle))?.kind, long.kind);
    });

    test('lists a user’s records of every kind', async (store) => {
      const a = sampleRecord({ kind: 'session', createdAt: T0 + 1 });
      const b = sampleRecord({ kind: 'refresh', createdAt: T0 + 2 });
      const c = sampleRecord({ kind: 'demo', createdAt: T0 + 3 });
      for (const r of [c, a, b]) await store.create(r);
      assert.deepEqual(await store.listUser('user-1'), [a, b, c]);
    });

    test('revokes a user’s records of the kinds named only, and of every kind without kinds', async (store) => {
      const session = sampleRecord({ kind: 'session', createdAt: T0 + 1 });
      const family = sampleRecord({ kind: 'refresh', createdAt: T0 + 2 });
      const demo = sampleRecord({ kind: 'demo', createdAt: T0 + 3 });
      const spared = sampleRecord({ kind: 'session', createdAt: T0 + 4 });
      for (const r of [session, family, demo, spared]) await store.create(r);
      const revoked = await store.revokeUser('user-1', T0 + 60_000, spared.handle, ['session', 'refresh']);
      assert.deepEqual([...revoked].sort(), [session.handle, family.handle].sort());
      assert.equal((await store.get(demo.handle))?.status, 'active');
      assert.deepEqual((await store.listUser('user-1')).map((r) => r.handle), [demo.handle, spared.handle]);
      assert.deepEqual(await store.revokeUser('user-1', T0 + 60_000, undefined, ['nothing-of-that-kind']), []);
      assert.deepEqual((await store.revokeUser('user-1', T0 + 60_000)).sort(), [demo.handle, spared.handle].sort());
      assert.deepEqual(await store.listUser('user-1'), []);
    });

    test(`revokes none of another kind while ${n} records of two kinds are created and revoked at once`, async (store) => {
      const records: SessionRecord[] = Array.from({ length: n }, (_, i) => sampleRecord({ kind: i % 2 === 0 ? 'session' : 'demo', createdAt: T0 + i }));
      await Promise.all(records.map((r) => store.create(r)));
      const [first, second] = await Promise.all([
        store.revokeUser('user-1', T0 + 60_000, undefined, ['session']),
        store.revokeUser('user-1', T0 + 60_000, undefined, ['session']),
      ]);
      const sessions = records.filter((r) => r.kind === 'session').map((r) => r.handle);
      assert.deepEqual([...(first as string[]), ...(second as string[])].sort(), [...sessions].sort());
      const left = await store.listUser('user-1');
      assert.deepEqual(left.map((r) => r.handle).sort(), records.filter((r) => r.kind === 'demo').map((r) => r.handle).sort());
    });
  });
}
