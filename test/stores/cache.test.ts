/**
 * Several engine instances with the in-process cache on, sharing one real
 * Redis (standalone) or PostgreSQL: what one instance changes, the others
 * stop serving from their caches within milliseconds (pub/sub, LISTEN/NOTIFY),
 * and never later than the staleness bound, even when the subscription is cut.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessions, type Sessions, type SessionsOptions } from '../../src/core/sessions.js';
import { StoreUnavailableError } from '../../src/core/errors.js';
import type { Store } from '../../src/core/store.js';
import { postgresStore } from '../../src/stores/postgres/index.js';
import { redisStore } from '../../src/stores/redis/index.js';
import { postgresMissing } from '../servers/postgres.js';
import { redisAvailable, startRedisCluster, type RedisCluster } from '../servers/redis.js';
import { postgresWithSubscriptions, redisWithSubscriptions } from '../helpers/subscriptions.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Counts the store reads of one instance, to tell a cached answer from a store read. */
function counted(store: Store): Store & { reads: number } {
  const wrapped = { ...store, reads: 0 };
  wrapped.get = (handle) => {
    wrapped.reads++;
    return store.get(handle);
  };
  return wrapped;
}

/** Polls `check` every 2 ms until it holds; resolves how long that took, or Infinity after `limitMs`. */
async function within(limitMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > limitMs) return Infinity;
    await sleep(2);
  }
}

interface Backend {
  /** A new store on the shared backend, for instance `name` of test `space`. */
  open(space: string): Store;
  /** Cuts every invalidation subscription on the server side. */
  cutSubscriptions(): Promise<void>;
  /** Takes the server down hard; resolves the function that brings it back. */
  outage?: () => Promise<() => Promise<void>>;
}

/** `outage`: whether the backend can take its server down and back (the cluster case cannot, yet). */
function multiInstance(name: string, backend: () => Backend, { outage: canFail = true }: { outage?: boolean } = {}): void {
  let n = 0;
  const instances: Sessions[] = [];
  const stores: Store[] = [];
  const pair = (cache: SessionsOptions['cache'] = { staleness: '5s' }) => {
    const space = `c${process.pid}_${n++}_`;
    const storeA = backend().open(space);
    const storeB = counted(backend().open(space));
    const a = createSessions({ store: storeA, sweepInterval: false, cache });
    const b = createSessions({ store: storeB, sweepInterval: false, cache });
    instances.push(a, b);
    stores.push(storeA, storeB);
    return { a, b, storeB };
  };
  /** Validates through B until an answer comes from B's cache (its subscription is live). */
  const cachedOnB = async (b: Sessions, storeB: { reads: number }, token: string): Promise<void> => {
    const took = await within(5000, async () => {
      const before = storeB.reads;
      const r = await b.validate(token);
      return r.ok && storeB.reads === before;
    });
    expect(took).toBeLessThan(Infinity);
  };

  describe(name, () => {
    afterAll(async () => {
      await Promise.all(instances.map((s) => s.close()));
      await Promise.all(stores.map((s) => s.close()));
    });

    it('B answers from its cache, and refuses a token revoked through A within milliseconds', async () => {
      const { a, b, storeB } = pair();
      const { token, session } = await a.create({ userId: 'u1' });
      await cachedOnB(b, storeB, token);
      expect(await a.revoke(session.handle)).toBe(true);
      const took = await within(1000, async () => !(await b.validate(token)).ok);
      expect(took).toBeLessThan(1000);
      expect(await b.validate(token)).toEqual({ ok: false, reason: 'revoked' });
    });

    it('B sees data patched through A in its next validations', async () => {
      const { a, b, storeB } = pair();
      const { token, session } = await a.create({ userId: 'u1', data: { cart: 1 } });
      await cachedOnB(b, storeB, token);
      expect((await a.patch(session.handle, { set: { cart: 2 } })).ok).toBe(true);
      const took = await within(1000, async () => {
        const r = await b.validate(token);
        return r.ok && r.session.data.cart === 2;
      });
      expect(took).toBeLessThan(1000);
    });

    it('B refuses every session of a user revoked through A by revokeUser', async () => {
      const { a, b, storeB } = pair();
      const one = await a.create({ userId: 'u1' });
      const two = await a.create({ userId: 'u1' });
      await cachedOnB(b, storeB, one.token);
      await cachedOnB(b, storeB, two.token);
      expect(await a.revokeUser('u1')).toHaveLength(2);
      const took = await within(1000, async () => !(await b.validate(one.token)).ok && !(await b.validate(two.token)).ok);
      expect(took).toBeLessThan(1000);
    });

    it('B sees a rotation through A: the old token stops working', async () => {
      const { a, b, storeB } = pair();
      const { token } = await a.create({ userId: 'u1' });
      await cachedOnB(b, storeB, token);
      const rotated = await a.rotate(token);
      expect(rotated.ok).toBe(true);
      expect(await within(1000, async () => !(await b.validate(token)).ok)).toBeLessThan(1000);
      expect((await b.validate(rotated.ok ? rotated.token : '')).ok).toBe(true);
    });

    it('with its subscription cut, B serves no stale answer beyond the staleness bound, and caches again once resubscribed', async () => {
      const { a, b, storeB } = pair({ staleness: '300ms' });
      const { token, session } = await a.create({ userId: 'u1' });
      const other = await a.create({ userId: 'u2' });
      await cachedOnB(b, storeB, token);
      await backend().cutSubscriptions();
      const revokedAt = Date.now();
      expect(await a.revoke(session.handle)).toBe(true);
      // At the bound (300 ms after the revocation, later than B's last store read), B has nothing fresh enough to trust:
      // a validation from then on refuses, however long the machine took to get there.
      await sleep(Math.max(0, revokedAt + 300 + 1 - Date.now()));
      expect(await b.validate(token)).toEqual({ ok: false, reason: 'revoked' });
      // Once refused, never served again.
      for (let i = 0; i < 20; i++) expect((await b.validate(token)).ok).toBe(false);
      // The subscription comes back by itself, and with it the cache.
      await cachedOnB(b, storeB, other.token);
    });

    it('without the cache, B sees A’s revocation on its very next validation', async () => {
      const { a, b, storeB } = pair(false);
      const { token, session } = await a.create({ userId: 'u1' });
      expect((await b.validate(token)).ok).toBe(true);
      const reads = storeB.reads;
      expect((await b.validate(token)).ok).toBe(true);
      expect(storeB.reads).toBe(reads + 1);
      expect(await a.revoke(session.handle)).toBe(true);
      expect(await b.validate(token)).toEqual({ ok: false, reason: 'revoked' });
    });

    // Last: it takes the server down.
    if (canFail) {
      it('fails closed while the server is down rather than answer from the cache, and caches again once it is back', async () => {
        const outage = backend().outage;
        if (outage === undefined) throw new Error(`${name}: the backend has no outage() helper`);
        const { a, b, storeB } = pair();
        const { token } = await a.create({ userId: 'u1' });
        await cachedOnB(b, storeB, token);
        const restart = await outage();
        const refused = await within(3000, async () => {
          try {
            await b.validate(token);
            return false;
          } catch (err) {
            return err instanceof StoreUnavailableError;
          }
        });
        expect(refused).toBeLessThan(3000);
        await restart();
        let fresh = '';
        const back = await within(10_000, async () => {
          try {
            fresh = (await a.create({ userId: 'u2' })).token;
            return true;
          } catch {
            return false;
          }
        });
        expect(back).toBeLessThan(10_000);
        await cachedOnB(b, storeB, fresh);
      });
    }
  });
}

describe.skipIf(!redisAvailable)('the cache over Redis pub/sub', () => {
  const redis = redisWithSubscriptions();
  multiInstance('two instances on one Redis', () => ({
    open: (space) => redisStore({ url: redis.server.url, prefix: space }),
    cutSubscriptions: () => redis.cutSubscriptions(),
    outage: async () => {
      await redis.server.kill();
      return () => redis.server.restart();
    },
  }));
});

describe.skipIf(!redisAvailable)('the cache over Redis Cluster pub/sub', () => {
  let cluster: RedisCluster;
  let admins: Redis[];
  beforeAll(async () => {
    cluster = await startRedisCluster();
    admins = cluster.nodes.map((node) => new Redis(node.port, node.host));
  });
  afterAll(async () => {
    for (const admin of admins ?? []) admin.disconnect();
    await cluster?.stop();
  });
  multiInstance('two instances on one 3-node cluster', () => ({
    open: (space) => redisStore({ cluster: { nodes: [...cluster.nodes] }, prefix: space }),
    cutSubscriptions: async () => {
      const killed = await Promise.all(admins.map((admin) => admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')));
      expect(killed.reduce((x, y) => Number(x) + Number(y), 0)).toBeGreaterThan(0);
    },
  }), { outage: false });
});

const missing = postgresMissing();
describe.skipIf(missing !== null)('the cache over PostgreSQL LISTEN/NOTIFY', () => {
  const postgres = postgresWithSubscriptions();
  it('refuses to hold the only connection of a one-connection pool for LISTEN, and then never trusts the cache', async () => {
    const pool = new pg.Pool({ connectionString: postgres.server.url, max: 1 });
    const errors: unknown[] = [];
    const store = counted(postgresStore({ pool, tablePrefix: `c${process.pid}_single_` }));
    const sessions = createSessions({ store, sweepInterval: false, cache: { staleness: '5s' }, onError: (e) => errors.push(e) });
    const { token } = await sessions.create({ userId: 'u1' });
    for (let i = 0; i < 3; i++) expect((await sessions.validate(token)).ok).toBe(true);
    expect(store.reads).toBe(3);
    expect(String(errors[0])).toMatch(/at least 2 connections/);
    await sessions.close();
    await store.close();
    await pool.end();
  });

  multiInstance('two instances on one PostgreSQL', () => ({
    open: (space) => postgresStore({ connectionString: postgres.server.url, tablePrefix: space.toLowerCase() }),
    cutSubscriptions: () => postgres.cutSubscriptions(),
    outage: async () => {
      await postgres.server.crash();
      return () => postgres.server.start();
    },
  }));
});
