/**
 * Redis killed (SIGKILL, then restarted on its append-only file) and paused
 * (SIGSTOP: connections open, nothing answers) under a steady load, against
 * the session service and against an application on the library with the
 * engine's cache and token mode's revocation cache on. Only 503s while it
 * is down (never a 500, never a revoked session or ended family accepted,
 * never a live one refused), nothing served from a cache past its
 * staleness, recovery without a restart; afterwards a revocation on one
 * instance reaches the other's cache at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisStore } from '../../src/stores/redis/index.js';
import { redisAvailable, startRedis, type RedisServer } from '../servers/redis.js';
import { outageUnderLoad, type Fault } from './support/outage.js';
import { libraryTarget, serviceTarget } from './support/targets.js';

describe.skipIf(!redisAvailable)('Redis killed and paused under load', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis({ appendOnly: true });
  });
  afterAll(async () => redis?.stop());

  const faults = (): Record<string, Fault> => ({
    killed: { kind: 'killed', down: () => redis.kill(), up: () => redis.restart() },
    paused: { kind: 'paused', down: () => redis.pause(), up: () => redis.resume() },
  });

  for (const kind of ['killed', 'paused'] as const) {
    it(`the service answers only 503 while Redis is ${kind}, serves no cached verdict past its staleness, and recovers by itself`, async () => {
      const target = await serviceTarget(redis.url);
      try {
        // Token mode's revocation cache trusts a live verdict 10 s: the outage outlasts it.
        await outageUnderLoad(`service on Redis`, target.ops, (faults()[kind] as Fault), { stalenessMs: 10_000, outageMs: 12_600 });
      } finally {
        await target.close();
      }
    }, 45_000);

    it(`an application on the library answers only 503 while Redis is ${kind}, its caches expire on time, and it recovers by itself`, async () => {
      const prefix = `faults-${kind}-${process.pid}:`;
      const target = await libraryTarget(kind === 'killed' ? 'node' : 'express5', () => redisStore({ url: redis.url, prefix }), '2s');
      try {
        await outageUnderLoad(`library on Redis`, target.ops, (faults()[kind] as Fault), { stalenessMs: 2000, outageMs: 5000 });
        // The invalidation channel is back too: not a wait for the cache's staleness.
        const lag = await target.crossInstanceRevocation();
        console.log(`library on Redis (${kind}): a revocation on instance 2 refused by instance 1's cache after ${lag} ms`);
        expect(lag).toBeLessThan(1000);
      } finally {
        await target.close();
      }
    }, 45_000);
  }
});
