/**
 * A real store going away under a real server: requests get 503
 * store-unavailable (never a wrong 200 or 401), the process stays up, and
 * service resumes by itself once the store is back. Redis is killed with
 * SIGKILL; PostgreSQL is stopped with `pg_ctl stop -m immediate`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessions, type Sessions } from '../../src/core/sessions.js';
import type { Store } from '../../src/core/store.js';
import { redisStore } from '../../src/stores/redis/index.js';
import { postgresStore } from '../../src/stores/postgres/index.js';
import { redisAvailable, startRedis, type RedisServer } from '../servers/redis.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../servers/postgres.js';
import { start, type AdapterName, type Running } from './support/apps.js';
import { call, cookieHeader, cookieValue } from './support/client.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const unhandled: unknown[] = [];
const onUnhandled = (err: unknown): void => void unhandled.push(err);
beforeAll(() => void process.on('unhandledRejection', onUnhandled));
afterAll(() => void process.off('unhandledRejection', onUnhandled));

interface Backend {
  sessions: Sessions;
  /** Whether the store keeps its data across the outage (PostgreSQL does; the test Redis runs without persistence). */
  persistent: boolean;
  /** Takes the store down; resolves a function that brings it back. */
  down(): Promise<() => Promise<void>>;
}

function outageScenario(name: string, adapters: AdapterName[], backend: () => Backend): void {
  describe.each(adapters)(`${name} through %s`, (adapter) => {
    let server: Running;
    const reported: unknown[] = [];
    beforeAll(async () => {
      server = await start(adapter, { sessions: backend().sessions, onError: (err) => void reported.push(err) });
    });
    afterAll(async () => server?.close());

    it('answers 503 while the store is down, never a wrong answer, and recovers by itself', async () => {
      const login = await call(server.url, '/login?user=outage', { method: 'POST' });
      expect(login.status).toBe(200);
      const token = cookieValue(login.setCookies) as string;
      const cookie = cookieHeader(token);
      expect((await call(server.url, '/me', { cookie })).body.userId).toBe('outage');

      const up = await backend().down();
      const during: number[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await call(server.url, '/me', { cookie });
        during.push(r.status);
        if (r.status === 503) expect(r.body.error).toBe('store-unavailable');
      }
      // Nothing may succeed or sign the user out while the store cannot answer.
      expect(during.filter((s) => s !== 503)).toEqual([]);
      expect((await call(server.url, '/health')).status).toBe(200);

      await up();
      let recovered = false;
      const started = Date.now();
      while (!recovered && Date.now() - started < 10_000) {
        const r = await call(server.url, '/me', { cookie });
        if (r.status === 200) recovered = true;
        else {
          expect(r.status).toBe(503);
          await sleep(50);
        }
      }
      expect(recovered).toBe(true);
      if (backend().persistent) expect((await call(server.url, '/me', { cookie })).body.userId).toBe('outage');
      // A sign-in works again too.
      expect((await call(server.url, '/login?user=after', { method: 'POST' })).status).toBe(200);
      expect(unhandled).toEqual([]);
      // What the operator's log receives never holds the token.
      const logged = reported.map((e) => (e instanceof Error ? `${e.message} ${String(e.stack)} ${String((e.cause as Error | undefined)?.message)}` : String(e))).join('\n');
      expect(logged).not.toContain(token);
      expect(logged).not.toContain(token.split('.')[1]);
    });
  });
}

describe.skipIf(!redisAvailable)('Redis outage', () => {
  let redis: RedisServer;
  let store: Store;
  let sessions: Sessions;
  beforeAll(async () => {
    redis = await startRedis();
    store = redisStore({ url: redis.url, prefix: `outage${process.pid}:` });
    sessions = createSessions({ store, sweepInterval: false });
  });
  afterAll(async () => {
    await sessions?.close();
    await store?.close();
    await redis?.stop();
  });
  outageScenario('Redis killed', ['node', 'express5'], () => ({
    sessions,
    persistent: false,
    down: async () => {
      await redis.kill();
      return () => redis.restart();
    },
  }));
});

const pgMissing = postgresMissing();
describe.skipIf(pgMissing !== null)('PostgreSQL outage', () => {
  let pg: PostgresServer;
  let store: Store;
  let sessions: Sessions;
  beforeAll(async () => {
    pg = await startPostgres();
    store = postgresStore({ connectionString: pg.url });
    sessions = createSessions({ store, sweepInterval: false });
  });
  afterAll(async () => {
    await sessions?.close();
    await store?.close();
    await pg?.stop();
  });
  outageScenario('PostgreSQL stopped', ['fastify', 'hono'], () => ({
    sessions,
    persistent: true,
    down: async () => {
      await pg.crash();
      return () => pg.start();
    },
  }));
});
