/**
 * DBSC across two instances of one deployment on Redis: two servers (the
 * node:http and the Express adapter), each with its own engine and its own
 * Redis store object over one Redis, one `dbsc.secret`. A challenge issued
 * by one is taken by the other, a bound cookie minted by one holds on the
 * other, and a proof or challenge used on one is refused on the other.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessions, type Sessions } from '../../src/core/sessions.js';
import type { Store } from '../../src/core/store.js';
import { redisStore } from '../../src/stores/redis/index.js';
import { redisAvailable, startRedis, type RedisServer } from '../servers/redis.js';
import { dbscClient, parseChallenges } from '../support/dbsc-client.js';
import { start, type Running } from './support/apps.js';

describe.skipIf(!redisAvailable)('DBSC on two instances over Redis', () => {
  let redis: RedisServer;
  const stores: Store[] = [];
  const engines: Sessions[] = [];
  let one: Running;
  let two: Running;

  beforeAll(async () => {
    redis = await startRedis();
    const secret = randomBytes(32);
    const instance = async (adapter: 'node' | 'express5') => {
      const store = redisStore({ url: redis.url, prefix: 'dbsc-instances:' });
      const sessions = createSessions({ store, sweepInterval: false });
      stores.push(store);
      engines.push(sessions);
      return start(adapter, { sessions, trustProxy: ['127.0.0.1'], onError: () => {}, dbsc: { secret } });
    };
    one = await instance('node');
    two = await instance('express5');
  }, 60_000);
  afterAll(async () => {
    await one?.close();
    await two?.close();
    for (const e of engines) await e.close();
    for (const s of stores) await s.close();
    await redis?.stop();
  });

  const userOf = async (reply: { text: string }) => (JSON.parse(reply.text) as { userId: string | null }).userId;

  it('registers on the other instance, and the bound cookie minted there holds here', async () => {
    const client = await dbscClient('ES256');
    await client.request(`${one.url}/login?user=alice`);
    expect((await client.register(two.url)).status).toBe(200);
    expect(await userOf(await client.request(`${one.url}/me`))).toBe('alice');
    expect(await userOf(await client.request(`${one.url}/me`, { headers: { cookie: `__Host-session=${client.jar.get('__Host-session')}` } }))).toBeNull();
  });

  it('refuses on the second instance a registration proof, a refresh proof and a challenge already used on the first', async () => {
    const client = await dbscClient('ES256');
    await client.request(`${one.url}/login?user=bob`);
    const offer = client.offer!;
    const registration = await client.proof({ jti: offer.challenge }, { withKey: true });
    const register = (base: string) => client.request(`${base}/auth/dbsc/register`, { method: 'POST', headers: { 'secure-session-response': registration } });
    const first = await register(one.url);
    expect(first.status).toBe(200);
    client.sessionId = (JSON.parse(first.text) as { session_identifier: string }).session_identifier;
    client.cachedChallenge = parseChallenges(first.headers.get('secure-session-challenge')!)[0]!.challenge;
    // The same registration proof on the other instance: the session is bound, and the challenge spent.
    expect((await register(two.url)).status).toBe(403);

    const refresh = (base: string, jwt: string) =>
      client.request(`${base}/auth/dbsc/refresh`, { method: 'POST', headers: { 'sec-secure-session-id': client.sessionId!, 'secure-session-response': jwt } });
    const proof = await client.proof({ jti: client.cachedChallenge });
    expect((await refresh(one.url, proof)).status).toBe(200);
    const replayed = await refresh(two.url, proof);
    expect(replayed.status).toBe(403);
    expect(replayed.headers.getSetCookie()).toEqual([]);
    // The 403's challenge, answered on the first instance, works once; the second instance refuses it after.
    const fresh = await client.proof({ jti: client.cachedChallenge });
    expect((await refresh(one.url, fresh)).status).toBe(200);
    expect((await refresh(two.url, fresh)).status).toBe(403);
  });
});
