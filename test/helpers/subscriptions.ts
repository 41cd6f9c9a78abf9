/**
 * A real Redis or PostgreSQL for a `describe` of multi-instance tests, with
 * an administrator's connection that cuts every invalidation subscription on
 * the server side (Redis pub/sub clients killed, PostgreSQL LISTEN backends
 * terminated), as a network blip or a failover would.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';
import { startPostgres, type PostgresServer } from '../servers/postgres.js';
import { startRedis, type RedisServer } from '../servers/redis.js';

export interface WithSubscriptions<S> {
  /** The server, once the `beforeAll` ran. */
  readonly server: S;
  /** Cuts every subscription on the server; fails the test if there was none to cut. */
  cutSubscriptions(): Promise<void>;
}

/** Call at the top of a `describe`: starts Redis before its tests, stops it after. */
export function redisWithSubscriptions(): WithSubscriptions<RedisServer> {
  let server: RedisServer | undefined;
  let admin: Redis | undefined;
  beforeAll(async () => {
    server = await startRedis();
    admin = new Redis(server.url);
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });
  return {
    get server() {
      return started(server);
    },
    async cutSubscriptions() {
      expect(await started(admin).call('CLIENT', 'KILL', 'TYPE', 'pubsub')).toBeGreaterThan(0);
    },
  };
}

/** Call at the top of a `describe`: starts PostgreSQL before its tests, stops it after; `admin` is a pool of one connection for other checks. */
export function postgresWithSubscriptions(): WithSubscriptions<PostgresServer> & { readonly admin: pg.Pool } {
  let server: PostgresServer | undefined;
  let admin: pg.Pool | undefined;
  beforeAll(async () => {
    server = await startPostgres();
    admin = new pg.Pool({ connectionString: server.url, max: 1 });
    admin.on('error', () => {});
  });
  afterAll(async () => {
    await admin?.end();
    await server?.stop();
  });
  return {
    get server() {
      return started(server);
    },
    get admin() {
      return started(admin);
    },
    async cutSubscriptions() {
      const r = await started(admin).query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()`);
      expect(r.rowCount).toBeGreaterThan(0);
    },
  };
}

function started<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('the server starts in beforeAll, before the tests');
  return value;
}
