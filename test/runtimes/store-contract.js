// The store contract (latchkey/testing/store-contract) under node:test, as
// `bun test` and `deno test` run it, on the store of a URL: the Redis
// (ioredis; standalone or cluster) and PostgreSQL (pg) stores on Bun's and
// Deno's own binaries. test/runtimes/stores.test.ts runs it against the
// servers of test/servers.
//
//   CONTRACT_STORE=redis://127.0.0.1:6379 bun test ./test/runtimes/store-contract.js
//   CONTRACT_STORE=redis-cluster://127.0.0.1:7000,127.0.0.1:7001 bun test ./test/runtimes/store-contract.js
//   CONTRACT_STORE=postgres://postgres@127.0.0.1:5432/db deno test --allow-net=127.0.0.1 --allow-env test/runtimes/store-contract.js
//
// Every test gets a fresh, empty store: a key prefix of its own on Redis, a
// schema of its own on PostgreSQL (named after this process, so that runs
// against one server never meet).
import { describe, it } from 'node:test';
import { parseStoreUrl } from 'latchkey/stores';
import { postgresStore } from 'latchkey/stores/postgres';
import { redisStore } from 'latchkey/stores/redis';
import { storeContract } from 'latchkey/testing/store-contract';

const where = parseStoreUrl(process.env.CONTRACT_STORE ?? '');
const run = `${process.pid}_${Date.now().toString(36)}`;
let n = 0;
// The suite's records live around 2026-01-01: Redis forgets a record at
// `expiresAt` on the store's clock, so that clock is frozen an hour before,
// as in test/contract/redis.test.ts (no TTL fires during a test).
const clock = { now: () => Date.UTC(2026, 0, 1) - 3_600_000 };

if (where.kind === 'redis') {
  storeContract('redis', { describe, it }, { makeStore: () => redisStore({ url: where.url, prefix: `contract_${run}_${n++}:`, clock }) });
} else if (where.kind === 'redis-cluster') {
  const nodes = where.nodes.map(({ host, port }) => ({ host, port }));
  storeContract('redis-cluster', { describe, it }, { makeStore: () => redisStore({ cluster: { nodes }, prefix: `contract_${run}_${n++}:`, clock }) });
} else if (where.kind === 'postgres') {
  storeContract('postgres', { describe, it }, { makeStore: () => postgresStore({ connectionString: where.url, schema: `contract_${run}_${n++}` }) });
} else {
  throw new Error(`CONTRACT_STORE must be a redis://, redis-cluster:// or postgres:// URL (got a ${where.kind} one)`);
}
