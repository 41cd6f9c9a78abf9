/**
 * PostgreSQL stopped the hard way (`pg_ctl stop -m immediate`, then started again) and paused
 * (SIGSTOP to every process of the server: connections open, nothing answers) under a steady load, against
 * the session service and against an application on the library with the
 * engine's cache and token mode's revocation cache on. Only 503s while it
 * is down (never a 500, never a revoked session or ended family accepted,
 * never a live one refused), nothing served from a cache past its
 * staleness, recovery without a restart; afterwards a revocation on one
 * instance reaches the other's cache at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresStore } from '../../src/stores/postgres/index.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../servers/postgres.js';
import { outageUnderLoad, type Fault } from './support/outage.js';
import { libraryTarget, serviceTarget } from './support/targets.js';

describe.skipIf(postgresMissing() !== null)('PostgreSQL killed and paused under load', () => {
  let pg: PostgresServer;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 60_000);
  afterAll(async () => pg?.stop());

  const faults = (): Record<string, Fault> => ({
    killed: { kind: 'killed', down: () => pg.crash(), up: () => pg.start() },
    paused: { kind: 'paused', down: () => pg.pause(), up: () => pg.resume() },
  });

  for (const kind of ['killed', 'paused'] as const) {
    it(`the service answers only 503 while PostgreSQL is ${kind}, serves no cached verdict past its staleness, and recovers by itself`, async () => {
      const target = await serviceTarget(pg.url);
      try {
        // Token mode's revocation cache trusts a live verdict 10 s: the outage outlasts it.
        await outageUnderLoad(`service on PostgreSQL`, target.ops, (faults()[kind] as Fault), { stalenessMs: 10_000, outageMs: 12_600 });
      } finally {
        await target.close();
      }
    }, 45_000);

    it(`an application on the library answers only 503 while PostgreSQL is ${kind}, its caches expire on time, and it recovers by itself`, async () => {
      const target = await libraryTarget(kind === 'killed' ? 'fastify' : 'hono', () => postgresStore({ connectionString: pg.url }), '2s');
      try {
        await outageUnderLoad(`library on PostgreSQL`, target.ops, (faults()[kind] as Fault), { stalenessMs: 2000, outageMs: 5000 });
        // The invalidation channel is back too: not a wait for the cache's staleness.
        const lag = await target.crossInstanceRevocation();
        console.log(`library on PostgreSQL (${kind}): a revocation on instance 2 refused by instance 1's cache after ${lag} ms`);
        expect(lag).toBeLessThan(1000);
      } finally {
        await target.close();
      }
    }, 45_000);
  }
});
