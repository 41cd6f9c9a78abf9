import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { storeContract } from '../../src/testing/store-contract.js';
import { redisStore } from '../../src/stores/redis/index.js';
import { redisAvailable, startRedis, startRedisCluster, type RedisCluster, type RedisServer } from '../servers/redis.js';

// The suite's records live around 2026-01-01 (its T0). Redis forgets a record
// at `expiresAt`, measured on the store's clock, so that clock is frozen an
// hour before T0: every TTL in the suite is then about an hour and none fires
// during a test. Expiry by real TTLs is tested in test/stores/redis.test.ts.
const clock = { now: () => Date.UTC(2026, 0, 1) - 3_600_000 };
let n = 0;
const freshPrefix = (): string => `contract${process.pid}-${n++}:`;

describe.skipIf(!redisAvailable)('redis, standalone', () => {
  let server: RedisServer;
  let client: Redis;
  beforeAll(async () => {
    server = await startRedis();
    client = new Redis(server.url);
    await client.ping();
  });
  afterAll(async () => {
    client?.disconnect();
    await server?.stop();
  });

  // The store uses the client it is given and never closes it; every test gets its own key prefix.
  storeContract('redis (standalone, shared client)', { describe, it }, { makeStore: () => redisStore({ client, prefix: freshPrefix(), clock }) });
  // A store that makes and owns its connection.
  storeContract('redis (standalone, own connection)', { describe, it }, { makeStore: () => redisStore({ url: server.url, prefix: freshPrefix(), clock }) });
});

describe.skipIf(!redisAvailable)('redis, 3-node cluster', () => {
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

  storeContract('redis (cluster, shared client)', { describe, it }, { makeStore: () => redisStore({ client, prefix: freshPrefix(), clock }) });
  storeContract('redis (cluster, own connection)', { describe, it }, {
    makeStore: () => redisStore({ cluster: { nodes: [...cluster.nodes] }, prefix: freshPrefix(), clock }),
  });
});
