import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/stores/memory.js';
import { sampleRecord } from '../../src/testing/store-contract.js';

describe('the memory store', () => {
  it('stays within maxSessions, sweeping expired records before dropping the oldest', async () => {
    const store = memoryStore({ maxSessions: 3, now: () => 1000 });
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

  it('refuses every call after close', async () => {
    const store = memoryStore();
    await store.close();
    await expect(store.get(sampleRecord().handle)).rejects.toThrow(/closed/);
    expect(await store.ping()).toBe(false);
  });
});
