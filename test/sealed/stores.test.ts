import { afterEach, describe, expect, it } from 'vitest';
import { createSealedSessions, type CookieWrite } from '../../src/sealed/index.js';
import { manualClock } from '../../src/core/clock.js';
import { memoryStore } from '../../src/stores/memory.js';
import { sqliteStore } from '../../src/stores/sqlite.js';
import type { Store } from '../../src/core/store.js';

const K1 = 'k1-0123456789abcdef0123456789abcdef';

function jar() {
  const cookies = new Map<string, string>();
  return {
    apply(writes: CookieWrite[]) {
      for (const w of writes) {
        if (w.maxAge === 0) cookies.delete(w.name);
        else cookies.set(w.name, w.value);
      }
    },
    read: (name: string) => cookies.get(name),
  };
}

const stores: [string, () => Store][] = [
  ['memory', () => memoryStore()],
  ['sqlite', () => sqliteStore({ path: ':memory:' })],
];

describe.each(stores)('sealed sessions on the %s store', (_, makeStore) => {
  let store: Store | null = null;
  afterEach(async () => {
    await store?.close();
    store = null;
  });

  function setup() {
    store = makeStore();
    const clock = manualClock();
    return { clock, store, sealed: createSealedSessions({ secrets: [K1], clock, store }) };
  }

  it('revokes one session and every session of a user through ordinary records', async () => {
    const { sealed } = setup();
    const a = jar();
    const b = jar();
    const c = jar();
    const sa = await sealed.create({ userId: 'u1' });
    a.apply(await sealed.seal(sa));
    b.apply(await sealed.seal(await sealed.create({ userId: 'u1' })));
    c.apply(await sealed.seal(await sealed.create({ userId: 'u1' })));
    await sealed.revoke(sa);
    expect(await sealed.open(a.read)).toMatchObject({ ok: false, reason: 'revoked' });
    expect((await sealed.open(b.read)).ok).toBe(true);
    await sealed.revokeUser('u1');
    await sealed.revokeUser('u1');
    expect(await sealed.open(b.read)).toMatchObject({ ok: false, reason: 'revoked' });
    expect(await sealed.open(c.read)).toMatchObject({ ok: false, reason: 'revoked' });
  });

  it('spills a big session and reads it back', async () => {
    const { sealed } = setup();
    const browser = jar();
    const data = { notes: 'x'.repeat(20_000), list: Array.from({ length: 100 }, (_, i) => i) };
    browser.apply(await sealed.seal(await sealed.create({ userId: 'u1', data })));
    const opened = await sealed.open(browser.read);
    expect(opened.ok && opened.session.data).toEqual(data);
  });

  it('keeps revocation records out of the user\'s session list', async () => {
    const { sealed, store: s } = setup();
    await sealed.revokeUser('u1');
    expect(await s.listUser('u1')).toEqual([]);
  });
});
