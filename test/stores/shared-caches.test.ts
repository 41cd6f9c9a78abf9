/**
 * The DPoP replay cache and the DBSC challenge store kept in a store's
 * key-value facet (`storeReplayCache`, `storeChallengeStore`): two instances
 * (two store objects, each with its own connection, on one Redis, one
 * PostgreSQL database, one SQLite file) share what they remember, so that a
 * proof accepted by one is a replay at the other and a challenge is taken
 * once in all. Then one DBSC registration through a real site on Redis.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import type { Store } from '../../src/core/store.js';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { storeChallengeStore } from '../../src/http/dbsc/index.js';
import { createDpopVerifier } from '../../src/tokens/dpop.js';
import { storeReplayCache } from '../../src/tokens/dpop-replay.js';
import { memoryStore } from '../../src/stores/memory.js';
import { postgresStore } from '../../src/stores/postgres/index.js';
import { redisStore } from '../../src/stores/redis/index.js';
import { sqliteStore } from '../../src/stores/sqlite.js';
import { dbscClient } from '../support/dbsc-client.js';
import { startDbscSite } from '../support/dbsc-site.js';
import { dpopClient } from '../support/dpop-client.js';
import { redisAvailable, type RedisServer } from '../servers/redis.js';
import { storeServers } from '../helpers/store-servers.js';

const dir = mkdtempSync(join(tmpdir(), 'latchkey-shared-caches-'));
let n = 0;
const servers = storeServers();
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Two store objects over one backend (one object for memory, which lives in one process). */
const backends: Array<[string, () => [Store, Store] | null]> = [
  ['memory', () => {
    const s = memoryStore();
    return [s, s];
  }],
  ['SQLite', () => {
    const path = join(dir, `shared-${n++}.db`);
    return [sqliteStore({ path }), sqliteStore({ path })];
  }],
  ['Redis', () => {
    if (servers.redis === undefined) return null;
    const prefix = `shared${n++}:`;
    return [redisStore({ url: servers.redis.url, prefix }), redisStore({ url: servers.redis.url, prefix })];
  }],
  ['PostgreSQL', () => {
    if (servers.postgres === undefined) return null;
    const tablePrefix = `shared${n++}_`;
    return [postgresStore({ connectionString: servers.postgres.url, tablePrefix }), postgresStore({ connectionString: servers.postgres.url, tablePrefix })];
  }],
];

describe.each(backends)('on %s, shared by two instances', (_name, make) => {
  let stores: [Store, Store] | null = null;
  beforeAll(async () => {
    stores = make();
  });
  afterAll(async () => {
    if (stores !== null) await Promise.all([...new Set(stores)].map((s) => s.close()));
  });

  it('a DPoP proof accepted by one verifier is a replay at the other, and exactly one of 50 concurrent uses wins', async (t) => {
    if (stores === null) return t.skip();
    const [a, b] = stores.map((s) => createDpopVerifier({ replayCache: storeReplayCache(s) })) as [ReturnType<typeof createDpopVerifier>, ReturnType<typeof createDpopVerifier>];
    const client = await dpopClient();
    const url = 'https://api.example.com/resource';
    const proof = await client.proof('GET', url);
    expect((await a.verify({ proof, method: 'GET', url })).ok).toBe(true);
    expect(await b.verify({ proof, method: 'GET', url })).toMatchObject({ ok: false, reason: 'replayed' });
    const raced = await client.proof('GET', url);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).verify({ proof: raced, method: 'GET', url })));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.reason === 'replayed')).toHaveLength(49);
  });

  it('a DBSC challenge put by one instance is taken once, by whichever of 50 concurrent takers, and not after it expires', async (t) => {
    if (stores === null) return t.skip();
    const clock = manualClock();
    const [a, b] = stores.map((s) => storeChallengeStore(s, { clock })) as [ReturnType<typeof storeChallengeStore>, ReturnType<typeof storeChallengeStore>];
    const challenge = 'C'.repeat(43);
    await a.put(challenge, 's.owner-1', clock.now() + 60_000);
    const owners = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).take(challenge)));
    expect(owners.filter((o) => o !== null)).toEqual(['s.owner-1']);
    const late = 'L'.repeat(43);
    await b.put(late, 'r.owner-2', clock.now() + 60_000);
    clock.advance('60s');
    expect(await a.take(late)).toBeNull();
    // Not a challenge latchkey mints: no store call, nothing taken.
    expect(await a.take('not a challenge')).toBeNull();
  });
});

describe('storeReplayCache and storeChallengeStore', () => {
  it('check their options and the store, and fail closed (503) when the store is down', async () => {
    const store = memoryStore();
    expect(() => storeReplayCache(store, { ttl: 5 } as never)).toThrow(/ttl is not an option of storeReplayCache\(\)/);
    expect(() => storeChallengeStore(store, { clock: manualClock(), maxEntries: 1 } as never)).toThrow(/maxEntries is not an option of storeChallengeStore\(\)/);
    const old: Record<string, unknown> = { ...store };
    delete old.kv;
    expect(() => storeReplayCache(old as unknown as Store)).toThrow(/key-value facet store\.kv/);
    const down: Store = { ...store, kv: { ...store.kv, set: () => Promise.reject(new Error('ECONNREFUSED')), take: () => Promise.reject(new Error('ECONNREFUSED')) } };
    await expect(storeReplayCache(down).add('k', Date.now() + 1000)).rejects.toThrow(StoreUnavailableError);
    await expect(storeChallengeStore(down).take('C'.repeat(43))).rejects.toThrow(StoreUnavailableError);
    await store.close();
  });

  it.skipIf(!redisAvailable)('serve a DBSC registration through a real site, its challenge taken from Redis', async () => {
    const store = redisStore({ url: (servers.redis as RedisServer).url, prefix: `dbsc${n++}:` });
    const site = await startDbscSite({ options: { challenges: storeChallengeStore(store) } });
    try {
      const client = await dbscClient();
      expect((await client.request(`${site.origin}/login`)).status).toBe(200);
      const challenge = client.offer?.challenge as string;
      // The challenge lives in the store, under its namespace, until the registration takes it.
      expect(await store.kv.get('dbsc:challenges', challenge, Date.now())).not.toBeNull();
      expect((await client.register(site.origin)).status).toBe(200);
      expect(await store.kv.get('dbsc:challenges', challenge, Date.now())).toBeNull();
      expect((await client.request(`${site.origin}/me`)).status).toBe(200);
    } finally {
      await site.close();
      await store.close();
    }
  });
});
