/**
 * Two token-mode instances sharing one real Redis or PostgreSQL: an access
 * token whose session one instance ends (sign-out, "log out everywhere",
 * theft) is refused by the other within milliseconds (pub/sub,
 * LISTEN/NOTIFY), and never later than the staleness bound, even with the
 * other's subscription cut.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessions, type Sessions } from '../../src/core/sessions.js';
import type { Store } from '../../src/core/store.js';
import { postgresStore } from '../../src/stores/postgres/index.js';
import { redisStore } from '../../src/stores/redis/index.js';
import { createKeySet, type KeySet } from '../../src/tokens/keys.js';
import { createTokens, type Tokens } from '../../src/tokens/tokens.js';
import { postgresMissing } from '../servers/postgres.js';
import { redisAvailable } from '../servers/redis.js';
import { AUDIENCE, ISSUER, REFRESH_SECRET } from './helpers.js';
import { postgresWithSubscriptions, redisWithSubscriptions } from '../helpers/subscriptions.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 2 ms until it holds; resolves how long that took, or Infinity after `limitMs`. */
async function within(limitMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > limitMs) return Infinity;
    await sleep(2);
  }
}

/** The store, counting its reads. */
function counted(store: Store): Store & { reads: number } {
  const wrapped = { ...store, reads: 0 };
  wrapped.get = (handle) => {
    wrapped.reads++;
    return store.get(handle);
  };
  return wrapped;
}

interface Instance {
  sessions: Sessions;
  tokens: Tokens;
  store: Store & { reads: number };
}

interface Backend {
  open(space: string): Store;
  /** Cuts every invalidation subscription on the server side. */
  cutSubscriptions(): Promise<void>;
  /** Resolves once the server holds the subscriptions again. */
  resubscribed(): Promise<void>;
}

function twoInstances(name: string, backend: () => Backend): void {
  let n = 0;
  let keys: KeySet;
  const opened: Array<{ sessions: Sessions; store: Store }> = [];
  const instance = (space: string, staleness: string, graceWindow: string): Instance => {
    const store = counted(backend().open(space));
    const sessions = createSessions({ store, sweepInterval: false, idleTimeout: '14d', absoluteTimeout: '30d' });
    opened.push({ sessions, store });
    const tokens = createTokens({ sessions, keys, issuer: ISSUER, audience: AUDIENCE, refreshSecret: REFRESH_SECRET, graceWindow, revocation: { staleness } });
    return { sessions, store, tokens };
  };
  const pair = (staleness = '30s', graceWindow = '10s'): { a: Instance; b: Instance } => {
    const space = `t${process.pid}_${n++}_`;
    return { a: instance(space, staleness, graceWindow), b: instance(space, staleness, graceWindow) };
  };
  /** Verifies through B until the answer comes from B's cache (its subscription is then set up too). */
  const cachedOnB = async (b: Instance, token: string): Promise<void> => {
    const took = await within(5000, async () => {
      const before = b.store.reads;
      const r = await b.tokens.verify(token);
      return r.ok && b.store.reads === before;
    });
    expect(took).toBeLessThan(Infinity);
  };
  const refusedOnB = (b: Instance, token: string, limitMs: number): Promise<number> =>
    within(limitMs, async () => {
      const r = await b.tokens.verify(token);
      return !r.ok && r.reason === 'revoked';
    });

  describe(name, () => {
    beforeAll(async () => {
      keys = await createKeySet();
    });
    afterAll(async () => {
      await Promise.all(opened.map((o) => o.sessions.close()));
      await Promise.all(opened.map((o) => o.store.close()));
    });

    it('B refuses, within milliseconds, an access token whose family A signed out', async () => {
      const { a, b } = pair();
      const issued = await a.tokens.issue({ userId: 'u1' });
      await cachedOnB(b, issued.accessToken);
      expect(await a.tokens.revoke(issued.refreshToken)).toBe(true);
      expect(await a.tokens.verify(issued.accessToken)).toEqual({ ok: false, reason: 'revoked' });
      expect(await refusedOnB(b, issued.accessToken, 1000)).toBeLessThan(1000);
    });

    it('B refuses, within milliseconds, every access token of a user A logged out everywhere, older generations included', async () => {
      const { a, b } = pair();
      const one = await a.tokens.issue({ userId: 'u1' });
      const two = await a.tokens.issue({ userId: 'u1' });
      const next = await a.tokens.refresh(two.refreshToken);
      if (!next.ok) throw new Error('refresh failed');
      const other = await a.tokens.issue({ userId: 'u2' });
      for (const t of [one, two, next, other]) await cachedOnB(b, t.accessToken);
      expect(await a.tokens.revokeUser('u1')).toHaveLength(2);
      for (const t of [one, two, next]) expect(await refusedOnB(b, t.accessToken, 1000)).toBeLessThan(1000);
      expect((await b.tokens.verify(other.accessToken)).ok).toBe(true);
    });

    it('B refuses, within milliseconds, the access tokens of a family whose stolen refresh token A saw replayed', async () => {
      // No grace window: presenting a rotated refresh token again is theft at once.
      const { a, b } = pair('30s', '0s');
      const first = await a.tokens.issue({ userId: 'u1' });
      const second = await a.tokens.refresh(first.refreshToken);
      if (!second.ok) throw new Error('refresh failed');
      await cachedOnB(b, first.accessToken);
      await cachedOnB(b, second.accessToken);
      const thefts: unknown[] = [];
      a.tokens.on('token-theft', (e) => thefts.push(e));
      expect(await a.tokens.refresh(first.refreshToken)).toEqual({ ok: false, reason: 'reused' });
      expect(thefts).toHaveLength(1);
      expect(await refusedOnB(b, first.accessToken, 1000)).toBeLessThan(1000);
      expect(await refusedOnB(b, second.accessToken, 1000)).toBeLessThan(1000);
    });

    it('with its subscription cut, B refuses within the staleness bound, and is fed again once resubscribed', async () => {
      const { a, b } = pair('600ms');
      const issued = await a.tokens.issue({ userId: 'u1' });
      const later = await a.tokens.issue({ userId: 'u2' });
      await cachedOnB(b, issued.accessToken);
      await backend().cutSubscriptions();
      const revokedAt = Date.now();
      expect(await a.tokens.revoke(issued.refreshToken)).toBe(true);
      // At the bound (600 ms after the revocation, later than B's last store read), B has nothing fresh enough to trust:
      // a verification from then on refuses, however long the machine took to get there.
      await sleep(Math.max(0, revokedAt + 600 + 1 - Date.now()));
      expect(await b.tokens.verify(issued.accessToken)).toEqual({ ok: false, reason: 'revoked' });
      // Once refused, never accepted again.
      for (let i = 0; i < 20; i++) expect((await b.tokens.verify(issued.accessToken)).ok).toBe(false);
      // The subscription comes back by itself (waited for on the server, not guessed with a pause): a sign-out is announced again, well before the bound.
      await backend().resubscribed();
      const filledAt = Date.now();
      expect((await b.tokens.verify(later.accessToken)).ok).toBe(true);
      expect(await a.tokens.revoke(later.refreshToken)).toBe(true);
      expect(await refusedOnB(b, later.accessToken, 2000)).toBeLessThan(2000);
      expect(Date.now() - filledAt).toBeLessThan(450);
    });
  });
}

describe.skipIf(!redisAvailable)('access-token revocation over Redis pub/sub', () => {
  const redis = redisWithSubscriptions();
  twoInstances('two instances on one Redis', () => ({
    open: (space) => redisStore({ url: redis.server.url, prefix: space }),
    cutSubscriptions: () => redis.cutSubscriptions(),
    resubscribed: () => redis.resubscribed(),
  }));
});

const missing = postgresMissing();
describe.skipIf(missing !== null)('access-token revocation over PostgreSQL LISTEN/NOTIFY', () => {
  const postgres = postgresWithSubscriptions();
  twoInstances('two instances on one PostgreSQL', () => ({
    open: (space) => postgresStore({ connectionString: postgres.server.url, tablePrefix: space.toLowerCase() }),
    cutSubscriptions: () => postgres.cutSubscriptions(),
    resubscribed: () => postgres.resubscribed(),
  }));

  it('shares one LISTEN connection between the engine’s cache and token mode: a pool of two still answers both', async () => {
    const pool = new pg.Pool({ connectionString: postgres.server.url, max: 2, application_name: 'latchkey-pool-of-two' });
    const store = postgresStore({ pool, tablePrefix: `t${process.pid}_pool2_` });
    const sessions = createSessions({ store, sweepInterval: false, cache: { staleness: '5s' }, storeTimeout: '1s' });
    const tokens = createTokens({ sessions, keys: await createKeySet(), issuer: ISSUER, audience: AUDIENCE, refreshSecret: REFRESH_SECRET });
    try {
      const cookie = await sessions.create({ userId: 'u1' });
      const issued = await tokens.issue({ userId: 'u1' });
      for (let i = 0; i < 5; i++) {
        expect((await sessions.validate(cookie.token)).ok).toBe(true);
        expect((await tokens.verify(issued.accessToken)).ok).toBe(true);
        expect((await tokens.refresh(issued.refreshToken)).ok || i > 0).toBe(true);
      }
      const listening = await postgres.admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'latchkey-pool-of-two' AND query LIKE 'LISTEN %'`);
      expect(listening.rows[0].n).toBe(1);
    } finally {
      await sessions.close();
      await store.close();
      await pool.end();
    }
  });
});
