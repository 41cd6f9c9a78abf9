/**
 * The shared counters and event log of the Redis and PostgreSQL stores
 * (`store.counters`, `store.events`), each store opened twice as two
 * instances would: hits are atomic across them, windows slide, rings stay
 * bounded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/core/store.js';
import { openStore } from '../../src/stores/open.js';
import { storeServers } from '../helpers/store-servers.js';

const servers = storeServers();

describe.each(servers.urls)('shared state on %s', (_name, url) => {
  let a: Store | undefined;
  let b: Store | undefined;
  beforeAll(async () => {
    const u = url();
    if (u === null) return;
    a = await openStore(u);
    b = await openStore(u);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('counts concurrent hits from two instances without losing one', async (t) => {
    if (a?.counters === undefined || b?.counters === undefined) return t.skip();
    const now = Date.now();
    const hits = Array.from({ length: 60 }, (_, i) => ((i % 2 === 0 ? a : b) as Store).counters?.hit('race', '198.51.100.1', now + i, 60_000, 1000));
    await Promise.all(hits);
    const times = await (a.counters as NonNullable<Store['counters']>).hit('race', '198.51.100.1', now + 60, 60_000, 1000);
    expect(times).toHaveLength(61);
    expect(times).toEqual([...times].sort((x, y) => x - y));
  });

  it('slides the window, keeps the newest times only, and forgets a key on reset', async (t) => {
    const counters = a?.counters;
    if (counters === undefined) return t.skip();
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) await counters.hit('slide', 'k', t0 + i * 1000, 3000, 3);
    // At t0 + 4000 the hits of t0 and t0 + 1000 left the 3 s window; of the rest, 3 are kept.
    expect(await counters.hit('slide', 'k', t0 + 4500, 3000, 3)).toEqual([t0 + 3000, t0 + 4000, t0 + 4500]);
    expect(await counters.hit('slide', 'other', t0 + 4500, 3000, 3)).toEqual([t0 + 4500]);
    await counters.reset('slide', 'k');
    expect(await counters.hit('slide', 'k', t0 + 4600, 3000, 3)).toEqual([t0 + 4600]);
  });

  it('keeps each ring of the event log at its capacity, newest first, for every instance', async (t) => {
    if (a?.events === undefined || b?.events === undefined) return t.skip();
    const ids: number[] = [];
    for (let i = 0; i < 8; i++) ids.push(await (i % 2 === 0 ? a : b).events!.append('ring-a', JSON.stringify({ n: i }), 5));
    await a.events.append('ring-b', JSON.stringify({ n: 'b' }), 5);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    const seen = await b.events.recent('ring-a', 100);
    expect(seen.map((e) => JSON.parse(e.body).n)).toEqual([7, 6, 5, 4, 3]);
    expect(seen.map((e) => e.id)).toEqual(ids.slice(3).reverse());
    expect((await a.events.recent('ring-b', 100)).map((e) => JSON.parse(e.body).n)).toEqual(['b']);
  });
});
