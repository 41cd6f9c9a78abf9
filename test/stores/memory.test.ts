import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/stores/memory.js';
import { ConfigError, StoreUnavailableError } from '../../src/core/errors.js';
import { manualClock } from '../../src/core/clock.js';
import { sampleRecord } from '../../src/testing/store-contract.js';

describe('the memory store', () => {
  it('stays within maxSessions, sweeping expired records before dropping the oldest', async () => {
    const store = memoryStore({ maxSessions: 3, clock: { now: () => 1000 } });
    const expired = sampleRecord({ expiresAt: 500 });
    const oldest = sampleRecord({ expiresAt: 10_000 });
    const middle = sampleRecord({ expiresAt: 10_000 });
    for (const r of [expired, oldest, middle]) await store.create(r);
    const fourth = sampleRecord({ expiresAt: 10_000 });
    await store.create(fourth);
    expect(await store.get(expired.handle)).toBeNull();
    expect(await store.get(oldest.handle)).not.toBeNull();
    const fifth = sampleRecord({ expiresAt: 10_000 });
    await store.create(fifth);
    expect(await store.get(oldest.handle)).toBeNull();
    expect((await store.listUser('user-1')).map((r) => r.handle)).toEqual([middle.handle, fourth.handle, fifth.handle]);
  });

  it('tells expired from live records by the clock it is given, not the wall clock', async () => {
    const clock = manualClock();
    const store = memoryStore({ maxSessions: 2, clock });
    const first = sampleRecord({ expiresAt: clock.now() + 60_000 });
    const second = sampleRecord({ expiresAt: clock.now() + 120_000 });
    await store.create(first);
    await store.create(second);
    clock.advance('90s');
    await store.create(sampleRecord({ expiresAt: clock.now() + 60_000 }));
    // Full: the record whose time is up on the engine's clock goes first, although it is not the oldest by much.
    expect(await store.get(first.handle)).toBeNull();
    expect(await store.get(second.handle)).toEqual(second);
  });

  it('rotates the oldest record of a full store and keeps its tombstone', async () => {
    const store = memoryStore({ maxSessions: 2, clock: { now: () => 1000 } });
    const oldest = sampleRecord({ expiresAt: 10_000 });
    const other = sampleRecord({ expiresAt: 10_000 });
    await store.create(oldest);
    await store.create(other);
    const next = sampleRecord({ expiresAt: 20_000, version: 1 });
    expect(await store.replace(oldest.handle, oldest.version, next, { status: 'rotated', successor: next.handle, expiresAt: 5000 })).toBe(true);
    expect(await store.get(oldest.handle)).toEqual({ ...oldest, status: 'rotated', successor: next.handle, expiresAt: 5000, data: {} });
    expect(await store.get(next.handle)).toEqual(next);
    expect((await store.listUser('user-1')).map((r) => r.handle).sort()).toEqual([next.handle, other.handle].sort());
  });

  it('reuses the room of deleted records without mixing them up', async () => {
    const store = memoryStore();
    const first = Array.from({ length: 200 }, (_, i) => sampleRecord({ userId: `u${i}`, data: { i } }));
    for (const r of first) await store.create(r);
    for (const r of first.slice(0, 150)) await store.delete(r.handle);
    const second = Array.from({ length: 200 }, (_, i) => sampleRecord({ userId: `v${i}`, authTime: null, client: null, data: { j: i } }));
    for (const r of second) await store.create(r);
    for (const r of first.slice(0, 150)) expect(await store.get(r.handle)).toBeNull();
    for (const r of [...first.slice(150), ...second]) expect(await store.get(r.handle)).toEqual(r);
    expect(await store.listUser('u3')).toEqual([]);
    expect(await store.listUser('v3')).toEqual([second[3]]);
  });

  it('refuses unknown options, and now, which clock replaced', () => {
    expect(() => memoryStore({ now: () => 0 } as never)).toThrow(
      new ConfigError('now is no longer an option of memoryStore(): use clock, an object with a now() method (the clock given to createSessions)'),
    );
    expect(() => memoryStore({ maxSesions: 10 } as never)).toThrow(
      new ConfigError('maxSesions is not an option of memoryStore(); did you mean maxSessions? Known options: maxSessions, maxValues, clock'),
    );
    expect(() => memoryStore({ clock: (() => 0) as never })).toThrow(/clock must be an object with a now\(\) method/);
  });

  it('keeps at most maxValues key-value entries: expired ones make room, a live one is never dropped for a new key', async () => {
    const clock = manualClock();
    const store = memoryStore({ clock, maxValues: 3 });
    const now = clock.now();
    await store.kv.set('dpop:jti', 'a', { value: '1', expiresAt: now + 1000 }, now);
    await store.kv.set('dpop:jti', 'b', { value: '1', expiresAt: now + 60_000 }, now);
    await store.kv.set('apikeys', 'c', { value: '1', expiresAt: null }, now);
    // Full, every entry live: the new key is refused (a 503), and nothing is forgotten.
    await expect(store.kv.set('dpop:jti', 'd', { value: '1', expiresAt: now + 60_000 }, now, 'if-absent')).rejects.toThrow(StoreUnavailableError);
    for (const [ns, k] of [['dpop:jti', 'a'], ['dpop:jti', 'b'], ['apikeys', 'c']] as const) expect(await store.kv.get(ns, k, now)).not.toBeNull();
    // An existing key can still be replaced.
    expect(await store.kv.set('apikeys', 'c', { value: '2', expiresAt: null }, now)).toBe(true);
    // Once one has expired, it makes room.
    clock.advance(2000);
    expect(await store.kv.set('dpop:jti', 'd', { value: '1', expiresAt: clock.now() + 60_000 }, clock.now(), 'if-absent')).toBe(true);
    expect(await store.kv.get('dpop:jti', 'a', clock.now())).toBeNull();
    expect(() => memoryStore({ maxValues: 0 })).toThrow(/maxValues must be a positive whole number/);
  });

  it('refuses every call after close', async () => {
    const store = memoryStore();
    await store.close();
    await expect(store.get(sampleRecord().handle)).rejects.toThrow(/closed/);
    expect(await store.ping()).toBe(false);
  });
});
