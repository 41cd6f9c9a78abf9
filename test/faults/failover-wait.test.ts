/**
 * The Redis store's `durability` option on real servers: checked at
 * construction; an acknowledged create, rotation or revocation is on the
 * replica before the call resolves, reads still cost one GET and no WAIT;
 * what a write costs with WAIT and without it, measured; and a Redis whose
 * replicas do not confirm in time makes every adapter answer 503, never a
 * session that only the primary holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { createSessions } from '../../src/core/sessions.js';
import { openStore } from '../../src/stores/open.js';
import { redisStore, type RedisStore } from '../../src/stores/redis/index.js';
import { sampleRecord } from '../../src/testing/store-contract.js';
import { ADAPTERS, start } from '../adapters/support/apps.js';
import { call, cookieHeader, cookieValue } from '../adapters/support/client.js';
import { startRedis, type RedisServer } from '../servers/redis.js';
import { redisAvailable, startRedisSentinel, type RedisSentinelSet } from '../servers/sentinel.js';
import { percentile } from './support/failover.js';

/** A record that lives an hour from now. */
function live(userId: string): ReturnType<typeof sampleRecord> {
  const now = Date.now();
  return sampleRecord({ userId, createdAt: now, issuedAt: now, lastSeenAt: now, authTime: now, idleExpiresAt: now + 3_600_000, absoluteExpiresAt: now + 3_600_000, expiresAt: now + 3_600_000 });
}

describe('the durability option is checked at construction', () => {
  it('refuses a replica count, a timeout or a key it cannot use, with a message naming it', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ replicas: 0 }, /durability\.replicas must be a whole number of replicas from 1 to 100/],
      [{ replicas: 1.5 }, /durability\.replicas/],
      [{ replicas: '1' }, /durability\.replicas/],
      [{}, /durability\.replicas/],
      [{ replicas: 1, timeout: 0 }, /durability\.timeout must be at least 1 ms/],
      [{ replicas: 1, timeout: 'soon' }, /durability\.timeout must be a duration/],
      [{ replicas: 1, timeout: '1s' }, /durability\.timeout \(1000 ms\) must be shorter than commandTimeout \(1000 ms\)/],
      [{ replicas: 1, timout: '100ms' }, /durability\.timout is not an option of redisStore\(\); did you mean durability\.timeout\?/],
      [1, /durability must be \{ replicas, timeout\? \}/],
    ];
    for (const [durability, message] of cases) {
      expect(() => redisStore({ url: 'redis://127.0.0.1:1', durability: durability as never }), JSON.stringify(durability)).toThrow(message);
      expect(() => redisStore({ url: 'redis://127.0.0.1:1', durability: durability as never })).toThrow(ConfigError);
    }
  });

  it('refuses a sentinel source it cannot use', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ sentinels: [], name: 'p' }, /at least one sentinel/],
      [{ sentinels: [{ host: 'h', port: 0 }], name: 'p' }, /addresses \{ host, port \}/],
      [{ sentinels: [{ host: 'h', port: 26379 }] }, /sentinel\.name must be/],
      [{ sentinels: [{ host: 'h', port: 26379 }], name: 'p', options: { name: 'q' } }, /not in sentinel\.options/],
    ];
    for (const [sentinel, message] of bad) expect(() => redisStore({ sentinel: sentinel as never })).toThrow(message);
    expect(() => redisStore({ url: 'redis://h', sentinel: { sentinels: [{ host: 'h', port: 26379 }], name: 'p' } })).toThrow(/one of client, url .*, sentinel or cluster/);
  });
});

describe.skipIf(!redisAvailable)('acknowledged writes with a replica (Sentinel)', () => {
  let set: RedisSentinelSet;
  let durable: RedisStore;
  let plain: RedisStore;
  beforeAll(async () => {
    set = await startRedisSentinel();
    const sentinel = { sentinels: [...set.sentinels], name: set.name };
    durable = redisStore({ sentinel, prefix: 'wait-d:', durability: { replicas: 1, timeout: '500ms' } });
    plain = redisStore({ sentinel, prefix: 'wait-p:' });
    await Promise.all([durable.ready(), plain.ready()]);
  });
  afterAll(async () => {
    await durable?.close();
    await plain?.close();
    await set?.stop();
  });

  it('opens a redis-sentinel:// URL with its prefix, on the primary the sentinels name', async () => {
    const store = await openStore(`${set.url}?prefix=opened:`);
    try {
      const r = live('opened');
      expect(await store.create(r)).toBe(true);
      expect(await set.command(await set.primary(), ['EXISTS', `opened:s:{${r.handle}}`])).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('resolves a create, a rotation and a revocation only once the replica holds it', async () => {
    const primary = await set.primary();
    const onReplica = set.ports.find((p) => p !== primary) as number;
    const key = (handle: string): string => `wait-d:s:{${handle}}`;
    for (let i = 0; i < 50; i++) {
      const r = live(`u${i}`);
      expect(await durable.create(r)).toBe(true);
      expect(await set.command(onReplica, ['EXISTS', key(r.handle)])).toBe(1);
      const next = live(`u${i}`);
      expect(await durable.replace(r.handle, r.version, next, { status: 'rotated', successor: next.handle, expiresAt: Date.now() + 60_000 })).toBe(true);
      expect(await set.command(onReplica, ['EXISTS', key(next.handle)])).toBe(1);
      expect(await durable.revoke(next.handle, Date.now() + 60_000)).toBe(true);
      expect(String(await set.command(onReplica, ['GET', key(next.handle)]))).toContain('revoked');
    }
  });

  it('reads with one GET and no WAIT; each acknowledged write costs one WAIT, measured against the same write without it', async () => {
    const primary = await set.primary();
    const stat = async (): Promise<Record<string, number>> => {
      const text = String(await set.command(primary, ['INFO', 'commandstats']));
      const calls = (cmd: string): number => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(text)?.[1] ?? 0);
      return { get: calls('get'), wait: calls('wait') };
    };
    const r = live('reader');
    await durable.create(r);
    const before = await stat();
    for (let i = 0; i < 40; i++) expect((await durable.get(r.handle))?.userId).toBe('reader');
    const after = await stat();
    expect((after.get as number) - (before.get as number)).toBe(40);
    expect(after.wait).toBe(before.wait);

    // Creates one at a time, alternating between the stores: the cost of WAIT per write.
    const p: number[] = [];
    const d: number[] = [];
    const waitsBefore = (await stat()).wait as number;
    for (let i = 0; i < 600; i++) {
      const [store, ms] = i % 2 === 0 ? [plain, p] : [durable, d];
      const t = performance.now();
      await store.create(live(`t${i % 7}`));
      ms.push(performance.now() - t);
    }
    expect(((await stat()).wait as number) - waitsBefore).toBe(300);
    const f = (x: number[]): string => `p50 ${percentile(x, 0.5).toFixed(3)} ms, p99 ${percentile(x, 0.99).toFixed(3)} ms`;
    console.log(`create on Sentinel, one at a time: without durability ${f(p)}; with WAIT 1 ${f(d)}; WAIT adds ${(percentile(d, 0.5) - percentile(p, 0.5)).toFixed(3)} ms at p50`);
    // And 16 at once for a second each: WAITs of concurrent writes share the replica's acknowledgement.
    const burst = async (store: RedisStore): Promise<{ n: number; ms: number[] }> => {
      const ms: number[] = [];
      const end = performance.now() + 1000;
      await Promise.all(
        Array.from({ length: 16 }, async (_, w) => {
          for (let i = 0; performance.now() < end; i++) {
            const t = performance.now();
            await store.create(live(`b${w}-${i % 5}`));
            ms.push(performance.now() - t);
          }
        }),
      );
      return { n: ms.length, ms };
    };
    const bp = await burst(plain);
    const bd = await burst(durable);
    expect(bd.n).toBeGreaterThan(0);
    console.log(`create on Sentinel, 16 at once for 1 s: without durability ${bp.n}/s, ${f(bp.ms)}; with WAIT 1 ${bd.n}/s, ${f(bd.ms)}`);
  });
});

describe.skipIf(!redisAvailable)('replicas that do not confirm in time', () => {
  let redis: RedisServer;
  let durable: RedisStore;
  let plain: RedisStore;
  beforeAll(async () => {
    // A primary without any replica: WAIT 1 can never be satisfied.
    redis = await startRedis();
    durable = redisStore({ url: redis.url, prefix: 'nowait:', durability: { replicas: 1, timeout: '50ms' } });
    plain = redisStore({ url: redis.url, prefix: 'nowait:' });
  });
  afterAll(async () => {
    await durable?.close();
    await plain?.close();
    await redis?.stop();
  });

  it('fail the call with the store error, naming the replicas and the timeout', async () => {
    await expect(durable.create(live('x'))).rejects.toThrow(/0 of the 1 replica\(s\) required confirmed the write within 50 ms/);
    await expect(durable.create(live('x'))).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    // The same option from a store URL.
    const opened = await openStore(`${redis.url}?durability=1&durabilityTimeout=60ms`);
    try {
      await expect(opened.create(live('y'))).rejects.toThrow(/0 of the 1 replica\(s\) required confirmed the write within 60 ms/);
    } finally {
      await opened.close();
    }
  });

  it.each(ADAPTERS)('make %s answer 503 to a sign-in and a sign-out, while validations go on', async (adapter) => {
    const sessions = createSessions({ store: durable, sweepInterval: false });
    const reported: unknown[] = [];
    const server = await start(adapter, { sessions, onError: (err) => void reported.push(err) });
    const other = createSessions({ store: plain, sweepInterval: false });
    try {
      const login = await call(server.url, '/login?user=wait', { method: 'POST' });
      expect(login.status).toBe(503);
      expect(login.body.error).toBe('store-unavailable');
      expect(cookieValue(login.setCookies)).toBeNull();
      // A session written without the option is read through the durable store as usual...
      const { token } = await other.create({ userId: 'existing' });
      const cookie = cookieHeader(token);
      expect((await call(server.url, '/me', { cookie })).body.userId).toBe('existing');
      // ...but its sign-out cannot be acknowledged.
      const logout = await call(server.url, '/logout', { method: 'POST', cookie });
      expect(logout.status).toBe(503);
      expect(logout.body.error).toBe('store-unavailable');
    } finally {
      await server.close();
      await sessions.close();
      await other.close();
    }
  });
});
