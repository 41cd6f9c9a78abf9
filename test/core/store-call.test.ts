/**
 * The guarded view of a store (every call mapped to StoreUnavailableError
 * and bounded in time), which the service uses for what it reads and writes
 * itself: it must hand every argument through, so that a compare-and-set
 * keeps its version.
 */
import { describe, expect, it } from 'vitest';
import { guardedStore } from '../../src/core/store-call.js';
import { createSessions } from '../../src/core/sessions.js';
import { memoryStore } from '../../src/stores/memory.js';

describe('guardedStore', () => {
  it('passes a compare-and-set version through: a patch at a stale version changes nothing', async () => {
    const store = memoryStore();
    const sessions = createSessions({ store, sweepInterval: false });
    const { session } = await sessions.create({ userId: 'u1', data: { n: 1 } });
    const guarded = guardedStore(store, 1000);
    const now = Date.now();
    expect(await guarded.patch(session.handle, { set: { n: 2 } }, now, session.version + 5)).toEqual({ ok: false, reason: 'conflict' });
    expect((await store.get(session.handle))?.data).toEqual({ n: 1 });
    expect(await guarded.patch(session.handle, { set: { n: 3 } }, now, session.version)).toMatchObject({ ok: true, data: { n: 3 } });
    await sessions.close();
  });
});
