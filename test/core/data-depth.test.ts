/**
 * Session data nests at most MAX_DATA_DEPTH levels. Deeper data used to be
 * stored when JSON.stringify could still walk it, and then broke whatever
 * serialised it again a few stack frames further down (the service answered
 * 500 to the sign-in that had just created the session, and to every
 * validation of it after).
 */
import { describe, expect, it } from 'vitest';
import { MAX_DATA_DEPTH } from '../../src/core/arguments.js';
import { InvalidDataError } from '../../src/core/errors.js';
import { createSessions } from '../../src/core/sessions.js';
import { createSealedSessions } from '../../src/sealed/sealed-sessions.js';
import { memoryStore } from '../../src/stores/memory.js';
import { testStore } from '../adapters/support/store.js';

/** `{ a: [[…]] }`, `levels` objects and arrays deep in all. */
const nested = (levels: number): Record<string, unknown> => ({ a: JSON.parse(`${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}`) as unknown });

describe('session data depth', () => {
  it(`takes data ${MAX_DATA_DEPTH} levels deep and refuses a level more, in create and patch, storing nothing`, async () => {
    const store = testStore(memoryStore());
    const sessions = createSessions({ store, sweepInterval: false });
    const created = await sessions.create({ userId: 'u1', data: nested(MAX_DATA_DEPTH) });
    expect(created.session.data).toEqual(nested(MAX_DATA_DEPTH));
    const writes = store.writes;
    for (const levels of [MAX_DATA_DEPTH + 1, 3000, 100_000]) {
      await expect(sessions.create({ userId: 'u1', data: nested(levels) }), `${levels} levels`).rejects.toBeInstanceOf(InvalidDataError);
      await expect(sessions.patch(created.session.handle, { set: nested(levels) }), `${levels} levels`).rejects.toBeInstanceOf(InvalidDataError);
    }
    expect(store.writes).toBe(writes);
    await sessions.close();
  });

  it('is bounded the same way in sealed mode', async () => {
    const sealed = createSealedSessions({ secrets: ['data-depth-sealing-secret-0123456789abcdef'], revocable: false });
    await expect(sealed.create({ data: nested(MAX_DATA_DEPTH + 1) })).rejects.toBeInstanceOf(InvalidDataError);
    expect((await sealed.create({ data: nested(MAX_DATA_DEPTH) })).data).toEqual(nested(MAX_DATA_DEPTH));
  });
});
