/**
 * The conformance suite's tests of the key-value facet (`store.kv`): exact
 * values, the three modes of `set`, take, delete, expiry against the
 * caller's `now`, namespaces kept apart, bounded lists, and atomicity under
 * concurrency (one winner of a take, of an insert-if-absent, of a
 * compare-and-set).
 *
 * @module
 * @internal
 */
import assert from 'node:assert/strict';
import { LatchkeyTypeError } from '../../core/errors.js';
import type { StoredValue } from '../../core/key-values.js';
import { sampleRecord, T0, type ContractContext } from './support.js';

const NS = 'contract';
const HOUR = 3_600_000;

/** Registers the key-value tests. */
export function valueTests({ describe, test, n }: ContractContext): void {
  describe('key-value facet', () => {
    test('returns exactly the value that was set, with its expiry or none', async (store) => {
      const values: Array<[string, StoredValue]> = [
        ['plain', { value: 'hello', expiresAt: T0 + HOUR }],
        ['empty', { value: '', expiresAt: null }],
        ['json', { value: JSON.stringify({ e: 3, 's:x': T0, name: 'é✓ "quoted"\n' }), expiresAt: T0 + 2 * HOUR }],
        ['é✓ {braces} : and spaces', { value: '\u0001 \uffff 𝄞 \u00ff\u00fe', expiresAt: null }],
        ['k'.repeat(512), { value: 'x'.repeat(70_000), expiresAt: T0 + HOUR }],
      ];
      for (const [key, entry] of values) assert.equal(await store.kv.set(NS, key, entry, T0), true);
      for (const [key, entry] of values) assert.deepEqual(await store.kv.get(NS, key, T0), entry);
      assert.equal(await store.kv.get(NS, 'missing', T0), null);
    });

    test('set always overwrites; if-absent writes only where no live value is; ifValue only over that exact value', async (store) => {
      assert.equal(await store.kv.set(NS, 'k', { value: 'one', expiresAt: null }, T0, 'if-absent'), true);
      assert.equal(await store.kv.set(NS, 'k', { value: 'two', expiresAt: null }, T0, 'if-absent'), false);
      assert.equal(await store.kv.set(NS, 'k', { value: 'three', expiresAt: T0 + HOUR }, T0, { ifValue: 'two' }), false);
      assert.deepEqual(await store.kv.get(NS, 'k', T0), { value: 'one', expiresAt: null });
      assert.equal(await store.kv.set(NS, 'k', { value: 'three', expiresAt: T0 + HOUR }, T0, { ifValue: 'one' }), true);
      assert.deepEqual(await store.kv.get(NS, 'k', T0), { value: 'three', expiresAt: T0 + HOUR });
      assert.equal(await store.kv.set(NS, 'k', { value: 'four', expiresAt: null }, T0), true);
      assert.equal(await store.kv.set(NS, 'k', { value: 'five', expiresAt: null }, T0, 'always'), true);
      assert.deepEqual(await store.kv.get(NS, 'k', T0), { value: 'five', expiresAt: null });
      assert.equal(await store.kv.set(NS, 'absent', { value: 'x', expiresAt: null }, T0, { ifValue: '' }), false);
      assert.equal(await store.kv.get(NS, 'absent', T0), null);
    });

    test('takes a value once, and deletes it, answering whether it was there', async (store) => {
      await store.kv.set(NS, 'once', { value: 'owner-1', expiresAt: T0 + HOUR }, T0);
      assert.deepEqual(await store.kv.take(NS, 'once', T0), { value: 'owner-1', expiresAt: T0 + HOUR });
      assert.equal(await store.kv.take(NS, 'once', T0), null);
      assert.equal(await store.kv.get(NS, 'once', T0), null);
      await store.kv.set(NS, 'gone', { value: 'x', expiresAt: null }, T0);
      assert.equal(await store.kv.delete(NS, 'gone'), true);
      assert.equal(await store.kv.delete(NS, 'gone'), false);
      assert.equal(await store.kv.get(NS, 'gone', T0), null);
    });

    test('treats a value whose time is up as absent, swept or not, and lets an insert-if-absent replace it', async (store) => {
      await store.kv.set(NS, 'old', { value: 'stale', expiresAt: T0 + 1000 }, T0);
      await store.kv.set(NS, 'taken', { value: 'stale', expiresAt: T0 + 1000 }, T0);
      await store.kv.set(NS, 'kept', { value: 'live', expiresAt: T0 + HOUR }, T0);
      // Expired exactly at expiresAt, as records are.
      assert.equal(await store.kv.get(NS, 'old', T0 + 1000), null);
      assert.deepEqual(await store.kv.get(NS, 'old', T0 + 999), { value: 'stale', expiresAt: T0 + 1000 });
      assert.equal(await store.kv.take(NS, 'taken', T0 + 1000), null);
      assert.equal(await store.kv.set(NS, 'old', { value: 'x', expiresAt: null }, T0 + 1000, { ifValue: 'stale' }), false);
      assert.deepEqual((await store.kv.list(NS, 10, T0 + 1000)).map((e) => e.key), ['kept']);
      assert.equal(await store.kv.set(NS, 'old', { value: 'fresh', expiresAt: T0 + HOUR }, T0 + 1000, 'if-absent'), true);
      assert.deepEqual(await store.kv.get(NS, 'old', T0 + 1000), { value: 'fresh', expiresAt: T0 + HOUR });
    });

    test('removes expired values in sweep (or lets the backend forget them), and keeps live ones and records', async (store) => {
      const record = sampleRecord({ expiresAt: T0 + HOUR });
      await store.create(record);
      for (let i = 0; i < 5; i++) await store.kv.set(NS, `due-${i}`, { value: 'x', expiresAt: T0 + 10 + i }, T0);
      await store.kv.set(NS, 'live', { value: 'y', expiresAt: T0 + HOUR }, T0);
      await store.kv.set(NS, 'forever', { value: 'z', expiresAt: null }, T0);
      const swept = await store.sweep(T0 + 100, 100);
      if (!store.capabilities.expiresByItself) assert.equal(swept, 5);
      for (let i = 0; i < 5; i++) assert.equal(await store.kv.get(NS, `due-${i}`, T0 + 100), null);
      assert.deepEqual(await store.kv.get(NS, 'live', T0 + 100), { value: 'y', expiresAt: T0 + HOUR });
      assert.deepEqual(await store.kv.get(NS, 'forever', T0 + 100), { value: 'z', expiresAt: null });
      assert.deepEqual(await store.get(record.handle), record);
    });

    test('keeps namespaces apart, and values apart from records', async (store) => {
      const record = sampleRecord();
      await store.create(record);
      await store.kv.set('apikeys', 'same', { value: 'a', expiresAt: null }, T0);
      await store.kv.set('dbsc:challenges', 'same', { value: 'b', expiresAt: null }, T0);
      await store.kv.set('apikeys', record.handle, { value: 'c', expiresAt: null }, T0);
      assert.deepEqual(await store.kv.get('dbsc:challenges', 'same', T0), { value: 'b', expiresAt: null });
      assert.equal(await store.kv.delete('apikeys', 'same'), true);
      assert.deepEqual(await store.kv.get('dbsc:challenges', 'same', T0), { value: 'b', expiresAt: null });
      assert.deepEqual((await store.kv.list('dbsc:challenges', 10, T0)).map((e) => e.key), ['same']);
      assert.equal(await store.kv.take('other', 'same', T0), null);
      assert.deepEqual(await store.get(record.handle), record);
      assert.equal(await store.delete(record.handle), true);
      assert.deepEqual(await store.kv.get('apikeys', record.handle, T0), { value: 'c', expiresAt: null });
    });

    test('lists the live entries of a namespace, never more than the limit', async (store) => {
      const keys = Array.from({ length: 30 }, (_, i) => `key-${String(i).padStart(2, '0')}`);
      for (const [i, key] of keys.entries()) await store.kv.set(NS, key, { value: `v${i}`, expiresAt: i % 3 === 0 ? null : T0 + HOUR + i }, T0);
      await store.kv.set('elsewhere', 'key-99', { value: 'no', expiresAt: null }, T0);
      await store.kv.set(NS, 'expired', { value: 'no', expiresAt: T0 + 5 }, T0);
      const all = await store.kv.list(NS, 100, T0 + 10);
      assert.deepEqual(all.map((e) => e.key).sort(), keys);
      for (const e of all) assert.deepEqual(await store.kv.get(NS, e.key, T0 + 10), { value: e.value, expiresAt: e.expiresAt });
      const some = await store.kv.list(NS, 10, T0 + 10);
      assert.equal(some.length, 10);
      assert.equal(new Set(some.map((e) => e.key)).size, 10);
      for (const e of some) assert.ok(keys.includes(e.key));
      assert.deepEqual(await store.kv.list('empty', 10, T0), []);
    });

    test(`lets exactly one of ${n} concurrent takes of one key have its value`, async (store) => {
      await store.kv.set(NS, 'challenge', { value: 'owner', expiresAt: T0 + HOUR }, T0);
      const results = await Promise.all(Array.from({ length: n }, () => store.kv.take(NS, 'challenge', T0)));
      assert.equal(results.filter((r) => r !== null).length, 1);
      assert.deepEqual(results.find((r) => r !== null), { value: 'owner', expiresAt: T0 + HOUR });
      assert.equal(await store.kv.get(NS, 'challenge', T0), null);
    });

    test(`lets exactly one of ${n} concurrent inserts-if-absent of one key win, over nothing or over an expired value`, async (store) => {
      for (const before of [null, { value: 'expired', expiresAt: T0 + 1 }]) {
        const key = before === null ? 'jti-new' : 'jti-expired';
        if (before !== null) await store.kv.set(NS, key, before, T0);
        const results = await Promise.all(Array.from({ length: n }, (_, i) => store.kv.set(NS, key, { value: `w${i}`, expiresAt: T0 + HOUR }, T0 + 2, 'if-absent')));
        assert.equal(results.filter(Boolean).length, 1);
        assert.deepEqual(await store.kv.get(NS, key, T0 + 2), { value: `w${results.indexOf(true)}`, expiresAt: T0 + HOUR });
      }
    });

    test(`lets exactly one of ${n} concurrent compare-and-sets from one value win`, async (store) => {
      await store.kv.set(NS, 'epoch', { value: '{"e":1}', expiresAt: T0 + HOUR }, T0);
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) => store.kv.set(NS, 'epoch', { value: `{"e":${i + 2}}`, expiresAt: T0 + HOUR }, T0, { ifValue: '{"e":1}' })),
      );
      assert.equal(results.filter(Boolean).length, 1);
      assert.deepEqual(await store.kv.get(NS, 'epoch', T0), { value: `{"e":${results.indexOf(true) + 2}}`, expiresAt: T0 + HOUR });
    });

    test('refuses a malformed namespace, key, value (a NUL, a lone surrogate: they survive no backend) or limit with LatchkeyTypeError', async (store) => {
      const refused = async (call: () => Promise<unknown>): Promise<void> => {
        await assert.rejects(call, (err: unknown) => err instanceof LatchkeyTypeError);
      };
      await refused(() => store.kv.get('Bad Namespace', 'k', T0));
      await refused(() => store.kv.get('braces{}', 'k', T0));
      await refused(() => store.kv.get(NS, '', T0));
      await refused(() => store.kv.take(NS, 'k'.repeat(513), T0));
      await refused(() => store.kv.set(NS, 'k', { value: 42 as unknown as string, expiresAt: null }, T0));
      await refused(() => store.kv.set(NS, 'k', { value: 'a\u0000b', expiresAt: null }, T0));
      await refused(() => store.kv.set(NS, 'k', { value: 'lone \ud800 surrogate', expiresAt: null }, T0));
      await refused(() => store.kv.get(NS, 'k\u0000', T0));
      await refused(() => store.kv.set(NS, 'k', { value: 'v', expiresAt: Number.NaN }, T0));
      await refused(() => store.kv.set(NS, 'k', { value: 'v', expiresAt: null }, T0, 'sometimes' as never));
      await refused(() => store.kv.list(NS, 0, T0));
      await refused(() => store.kv.list(NS, 10_001, T0));
      assert.equal(await store.kv.get(NS, 'k', T0), null);
    });
  });
}
