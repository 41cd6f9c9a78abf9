/**
 * A request's objects die with its answer. The Fetch request view was once an
 * object literal with a getter: V8 keeps an object literal's accessor pair in
 * the old generation, so every request's view, its closures and the Request
 * behind them stayed alive until the next full collection, which then came
 * several times a second under load. Measured here as the share of the young
 * generation that survives its scavenges while a Fetch runtime calls the
 * handler (as Bun, Deno and Workers do), against the same handler without
 * latchkey, in this process.
 */
import { GCProfiler } from 'node:v8';
import { Hono } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/sessions.js';
import { latchkey as fetchLatchkey } from '../../src/adapters/fetch.js';
import { latchkey as honoLatchkey, type LatchkeyEnv } from '../../src/adapters/hono.js';
import { memoryStore } from '../../src/stores/memory.js';

const REQUESTS = 20_000;

/** The share of the young generation that survived the scavenges while `handle` answered REQUESTS anonymous requests. */
async function youngSurvival(handle: (request: Request) => Promise<Response>): Promise<number> {
  const run = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      const res = await handle(new Request('https://app.example/anon', { headers: { 'user-agent': 'retention-test' } }));
      if (res.status !== 200) throw new Error(`answered ${res.status}`);
    }
  };
  await run(REQUESTS / 4); // warm-up: JIT, caches
  const profiler = new GCProfiler();
  profiler.start();
  await run(REQUESTS);
  let before = 0;
  let survived = 0;
  for (const gc of profiler.stop().statistics) {
    if (gc.gcType !== 'Scavenge') continue;
    const young = gc.beforeGC.heapSpaceStatistics
      .filter((s) => s.spaceName === 'new_space' || s.spaceName === 'new_large_object_space')
      .reduce((n, s) => n + s.spaceUsedSize, 0);
    // A scavenge frees young objects only: what it did not free survived.
    const freed = gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
    before += young;
    survived += Math.max(0, young - freed);
  }
  if (before === 0) throw new Error('no scavenge ran: raise REQUESTS');
  return survived / before;
}

describe('a request kept alive past its answer', () => {
  const store = memoryStore();
  const sessions = createSessions({ store, sweepInterval: false });
  const http = { sessions, development: true, cookie: { secure: false } };
  afterAll(async () => {
    await sessions.close();
    await store.close();
  });

  it('is not: latchkey/fetch leaves about as much of the young generation alive as the bare handler', async () => {
    const bare = async (): Promise<Response> => new Response('hello visitor');
    const withSession = fetchLatchkey(http)(async (_request, session) => {
      await session.load();
      return new Response(`hello ${session.userId ?? 'visitor'}`);
    });
    const baseline = await youngSurvival(bare);
    const latchkey = await youngSurvival(withSession);
    expect(latchkey, `young-generation survival ${(latchkey * 100).toFixed(1)} % against ${(baseline * 100).toFixed(1)} % bare`).toBeLessThan(
      baseline + 0.08,
    );
  });

  it('is not: the Hono middleware leaves about as much of the young generation alive as a bare Hono app', async () => {
    const bare = new Hono().get('/anon', async (c) => c.text('hello visitor'));
    const app = new Hono<LatchkeyEnv>()
      .use(honoLatchkey(http))
      .get('/anon', async (c) => c.text(`hello ${(await c.var.session.load()).userId ?? 'visitor'}`));
    const baseline = await youngSurvival(async (request) => bare.fetch(request));
    const latchkey = await youngSurvival(async (request) => app.fetch(request));
    expect(latchkey, `young-generation survival ${(latchkey * 100).toFixed(1)} % against ${(baseline * 100).toFixed(1)} % bare`).toBeLessThan(
      baseline + 0.08,
    );
  });
});
