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
  /**
   * Resolves once the server holds as many subscriptions again as the last
   * cut ended (every instance subscribed anew, by itself); fails the test
   * after 10 s. What a test waits for instead of guessing how long a
   * reconnection takes.
   */
  resubscribed(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `count` until it reaches `n`, for up to 10 s. */
async function reaches(n: number, count: () => Promise<number>): Promise<void> {
  let now = await count();
  for (const until = Date.now() + 10_000; now < n && Date.now() < until; now = await count()) await sleep(20);
  expect(now, 'subscriptions back on the server').toBeGreaterThanOrEqual(n);
}

/** Call at the top of a `describe`: starts Redis before its tests, stops it after. */
export function redisWithSubscriptions(): WithSubscriptions<RedisServer> {
  let server: RedisServer | undefined;
  let admin: Redis | undefined;
  let cut = 0;
  let before = 0;
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
      // Connections made after the cut have higher ids than any before it.
      before = Math.max(...ids(await started(admin).call('CLIENT', 'LIST')));
      cut = Number(await started(admin).call('CLIENT', 'KILL', 'TYPE', 'pubsub'));
      expect(cut).toBeGreaterThan(0);
    },
    resubscribed: () => reaches(cut, async () => ids(await started(admin).call('CLIENT', 'LIST', 'TYPE', 'pubsub')).filter((id) => id > before).length),
  };
}

/** Call at the top of a `describe`: starts PostgreSQL before its tests, stops it after; `admin` is a pool of one connection for other checks. */
export function postgresWithSubscriptions(): WithSubscriptions<PostgresServer> & { readonly admin: pg.Pool } {
  let server: PostgresServer | undefined;
  let admin: pg.Pool | undefined;
  let cut = 0;
  let terminated: number[] = [];
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
      const r = await started(admin).query(`SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()`);
      cut = r.rowCount ?? 0;
      expect(cut).toBeGreaterThan(0);
      terminated = r.rows.map((row) => row.pid as number);
    },
    // A terminated backend may still be listed for a moment: only the other connections count (a store takes one of
    // its pool's), once their LISTEN has finished (the connection idle again), from when a NOTIFY reaches them.
    resubscribed: () =>
      reaches(cut, async () => {
        const r = await started(admin).query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND state = 'idle' AND NOT (pid = ANY($1::int[])) AND pid <> pg_backend_pid()`, [terminated]);
        return r.rows[0].n as number;
      }),
  };
}

/** The ids of the clients a `CLIENT LIST` answer lists. */
function ids(list: unknown): number[] {
  return [...String(list).matchAll(/(?:^|\n)id=(\d+)/g)].map((m) => Number(m[1]));
}

function started<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('the server starts in beforeAll, before the tests');
  return value;
}
