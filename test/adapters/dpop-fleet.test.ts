/**
 * Two token-mode instances over one real Redis, each behind its own
 * listening server: a DPoP proof accepted by one is refused by the other
 * (the `jti` replay cache lives in the shared store), and a bound refresh
 * token copied to the other instance without the key ends the family there
 * and on the first instance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessions, type Sessions } from '../../src/core/sessions.js';
import type { Store } from '../../src/core/store.js';
import { createTokenTransport } from '../../src/http/tokens.js';
import { redisStore } from '../../src/stores/redis/index.js';
import { createKeySet } from '../../src/tokens/keys.js';
import { createTokens, type Tokens } from '../../src/tokens/tokens.js';
import { dpopClient, type DpopClient } from '../support/dpop-client.js';
import { redisAvailable, startRedis, type RedisServer } from '../servers/redis.js';
import { AUDIENCE, ISSUER, REFRESH_SECRET } from '../tokens/helpers.js';
import type { Running } from './support/apps.js';
import { startTokens } from './support/token-apps.js';

describe.skipIf(!redisAvailable)('DPoP across two instances over one Redis', () => {
  let redis: RedisServer;
  const stores: Store[] = [];
  const engines: Sessions[] = [];
  let servers: Running[] = [];
  let alice: DpopClient;
  let one = '';
  let two = '';

  beforeAll(async () => {
    redis = await startRedis();
    const keys = await createKeySet();
    const instance = (): Tokens => {
      const store = redisStore({ url: redis.url, prefix: 'dpop-fleet' });
      const sessions = createSessions({ store, kind: 'refresh', sweepInterval: false });
      stores.push(store);
      engines.push(sessions);
      return createTokens({ sessions, keys, issuer: ISSUER, audience: AUDIENCE, refreshSecret: REFRESH_SECRET, dpop: {} });
    };
    const [a, b] = [instance(), instance()];
    servers = await Promise.all([startTokens('node', createTokenTransport({ tokens: a }), a), startTokens('express5', createTokenTransport({ tokens: b }), b)]);
    [one, two] = [servers[0]!.url, servers[1]!.url];
    alice = await dpopClient('ES256');
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await Promise.all(engines.map((e) => e.close()));
    await Promise.all(stores.map((s) => s.close()));
    await redis?.stop();
  });

  it('refuses on the second instance a proof the first one accepted', async () => {
    const res = await alice.fetch(`${one}/auth/dpop-login?user=fleet-1`, { method: 'POST' });
    const { access_token: token } = (await res.json()) as { access_token: string };
    // Each proof names the instance it is sent to (htu); the jti is what the replay cache remembers.
    const proofOne = await alice.proof('GET', `${one}/api/me`, { accessToken: token });
    expect((await fetch(`${one}/api/me`, { headers: { authorization: `DPoP ${token}`, dpop: proofOne } })).status).toBe(200);
    // The second instance accepts a fresh proof of its own...
    expect((await alice.fetch(`${two}/api/me`, { accessToken: token })).status).toBe(200);
    // ...and refuses one replayed from the first, even addressed to it: the jti is in Redis.
    const sameJti = await alice.proof('GET', `${two}/api/me`, { accessToken: token, claims: { jti: JSON.parse(Buffer.from(proofOne.split('.')[1]!, 'base64url').toString()).jti } });
    const replayed = await fetch(`${two}/api/me`, { headers: { authorization: `DPoP ${token}`, dpop: sameJti } });
    expect(replayed.status).toBe(401);
    expect(replayed.headers.get('www-authenticate')).toContain('error_description="the DPoP proof was already used"');
  });

  it('ends the family everywhere when a copied bound refresh token reaches the other instance without the key', async () => {
    const res = await alice.fetch(`${one}/auth/dpop-login?user=fleet-2`, { method: 'POST' });
    const pair = (await res.json()) as { access_token: string; refresh_token: string };
    const stolen = await fetch(`${two}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: pair.refresh_token }),
    });
    expect(stolen.status).toBe(401);
    expect(await stolen.json()).toMatchObject({ error: 'invalid_grant', detail: 'wrong-key' });
    const owner = await alice.fetch(`${one}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: pair.refresh_token }),
    });
    expect(owner.status).toBe(401);
    expect(await owner.json()).toMatchObject({ error: 'invalid_grant', detail: 'revoked' });
  });
});
