import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/sessions.js';
import { ConfigError, StoreUnavailableError } from '../../src/core/errors.js';
import { redisStore } from '../../src/stores/redis/index.js';
import { sampleRecord } from '../../src/testing/store-contract.js';
import { freePort, redisAvailable, startRedis, startRedisCluster, type RedisCluster, type RedisServer } from '../servers/redis.js';

let n = 0;
const freshPrefix = (): string => `t${process.pid}-${n++}:`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A record that lives `ms` from now on the real clock. */
function shortLived(ms: number, overrides: Parameters<typeof sampleRecord>[0] = {}): ReturnType<typeof sampleRecord> {
  const now = Date.now();
  return sampleRecord({ createdAt: now, issuedAt: now, lastSeenAt: now, idleExpiresAt: now + ms, absoluteExpiresAt: now + ms, expiresAt: now + ms, ...overrides });
}

describe('redisStore options', () => {
  it('refuses a prefix with braces, which would move keys across cluster slots', () => {
    expect(() => redisStore({ prefix: 'app{1}:', url: 'redis://127.0.0.1:1' })).toThrow(ConfigError);
  });

  it('refuses unknown option keys and commandTimeoutMs, naming commandTimeout, a duration, in its place', () => {
    expect(() => redisStore({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 500 } as never)).toThrow(
      new ConfigError("commandTimeoutMs is no longer an option of redisStore(): use commandTimeout, a duration such as '1s'"),
    );
    expect(() => redisStore({ url: 'redis://127.0.0.1:1', prefx: 'app:' } as never)).toThrow(
      new ConfigError('prefx is not an option of redisStore(); did you mean prefix? Known options: client, url, redis, sentinel, cluster, prefix, commandTimeout, clock, onError, durability'),
    );
    expect(() => redisStore({ url: 'redis://127.0.0.1:1', commandTimeout: 'a while' })).toThrow(/commandTimeout must be a duration/);
    expect(() => redisStore({ url: 'redis://127.0.0.1:1', clock: Date.now as never })).toThrow(/clock must be an object with a now\(\) method/);
  });

  it('refuses several connection sources at once', () => {
    expect(() => redisStore({ url: 'redis://127.0.0.1:1', cluster: { nodes: [1] } })).toThrow(/one of client, url .* or cluster/);
  });

  it('refuses a client with an ioredis keyPrefix', () => {
    const client = new Redis({ lazyConnect: true, keyPrefix: 'x:' });
    expect(() => redisStore({ client })).toThrow(/keyPrefix/);
    client.disconnect();
  });

  it('refuses a cluster with auto-pipelining, which breaks scripts of several slots', () => {
    expect(() => redisStore({ cluster: { nodes: [{ host: '127.0.0.1', port: 1 }], options: { enableAutoPipelining: true } } })).toThrow(/2109/);
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true, enableAutoPipelining: true });
    expect(() => redisStore({ client: cluster })).toThrow(/2109/);
    cluster.disconnect();
  });

  it('answers ping false, quickly and without throwing, when nothing listens', async () => {
    const port = await freePort();
    const errors: unknown[] = [];
    const store = redisStore({ url: `redis://127.0.0.1:${port}`, commandTimeout: '300ms', onError: (e) => errors.push(e) });
    const started = Date.now();
    expect(await store.ping()).toBe(false);
    expect(Date.now() - started).toBeLessThan(1500);
    await expect(store.get(sampleRecord().handle)).rejects.toThrow();
    await store.close();
    expect(errors.length).toBeGreaterThan(0);
  });
});

describe.skipIf(!redisAvailable)('the Redis store on a standalone server', () => {
  let server: RedisServer;
  let client: Redis;
  beforeAll(async () => {
    server = await startRedis();
    client = new Redis(server.url);
  });
  afterAll(async () => {
    client?.disconnect();
    await server?.stop();
  });

  it('lets Redis forget a record and its user index at expiresAt', async () => {
    const prefix = freshPrefix();
    const store = redisStore({ client, prefix });
    const r = shortLived(300);
    await store.create(r);
    const ttl = await client.pttl(`${prefix}s:{${r.handle}}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300);
    const indexTtl = await client.pttl(`${prefix}u:{user-1}`);
    expect(indexTtl).toBeGreaterThan(0);
    expect(indexTtl).toBeLessThanOrEqual(300);
    expect(await store.get(r.handle)).not.toBeNull();
    await sleep(450);
    expect(await store.get(r.handle)).toBeNull();
    expect(await client.exists(`${prefix}s:{${r.handle}}`, `${prefix}u:{user-1}`)).toBe(0);
    await store.close();
  });

  it('moves the TTL with touch and shortens it with revoke', async () => {
    const prefix = freshPrefix();
    const store = redisStore({ client, prefix });
    const now = Date.now();
    const r = shortLived(300, { absoluteExpiresAt: now + 60_000 });
    await store.create(r);
    expect(await store.touch(r.handle, now + 10, now + 20_000, now + 20_000)).toBe(true);
    expect(await client.pttl(`${prefix}s:{${r.handle}}`)).toBeGreaterThan(19_000);
    expect(await store.revoke(r.handle, Date.now() + 250)).toBe(true);
    expect(await client.pttl(`${prefix}s:{${r.handle}}`)).toBeLessThanOrEqual(250);
    await sleep(350);
    expect(await store.get(r.handle)).toBeNull();
    await store.close();
  });

  it('prunes past members of a user index on every write, so it never grows without bound', async () => {
    const prefix = freshPrefix();
    const store = redisStore({ client, prefix });
    const now = Date.now();
    for (let i = 0; i < 20; i++) await store.create(shortLived(1000, { absoluteExpiresAt: now + 1000 }));
    expect(await client.zcard(`${prefix}u:{user-1}`)).toBe(20);
    await sleep(1100);
    const alive = shortLived(60_000);
    await store.create(alive);
    expect(await client.zrange(`${prefix}u:{user-1}`, '0', '-1')).toEqual([alive.handle]);
    const ttl = await client.pttl(`${prefix}u:{user-1}`);
    expect(ttl).toBeGreaterThan(59_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await store.close();
  });

  it('keeps apps with different prefixes apart on one Redis', async () => {
    const a = redisStore({ client, prefix: freshPrefix() });
    const b = redisStore({ client, prefix: freshPrefix() });
    const r = shortLived(60_000);
    await a.create(r);
    expect(await b.get(r.handle)).toBeNull();
    expect(await b.listUser('user-1')).toEqual([]);
    expect(await b.revokeUser('user-1', Date.now())).toEqual([]);
    expect((await a.get(r.handle))?.status).toBe('active');
    await Promise.all([a.close(), b.close()]);
  });

  it('round-trips data exactly and patches only the keys named, even from a stale copy', async () => {
    const prefix = freshPrefix();
    const a = redisStore({ client, prefix });
    const b = redisStore({ client, prefix });
    const odd = { empty: [], obj: {}, big: 9007199254740991, tiny: 5e-324, sum: 0.1 + 0.2, text: 'é✓ \u0000 \uffff 😀', nested: [[], [{}]] };
    const r = shortLived(60_000, { data: { a: 1 } });
    await a.create(r);
    const stale = await a.get(r.handle);
    expect(await b.patch(r.handle, { set: { a: 'changed elsewhere', ...odd } }, Date.now())).toMatchObject({ ok: true, version: 2 });
    expect(stale?.data).toEqual({ a: 1 });
    await a.patch(r.handle, { set: { c: true } }, Date.now());
    expect((await a.get(r.handle))?.data).toEqual({ a: 'changed elsewhere', ...odd, c: true });
    await Promise.all([a.close(), b.close()]);
  });

  it('does not close a client it was given', async () => {
    const store = redisStore({ client, prefix: freshPrefix() });
    await store.close();
    expect(await client.ping()).toBe('PONG');
    await expect(store.get(sampleRecord().handle)).rejects.toThrow(/closed/);
    expect(await store.ping()).toBe(false);
  });

  it('lets two instances see each other’s revocations at once', async () => {
    const prefix = freshPrefix();
    const stores = [redisStore({ url: server.url, prefix }), redisStore({ url: server.url, prefix })] as const;
    const a = createSessions({ store: stores[0] });
    const b = createSessions({ store: stores[1] });
    const { token } = await a.create({ userId: 'alice' });
    const { token: other } = await a.create({ userId: 'alice' });
    expect((await b.validate(token)).ok).toBe(true);
    const handle = token.split('.')[0] as string;
    expect(await a.revoke(handle)).toBe(true);
    expect(await b.validate(token)).toEqual({ ok: false, reason: 'revoked' });
    expect((await b.validate(other)).ok).toBe(true);
    await b.revokeUser('alice');
    expect(await a.validate(other)).toEqual({ ok: false, reason: 'revoked' });
    await Promise.all([a.close(), b.close()]);
    await Promise.all(stores.map((s) => s.close()));
  });
});

describe.skipIf(!redisAvailable)('the Redis store when Redis dies', () => {
  it('fails every call with StoreUnavailableError while Redis is down, and recovers within seconds of its return', async () => {
    const server = await startRedis();
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    const store = redisStore({ url: server.url, prefix: freshPrefix(), commandTimeout: '500ms' });
    const sessions = createSessions({ store, storeTimeout: '1s' });
    try {
      const { token } = await sessions.create({ userId: 'alice' });
      let killed = false;
      let wrongly = 0;
      let rejected = 0;
      let slowest = 0;
      const outcomes: string[] = [];
      // A stream of validations, 10 at a time, while Redis is killed under it.
      const stream = (async () => {
        const end = Date.now() + 1500;
        while (Date.now() < end) {
          await Promise.all(
            Array.from({ length: 10 }, async () => {
              const deadAlready = killed;
              const started = Date.now();
              try {
                const r = await sessions.validate(token);
                if (deadAlready) wrongly++;
                outcomes.push(r.ok ? 'ok' : r.reason);
              } catch (err) {
                expect(err).toBeInstanceOf(StoreUnavailableError);
                rejected++;
                slowest = Math.max(slowest, Date.now() - started);
              }
            }),
          );
        }
      })();
      await sleep(200);
      await server.kill();
      killed = true;
      await stream;
      expect(wrongly).toBe(0);
      expect(rejected).toBeGreaterThan(0);
      expect(outcomes.every((o) => o === 'ok')).toBe(true);
      // Rejections come from the lost connection at once, not from the engine's timeout.
      expect(slowest).toBeLessThan(900);

      await server.restart();
      const back = Date.now();
      let fresh: string | null = null;
      while (fresh === null && Date.now() - back < 5000) {
        try {
          fresh = (await sessions.create({ userId: 'alice' })).token;
        } catch (err) {
          expect(err).toBeInstanceOf(StoreUnavailableError);
          await sleep(50);
        }
      }
      expect(fresh).not.toBeNull();
      expect((await sessions.validate(fresh)).ok).toBe(true);
      // Nothing was saved (--save ''): the old token is unknown, never valid.
      expect(await sessions.validate(token)).toEqual({ ok: false, reason: 'unknown' });
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await sessions.close();
      await store.close();
      await server.stop();
    }
  }, 30_000);
});

/** A call that must reject with StoreUnavailableError saying `why`, without the command's arguments anywhere in it (ioredis's error, if any, as its cause). */
async function unavailable(call: Promise<unknown>, why: RegExp, secret: string): Promise<void> {
  const err = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StoreUnavailableError);
  expect((err as Error).message).toMatch(why);
  expect((err as { cause?: { command?: unknown } }).cause?.command).toBeUndefined();
  expect(`${(err as Error).message} ${String((err as Error).cause)}`).not.toContain(secret);
}

describe.skipIf(!redisAvailable)("the Redis store's own failures", () => {
  it('rejects with StoreUnavailableError whatever ioredis says: a stalled server, a lost connection, one never made, retries run out, a cluster down', async () => {
    const server = await startRedis();
    const prefix = freshPrefix();
    const store = redisStore({ url: server.url, prefix, commandTimeout: '300ms' });
    const r = sampleRecord({ expiresAt: Date.now() + 60_000, absoluteExpiresAt: Date.now() + 60_000, userId: 'alice' });
    const next = sampleRecord({ expiresAt: Date.now() + 60_000, absoluteExpiresAt: Date.now() + 60_000, userId: 'alice' });
    const tomb = { status: 'rotated', successor: next.handle, expiresAt: Date.now() + 1000 } as const;
    // Every operation, each with the record's secret hash at hand to leak.
    const calls = (s: typeof store): Array<() => Promise<unknown>> => [
      () => s.create(r),
      () => s.get(r.handle),
      () => s.touch(r.handle, Date.now(), r.expiresAt, r.expiresAt),
      () => s.patch(r.handle, { set: { a: 1 } }, Date.now()),
      () => s.replace(r.handle, 1, next, tomb),
      () => s.revoke(r.handle, Date.now()),
      () => s.revokeUser('alice', Date.now()),
      () => s.delete(r.handle),
      () => s.listUser('alice'),
      () => s.sweep(Date.now(), 10),
    ];
    let late: ReturnType<typeof redisStore> | null = null;
    try {
      expect(await store.create(r)).toBe(true);
      server.pause();
      try {
        await unavailable(store.get(r.handle), /Redis did not answer in time/, r.secretHash);
      } finally {
        server.resume();
      }
      await server.kill();
      for (const call of calls(store)) await unavailable(call(), /the connection to Redis is lost/, r.secretHash);
      // Made while Redis is down: its first calls wait for a connection that never comes, then fail the same way.
      late = redisStore({ url: server.url, prefix, commandTimeout: '300ms' });
      for (const call of calls(late)) await unavailable(call(), /Redis is unavailable|connection to Redis is lost|Redis was not reachable/, r.secretHash);
      // A client of the application's, with an offline queue: its calls fail once ioredis's retries run out.
      const given = new Redis(server.url, { enableOfflineQueue: true, maxRetriesPerRequest: 1, retryStrategy: () => 20 });
      given.on('error', () => {});
      try {
        await unavailable(redisStore({ client: given, prefix }).get(r.handle), /the connection to Redis is lost/, r.secretHash);
      } finally {
        given.disconnect();
      }
    } finally {
      await late?.close();
      await store.close();
      await server.stop();
    }

    const cluster = await startRedisCluster();
    const clustered = redisStore({ cluster: { nodes: [...cluster.nodes] }, prefix, commandTimeout: '300ms' });
    try {
      expect(await clustered.create(r)).toBe(true);
      await cluster.stop();
      for (const call of calls(clustered)) await unavailable(call(), /the Redis cluster is down|the connection to Redis is lost|Redis did not answer in time/, r.secretHash);
    } finally {
      await clustered.close();
    }
  }, 60_000);
});

describe.skipIf(!redisAvailable)('the Redis store started before Redis', () => {
  it('fails while Redis is not there yet and works as soon as it is, without a restart', async () => {
    const server = await startRedis();
    await server.kill();
    const store = redisStore({ url: server.url, prefix: freshPrefix(), commandTimeout: '300ms' });
    try {
      await expect(store.get(sampleRecord().handle)).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(await store.ping()).toBe(false);
      await server.restart();
      const r = sampleRecord({ expiresAt: Date.now() + 60_000 });
      let created = false;
      const back = Date.now();
      while (!created && Date.now() - back < 5000) created = await store.create(r).catch(() => false);
      expect(created).toBe(true);
      expect(await store.get(r.handle)).toEqual(r);
      expect(await store.ping()).toBe(true);
    } finally {
      await store.close();
      await server.stop();
    }
  });

  it('connects a lazyConnect connection by itself', async () => {
    const server = await startRedis();
    const store = redisStore({ redis: { port: server.port, host: '127.0.0.1', lazyConnect: true }, prefix: freshPrefix() });
    try {
      expect(await store.ping()).toBe(true);
    } finally {
      await store.close();
      await server.stop();
    }
  });
});

describe.skipIf(!redisAvailable)('the Redis store on a 3-node cluster', () => {
  let cluster: RedisCluster;
  let client: Cluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = new Cluster([...cluster.nodes]);
    await client.ping();
  });
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  const slot = async (key: string): Promise<number> => Number(await client.cluster('KEYSLOT', key));

  it('puts a record in the slot of its handle and an index in the slot of its user', async () => {
    const prefix = freshPrefix();
    const store = redisStore({ client, prefix });
    const r = sampleRecord({ expiresAt: Date.now() + 60_000, absoluteExpiresAt: Date.now() + 60_000, userId: 'alice' });
    await store.create(r);
    expect(await slot(`${prefix}s:{${r.handle}}`)).toBe(await slot(r.handle));
    expect(await slot(`${prefix}u:{alice}`)).toBe(await slot('alice'));
    expect(await slot(`${prefix}u:{alice}:p`)).toBe(await slot('alice'));
    await store.close();
  });

  it('runs every engine operation across slots without a CROSSSLOT error', async () => {
    // A two-key script across slots is refused by the cluster: our scripts never are.
    await expect(client.eval("return redis.call('GET', KEYS[1])", 2, '{a}x', '{b}x')).rejects.toThrow(/CROSSSLOT/);
    const prefix = freshPrefix();
    const sessions = createSessions({ store: redisStore({ client, prefix }), renewal: { interval: '1s' }, maxSessionsPerUser: 3 });
    const users = Array.from({ length: 12 }, (_, i) => `user-${i}`);
    const slotsUsed = new Set<number>();
    for (const userId of users) {
      const made = await Promise.all([1, 2, 3, 4].map(() => sessions.create({ userId, data: { n: 1 } })));
      for (const m of made) {
        slotsUsed.add(await slot(m.session.handle));
        expect(await sessions.patch(m.session.handle, { set: { n: 2 } })).toMatchObject({ ok: true });
      }
      const last = made[3] as (typeof made)[number];
      const rotated = await sessions.rotate(last.token, { userId: `${userId}-b`, revokeOthers: true });
      expect(rotated.ok).toBe(true);
      expect((await sessions.list(userId)).length).toBeLessThanOrEqual(3);
      expect(await sessions.revokeUser(userId)).not.toEqual([]);
      expect(await sessions.list(userId)).toEqual([]);
      if (rotated.ok) {
        expect((await sessions.validate(rotated.token)).ok).toBe(true);
        expect((await sessions.list(`${userId}-b`)).map((s) => s.handle)).toEqual([rotated.session.handle]);
      }
    }
    // Records and indexes really did spread over the cluster.
    expect(slotsUsed.size).toBeGreaterThan(10);
    await sessions.close();
  });

  it('never prunes an index member whose record is still being created, and prunes it once its create is over', async () => {
    const prefix = freshPrefix();
    const store = redisStore({ client, prefix });
    const pending = sampleRecord({ userId: 'bob', expiresAt: Date.now() + 60_000, absoluteExpiresAt: Date.now() + 60_000 });
    // What a create leaves between its index write and its record write:
    const now = Date.now();
    await client.zadd(`${prefix}u:{bob}`, now + 60_000, pending.handle);
    await client.zadd(`${prefix}u:{bob}:p`, now + 60_000, pending.handle);
    expect(await store.listUser('bob')).toEqual([]);
    expect(await client.zscore(`${prefix}u:{bob}`, pending.handle)).not.toBeNull();
    // A member whose record vanished long ago is pruned.
    const stale = sampleRecord({ userId: 'bob' });
    await client.zadd(`${prefix}u:{bob}`, now + 60_000, stale.handle);
    await store.listUser('bob');
    expect(await client.zscore(`${prefix}u:{bob}`, stale.handle)).toBeNull();
    await store.close();
  });

  it('lets two instances see each other’s revocations at once', async () => {
    const prefix = freshPrefix();
    const a = createSessions({ store: redisStore({ cluster: { nodes: [...cluster.nodes] }, prefix }) });
    const b = createSessions({ store: redisStore({ cluster: { nodes: [...cluster.nodes] }, prefix }) });
    const { token } = await a.create({ userId: 'carol' });
    expect((await b.validate(token)).ok).toBe(true);
    await a.revokeUser('carol');
    expect(await b.validate(token)).toEqual({ ok: false, reason: 'revoked' });
    await Promise.all([a.close(), b.close()]);
  });
});
