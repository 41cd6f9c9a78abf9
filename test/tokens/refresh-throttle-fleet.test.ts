/**
 * Token mode's refresh-token throttle over a fleet: three instances, each
 * its own store client, engine and token mode behind its own listening
 * server (node:http, Express, Koa), on one real Redis and on one real
 * PostgreSQL. The failures are counted in the store's shared counters, so
 * a client guessing across the fleet is throttled at the budget of one
 * instance, and every instance refuses it from then on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createSessions, type Sessions } from '../../src/core/sessions.js';
import type { Store } from '../../src/core/store.js';
import { createTokenTransport } from '../../src/http/tokens.js';
import { postgresStore } from '../../src/stores/postgres/index.js';
import { redisStore } from '../../src/stores/redis/index.js';
import { createKeySet, type KeySet } from '../../src/tokens/keys.js';
import { createTokens, type Tokens } from '../../src/tokens/tokens.js';
import type { AdapterName, Running } from '../adapters/support/apps.js';
import { startTokens } from '../adapters/support/token-apps.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../servers/postgres.js';
import { redisAvailable, startRedis, type RedisServer } from '../servers/redis.js';
import { AUDIENCE, ISSUER, REFRESH_SECRET } from './helpers.js';

const THRESHOLD = 5;
const ADAPTERS: AdapterName[] = ['node', 'express5', 'koa'];

/** Well-formed, never issued. */
const guess = (): string => `${randomBytes(16).toString('base64url')}.${randomBytes(32).toString('base64url')}`;

/** One refresh from `ip` (the servers trust the loopback proxy's X-Forwarded-For). */
async function refresh(base: string, token: string, ip: string): Promise<{ status: number; retryAfter: string | null; body: { refresh_token?: string } }> {
  const res = await fetch(`${base}/auth/refresh`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify({ refresh_token: token }),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { refresh_token?: string } };
}

/** Guesses from `ip`, round-robin over `bases`, until one is answered 429; resolves how many were answered 401 first. */
async function budget(bases: readonly string[], ip: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const r = await refresh(bases[i % bases.length] as string, guess(), ip);
    if (r.status === 429) return i;
    expect(r.status).toBe(401);
  }
  throw new Error('never throttled');
}

let redis: RedisServer | undefined;
let postgres: PostgresServer | undefined;
const pgMissing = postgresMissing();
let keys: KeySet;

beforeAll(async () => {
  keys = await createKeySet();
  if (redisAvailable) redis = await startRedis();
  if (pgMissing === null) postgres = await startPostgres();
}, 180_000);
afterAll(async () => {
  await redis?.stop();
  await postgres?.stop();
});

const backends: Array<[string, (i: number) => Store | null]> = [
  ['Redis', () => (redis === undefined ? null : redisStore({ url: redis.url, prefix: 'refresh-fleet:' }))],
  ['PostgreSQL', () => (postgres === undefined ? null : postgresStore({ connectionString: postgres.url, tablePrefix: 'refresh_fleet_' }))],
];

describe.each(backends)('three token-mode instances on one %s', (_name, open) => {
  const stores: Store[] = [];
  const engines: Sessions[] = [];
  const fleet: Tokens[] = [];
  let servers: Running[] = [];
  let bases: string[] = [];

  /** One more instance (its own store client, engine and token mode) behind a node:http server; stopped with the others. */
  async function join(): Promise<{ base: string; tokens: Tokens; sessions: Sessions } | null> {
    const store = open(stores.length);
    if (store === null) return null;
    const sessions = createSessions({ store, kind: 'refresh', sweepInterval: false, guessing: { threshold: THRESHOLD } });
    const tokens = createTokens({ sessions, keys, issuer: ISSUER, audience: AUDIENCE, refreshSecret: REFRESH_SECRET, guessing: { threshold: THRESHOLD } });
    stores.push(store);
    engines.push(sessions);
    const server = await startTokens('node', createTokenTransport({ tokens, trustProxy: ['127.0.0.1'] }), tokens);
    servers.push(server);
    return { base: server.url, tokens, sessions };
  }

  beforeAll(async () => {
    for (let i = 0; i < ADAPTERS.length; i++) {
      const store = open(i);
      if (store === null) return;
      const sessions = createSessions({ store, kind: 'refresh', sweepInterval: false, guessing: { threshold: THRESHOLD } });
      stores.push(store);
      engines.push(sessions);
      fleet.push(createTokens({ sessions, keys, issuer: ISSUER, audience: AUDIENCE, refreshSecret: REFRESH_SECRET, guessing: { threshold: THRESHOLD } }));
    }
    servers = await Promise.all(fleet.map((tokens, i) => startTokens(ADAPTERS[i]!, createTokenTransport({ tokens, trustProxy: ['127.0.0.1'] }), tokens)));
    bases = servers.map((s) => s.url);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await Promise.all(engines.map((e) => e.close()));
    await Promise.all(stores.map((s) => s.close()));
  });

  it('throttles a client guessing refresh tokens across the instances at the budget of one', async (t) => {
    if (bases.length === 0) return t.skip();
    const one = await budget([bases[0]!], '198.51.100.1');
    expect(one).toBe(THRESHOLD);
    // Per-process counting would have let THRESHOLD guesses through on each instance.
    expect(await budget(bases, '198.51.100.2')).toBe(one);
  });

  it('announces the brake one instance engages to the others, which then refuse the client without counting', async (t) => {
    if (bases.length === 0) return t.skip();
    const ip = '198.51.100.5';
    // The whole budget spent on the first instance alone.
    expect(await budget([bases[0]!], ip)).toBe(THRESHOLD);
    for (const [i, base] of bases.slice(1).entries()) {
      // A valid token of a family of its own each time: refused only once the instance heard the announcement (Redis pub/sub, PostgreSQL NOTIFY).
      let status = 0;
      for (const until = Date.now() + 5000; status !== 429 && Date.now() < until; ) {
        const { refreshToken } = await fleet[i + 1]!.issue({ userId: 'announced' });
        status = (await refresh(base, refreshToken, ip)).status;
      }
      expect(status).toBe(429);
    }
  });

  it('refuses a client braked elsewhere on an instance that has counted no failure, listening before the brake or only after it', async (t) => {
    if (bases.length === 0) return t.skip();
    const ip = '198.51.100.7';
    /** Valid refresh tokens from `ip` on `base`, a family of its own each time, until one is refused (at most 5 s): the last status. */
    const refused = async (base: string, tokens: Tokens): Promise<number> => {
      let status = 0;
      for (const until = Date.now() + 5000; status !== 429 && Date.now() < until; ) {
        const { refreshToken } = await tokens.issue({ userId: 'braked-elsewhere' });
        status = (await refresh(base, refreshToken, ip)).status;
      }
      return status;
    };
    // An instance that has only ever refreshed successfully.
    const quiet = await join();
    if (quiet === null) return t.skip();
    const { refreshToken } = await quiet.tokens.issue({ userId: 'quiet' });
    expect((await refresh(quiet.base, refreshToken, '198.51.100.8')).status).toBe(200);
    expect(await budget([bases[0]!], ip)).toBe(THRESHOLD);
    // It heard the announcement without counting anything itself.
    expect(await refused(quiet.base, quiet.tokens)).toBe(429);
    // An instance that starts after the brake was announced learns it from the store's brake log.
    const late = await join();
    expect(await refused(late!.base, late!.tokens)).toBe(429);
    // The engine's guessing throttle is the same brake: a new engine that has refused no token knows it too.
    const engine = (await join())!.sessions;
    const ip2 = '198.51.100.9';
    // This one checks (and so listens) before the brake, the next one only after it.
    expect(engine.throttled(ip2)).toBe(0);
    for (let i = 0; i < THRESHOLD; i++) expect((await engines[0]!.validate(guess(), { client: { ip: ip2 } })).ok).toBe(false);
    expect(engines[0]!.throttled(ip2)).toBeGreaterThan(0);
    const later = (await join())!.sessions;
    let waits = [engine.throttled(ip2), later.throttled(ip2)];
    for (const until = Date.now() + 5000; waits.some((w) => w === 0) && Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
      waits = [engine.throttled(ip2), later.throttled(ip2)];
    }
    expect(waits.every((w) => w > 0)).toBe(true);
    // A neighbour is not braked with it.
    expect(later.throttled('198.51.100.10')).toBe(0);
  });

  it('refuses the throttled client on every instance, its own valid refresh token included, and not its neighbour', async (t) => {
    if (bases.length === 0) return t.skip();
    const ip = '198.51.100.3';
    const { refreshToken } = await fleet[0]!.issue({ userId: 'guesser' });
    await budget(bases, ip);
    // A guess on any instance is refused at once: counted in the store, past the budget, whatever this instance heard.
    for (const base of bases) {
      const r = await refresh(base, guess(), ip);
      expect(r.status).toBe(429);
      expect(Number(r.retryAfter)).toBeGreaterThan(0);
    }
    // From then on each instance refuses the client before looking at its token, a valid one included.
    for (const base of bases) expect((await refresh(base, refreshToken, ip)).status).toBe(429);
    // Another client keeps its own budget, and the family was never touched by the refusals.
    const neighbour = await refresh(bases[2]!, refreshToken, '198.51.100.4');
    expect(neighbour.status).toBe(200);
    expect(neighbour.body.refresh_token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  });
});
