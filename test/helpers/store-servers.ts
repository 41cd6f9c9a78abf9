/**
 * Real Redis and PostgreSQL servers for a test file (test/servers/*.ts),
 * each started when it is installed, before the file's tests, and stopped
 * after them; a test of a server that is missing skips itself (its URL is
 * `null`).
 */
import { afterAll, beforeAll } from 'vitest';
import { postgresMissing, startPostgres, type PostgresServer } from '../servers/postgres.js';
import { redisAvailable, startRedis, type RedisServer } from '../servers/redis.js';

export interface StoreServers {
  /** The running Redis, once started; `undefined` without redis-server. */
  readonly redis: RedisServer | undefined;
  /** The running PostgreSQL, once started; `undefined` without PostgreSQL. */
  readonly postgres: PostgresServer | undefined;
  /** The stores to run a suite on: `['Redis', url]`, `['PostgreSQL', url]`, the URL `null` where a server is missing. */
  readonly urls: Array<[string, () => string | null]>;
}

/** Call at the top level of a test file (or of a `describe`): registers its `beforeAll` and `afterAll`. */
export function storeServers(): StoreServers {
  let redis: RedisServer | undefined;
  let postgres: PostgresServer | undefined;
  beforeAll(async () => {
    if (redisAvailable) redis = await startRedis();
    if (postgresMissing() === null) postgres = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await redis?.stop();
    await postgres?.stop();
  });
  return {
    get redis() {
      return redis;
    },
    get postgres() {
      return postgres;
    },
    urls: [
      ['Redis', () => redis?.url ?? null],
      ['PostgreSQL', () => postgres?.url ?? null],
    ],
  };
}
