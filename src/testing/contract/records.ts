/**
 * The conformance suite's tests of session records: every operation, expiry
 * and tombstones, the user index, concurrency, invalidations.
 *
 * @module
 * @internal
 */
import assert from 'node:assert/strict';
import type { SessionRecord } from '../../core/model.js';
import type { Store } from '../../core/store.js';
import { parseUserAgent } from '../../core/device.js';
import { sampleRecord, T0, until, type ContractContext } from './support.js';

/** Registers the record tests. */
export function recordTests({ describe, test, n }: ContractContext): void {
  describe('create and get', () => {
    test('returns exactly the record that was created', async (store) => {
      const r = sampleRecord({ data: { cart: [1, 2, { sku: 'é✓' }], n: 1.5, flag: false, none: null }, authLevel: 2 });
      assert.equal(await store.create(r), true);
      assert.deepEqual(await store.get(r.handle), r);
    });

    test('keeps an anonymous record without client or auth time', async (store) => {
      const r = sampleRecord({ userId: null, authTime: null, client: null });
      await store.create(r);
      assert.deepEqual(await store.get(r.handle), r);
    });

    test('keeps a client that has only an IP or only a user agent', async (store) => {
      const a = sampleRecord({ client: { ip: '2001:db8::1', userAgent: null, device: parseUserAgent(null) } });
      const b = sampleRecord({ client: { ip: null, userAgent: 'curl/8.5.0', device: parseUserAgent('curl/8.5.0') } });
      await store.create(a);
      await store.create(b);
      assert.deepEqual(await store.get(a.handle), a);
      assert.deepEqual(await store.get(b.handle), b);
    });

    test('refuses a second record with the same handle and keeps the first', async (store) => {
      const r = sampleRecord({ data: { first: true } });
      await store.create(r);
      assert.equal(await store.create({ ...r, data: { first: false }, userId: 'intruder' }), false);
      assert.deepEqual(await store.get(r.handle), r);
      assert.deepEqual(await store.listUser('intruder'), []);
    });

    test('answers null for an unknown handle', async (store) => {
      assert.equal(await store.get(sampleRecord().handle), null);
    });

    test('hands out records that cannot change what is stored', async (store) => {
      const r = sampleRecord({ data: { a: { b: 1 } } });
      await store.create(r);
      const got = (await store.get(r.handle)) as SessionRecord;
      try {
        (got.data.a as Record<string, unknown>).b = 2;
      } catch {
        // frozen: fine
      }
      assert.deepEqual((await store.get(r.handle))?.data, { a: { b: 1 } });
    });
  });

  describe('touch', () => {
    test('moves only the idle deadline and last-seen time', async (store) => {
      const r = sampleRecord({ data: { k: 1 } });
      await store.create(r);
      assert.equal(await store.touch(r.handle, T0 + 60_000, T0 + 1_860_000, T0 + 1_860_000), true);
      assert.deepEqual(await store.get(r.handle), {
        ...r,
        lastSeenAt: T0 + 60_000,
        idleExpiresAt: T0 + 1_860_000,
        expiresAt: T0 + 1_860_000,
      });
    });

    test('does nothing to a missing or revoked record', async (store) => {
      const r = sampleRecord();
      assert.equal(await store.touch(r.handle, T0, T0 + 1, T0 + 1), false);
      await store.create(r);
      await store.revoke(r.handle, T0 + 10);
      assert.equal(await store.touch(r.handle, T0 + 5, T0 + 999_999, T0 + 999_999), false);
      assert.equal((await store.get(r.handle))?.status, 'revoked');
    });
  });

  describe('patch', () => {
    test('sets and removes only the keys named and bumps the version', async (store) => {
      const r = sampleRecord({ data: { keep: 1, drop: 2, change: 3 } });
      await store.create(r);
      const res = await store.patch(r.handle, { set: { change: 30, add: [4] }, unset: ['drop'] }, T0);
      assert.deepEqual(res, { ok: true, version: 2, data: { keep: 1, change: 30, add: [4] } });
      const got = await store.get(r.handle);
      assert.deepEqual(got?.data, { keep: 1, change: 30, add: [4] });
      assert.equal(got?.version, 2);
    });

    test('applies a compare-and-set only at the expected version', async (store) => {
      const r = sampleRecord({ data: { v: 0 } });
      await store.create(r);
      assert.deepEqual(await store.patch(r.handle, { set: { v: 1 } }, T0, 2), { ok: false, reason: 'conflict' });
      assert.deepEqual((await store.get(r.handle))?.data, { v: 0 });
      assert.equal((await store.patch(r.handle, { set: { v: 1 } }, T0, 1)).ok, true);
      assert.deepEqual(await store.patch(r.handle, { set: { v: 2 } }, T0, 1), { ok: false, reason: 'conflict' });
      assert.deepEqual((await store.get(r.handle))?.data, { v: 1 });
    });

    test('answers not-found for a missing or revoked record', async (store) => {
      const r = sampleRecord();
      assert.deepEqual(await store.patch(r.handle, { set: { a: 1 } }, T0), { ok: false, reason: 'not-found' });
      await store.create(r);
      await store.revoke(r.handle, T0 + 10);
      assert.deepEqual(await store.patch(r.handle, { set: { a: 1 } }, T0), { ok: false, reason: 'not-found' });
    });

    test('answers not-found for a record whose time is up, even before any sweep, and writes nothing', async (store) => {
      const r = sampleRecord({ data: { v: 0 }, expiresAt: T0 + 1000 });
      await store.create(r);
      // Expired exactly at expiresAt, as sweep() counts it.
      assert.deepEqual(await store.patch(r.handle, { set: { v: 1 } }, T0 + 1000), { ok: false, reason: 'not-found' });
      assert.deepEqual(await store.patch(r.handle, { set: { v: 1 }, unset: ['v'] }, T0 + 60_000, 1), { ok: false, reason: 'not-found' });
      assert.deepEqual(await store.get(r.handle), r);
      // A moment earlier, the same record takes the change.
      assert.deepEqual(await store.patch(r.handle, { set: { v: 2 } }, T0 + 999, 1), { ok: true, version: 2, data: { v: 2 } });
    });

    test(`loses no key when ${n} patches to different keys run at once`, async (store) => {
      const r = sampleRecord({ data: { base: true } });
      await store.create(r);
      const results = await Promise.all(Array.from({ length: n }, (_, i) => store.patch(r.handle, { set: { [`k${i}`]: i } }, T0)));
      assert.ok(results.every((x) => x.ok));
      const got = await store.get(r.handle);
      const expected: Record<string, unknown> = { base: true };
      for (let i = 0; i < n; i++) expected[`k${i}`] = i;
      assert.deepEqual(got?.data, expected);
      assert.equal(got?.version, 1 + n);
    });

    test(`lets exactly one of ${n} concurrent compare-and-sets at one version win`, async (store) => {
      const r = sampleRecord();
      await store.create(r);
      const results = await Promise.all(Array.from({ length: n }, (_, i) => store.patch(r.handle, { set: { winner: i } }, T0, 1)));
      const winners = results.filter((x) => x.ok);
      assert.equal(winners.length, 1);
      assert.equal(results.filter((x) => !x.ok && x.reason === 'conflict').length, n - 1);
      assert.deepEqual((await store.get(r.handle))?.data, winners[0]?.ok === true ? winners[0].data : null);
    });
  });

  describe('replace (rotation)', () => {
    test('inserts the new record and turns the old into a tombstone in one step', async (store) => {
      const old = sampleRecord({ data: { cart: 1 } });
      await store.create(old);
      const next = sampleRecord({ data: { cart: 1 }, issuedAt: T0 + 5 });
      const ok = await store.replace(old.handle, 1, next, { status: 'rotated', successor: next.handle, expiresAt: T0 + 30_000 });
      assert.equal(ok, true);
      assert.deepEqual(await store.get(next.handle), next);
      const tomb = await store.get(old.handle);
      assert.equal(tomb?.status, 'rotated');
      assert.equal(tomb?.successor, next.handle);
      assert.equal(tomb?.expiresAt, T0 + 30_000);
      assert.equal(tomb?.secretHash, old.secretHash);
      assert.deepEqual((await store.listUser('user-1')).map((x) => x.handle), [next.handle]);
    });

    test('never lets a tombstone outlive the record it replaced', async (store) => {
      const old = sampleRecord({ expiresAt: T0 + 1000 });
      await store.create(old);
      await store.replace(old.handle, 1, sampleRecord(), { status: 'revoked', successor: null, expiresAt: T0 + 999_999 });
      assert.equal((await store.get(old.handle))?.expiresAt, T0 + 1000);
    });

    test('changes nothing when the version moved on or the old record is gone', async (store) => {
      const old = sampleRecord();
      await store.create(old);
      await store.patch(old.handle, { set: { x: 1 } }, T0);
      const next = sampleRecord();
      assert.equal(await store.replace(old.handle, 1, next, { status: 'revoked', successor: null, expiresAt: T0 }), false);
      assert.equal(await store.get(next.handle), null);
      assert.equal((await store.get(old.handle))?.status, 'active');
      const ghost = sampleRecord();
      assert.equal(await store.replace(ghost.handle, 1, sampleRecord(), { status: 'revoked', successor: null, expiresAt: T0 }), false);
    });

    test(`lets exactly one of ${n} concurrent rotations of one record win`, async (store) => {
      const old = sampleRecord();
      await store.create(old);
      const nexts = Array.from({ length: n }, () => sampleRecord());
      const results = await Promise.all(
        nexts.map((next) => store.replace(old.handle, 1, next, { status: 'rotated', successor: next.handle, expiresAt: T0 + 1000 })),
      );
      assert.equal(results.filter(Boolean).length, 1);
      const winner = nexts[results.indexOf(true)] as SessionRecord;
      const live = await store.listUser('user-1');
      assert.deepEqual(live.map((x) => x.handle), [winner.handle]);
      assert.equal((await store.get(old.handle))?.successor, winner.handle);
      for (const loser of nexts.filter((x) => x !== winner)) assert.equal(await store.get(loser.handle), null);
    });
  });

  describe('revoke and delete', () => {
    test('revoke marks the record, shortens its life and drops it from the user list', async (store) => {
      const r = sampleRecord({ data: { secret: 'x' } });
      await store.create(r);
      assert.equal(await store.revoke(r.handle, T0 + 60_000), true);
      const got = await store.get(r.handle);
      assert.equal(got?.status, 'revoked');
      assert.equal(got?.expiresAt, T0 + 60_000);
      assert.equal(got?.secretHash, r.secretHash);
      assert.deepEqual(await store.listUser('user-1'), []);
      assert.equal(await store.revoke(r.handle, T0), false);
    });

    test('revokeUser revokes every active record of that user but the one spared', async (store) => {
      const keep = sampleRecord({ createdAt: T0 + 1 });
      const a = sampleRecord({ createdAt: T0 + 2 });
      const b = sampleRecord({ createdAt: T0 + 3 });
      const other = sampleRecord({ userId: 'user-2' });
      for (const r of [keep, a, b, other]) await store.create(r);
      const revoked = await store.revokeUser('user-1', T0 + 60_000, keep.handle);
      assert.deepEqual([...revoked].sort(), [a.handle, b.handle].sort());
      assert.deepEqual((await store.listUser('user-1')).map((x) => x.handle), [keep.handle]);
      assert.deepEqual((await store.listUser('user-2')).map((x) => x.handle), [other.handle]);
      assert.equal((await store.get(a.handle))?.status, 'revoked');
      assert.deepEqual(await store.revokeUser('user-1', T0, keep.handle), []);
      assert.deepEqual(await store.revokeUser('user-1', T0), [keep.handle]);
      assert.deepEqual(await store.revokeUser('nobody', T0), []);
    });

    test('delete removes the record and its user-list entry', async (store) => {
      const r = sampleRecord();
      await store.create(r);
      assert.equal(await store.delete(r.handle), true);
      assert.equal(await store.get(r.handle), null);
      assert.deepEqual(await store.listUser('user-1'), []);
      assert.equal(await store.delete(r.handle), false);
    });
  });

  describe('listUser', () => {
    test("lists one user's active records, oldest first", async (store) => {
      const later = sampleRecord({ createdAt: T0 + 2000 });
      const earlier = sampleRecord({ createdAt: T0 + 1000 });
      const anon = sampleRecord({ userId: null });
      const stranger = sampleRecord({ userId: 'user-1-but-not-quite' });
      for (const r of [later, earlier, anon, stranger]) await store.create(r);
      assert.deepEqual(await store.listUser('user-1'), [earlier, later]);
    });
  });

  describe('sweep', () => {
    test('removes records whose time is up and keeps the rest', async (store) => {
      const gone = sampleRecord({ expiresAt: T0 + 10 });
      const edge = sampleRecord({ expiresAt: T0 + 20 });
      const alive = sampleRecord({ expiresAt: T0 + 21 });
      const tomb = sampleRecord();
      for (const r of [gone, edge, alive, tomb]) await store.create(r);
      await store.revoke(tomb.handle, T0 + 15);
      assert.equal(await store.sweep(T0 + 20, 100), 3);
      assert.equal(await store.get(gone.handle), null);
      assert.equal(await store.get(edge.handle), null);
      assert.equal(await store.get(tomb.handle), null);
      assert.deepEqual(await store.get(alive.handle), alive);
      assert.deepEqual((await store.listUser('user-1')).map((x) => x.handle), [alive.handle]);
    });

    test('removes at most the limit per call', async (store) => {
      for (let i = 0; i < 25; i++) await store.create(sampleRecord({ expiresAt: T0 + i }));
      assert.equal(await store.sweep(T0 + 100, 10), 10);
      assert.equal(await store.sweep(T0 + 100, 10), 10);
      assert.equal(await store.sweep(T0 + 100, 10), 5);
      assert.equal(await store.sweep(T0 + 100, 10), 0);
    });
  });

  describe('invalidations', () => {
    test('announces, to a live subscription, every write that changes what a validation answers (if the store declares it)', async (store) => {
      if (store.capabilities.invalidations !== true) return;
      assert.equal(typeof store.subscribe, 'function', 'a store that declares capabilities.invalidations must implement subscribe()');
      const named = new Set<string>();
      const users = new Set<string>();
      let live = false;
      const stop = await (store.subscribe as NonNullable<Store['subscribe']>)({
        invalidate: (m) => {
          for (const h of m.handles ?? []) named.add(h);
          if (m.userId !== undefined) users.add(m.userId);
        },
        status: (up) => {
          live = up;
        },
      });
      try {
        await until(() => live, 'the subscription never became live');
        const [patched, rotated, revoked, deleted, mine, mine2] = Array.from({ length: 6 }, (_, i) =>
          sampleRecord(i >= 4 ? { userId: 'user-announced' } : {}),
        ) as [SessionRecord, SessionRecord, SessionRecord, SessionRecord, SessionRecord, SessionRecord];
        for (const r of [patched, rotated, revoked, deleted, mine, mine2]) await store.create(r);
        await store.patch(patched.handle, { set: { a: 1 } }, T0);
        await store.replace(rotated.handle, 1, sampleRecord(), { status: 'rotated', successor: null, expiresAt: T0 + 1000 });
        await store.revoke(revoked.handle, T0 + 1000);
        await store.delete(deleted.handle);
        await store.revokeUser('user-announced', T0 + 1000);
        const heard = (h: string): boolean => named.has(h) || users.has('user-announced');
        await until(
          () => [patched, rotated, revoked, deleted].every((r) => named.has(r.handle)) && heard(mine.handle) && heard(mine2.handle),
          `not every write was announced (heard: ${[...named].length} handles)`,
        );
      } finally {
        await stop();
      }
    });
  });
}
