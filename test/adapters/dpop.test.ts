/**
 * DPoP (RFC 9449) in token mode through every adapter: a real listening
 * server per adapter, driven by a DPoP client written with `jose`, and a
 * thief who copied the tokens but not the key.
 */
import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import { createSessions } from '../../src/core/sessions.js';
import { createTokenTransport } from '../../src/http/tokens.js';
import { memoryStore } from '../../src/stores/memory.js';
import { createKeySet } from '../../src/tokens/keys.js';
import type { TokenTheftEvent } from '../../src/tokens/refresh.js';
import { createTokens, type Tokens } from '../../src/tokens/tokens.js';
import { dpopClient, type DpopClient } from '../support/dpop-client.js';
import { AUDIENCE, ISSUER, REFRESH_SECRET } from '../tokens/helpers.js';
import { ADAPTERS, type Running } from './support/apps.js';
import { startTokens } from './support/token-apps.js';

interface TokenBody {
  access_token: string;
  refresh_token: string;
  token_type: string;
  error?: string;
  detail?: string;
}

async function json(res: Response): Promise<TokenBody> {
  return (await res.json()) as TokenBody;
}

/** Signs in with a proof of `client`'s key. */
async function signIn(base: string, client: DpopClient, user: string): Promise<TokenBody> {
  const res = await client.fetch(`${base}/auth/dpop-login?user=${user}`, { method: 'POST' });
  expect(res.status).toBe(200);
  return json(res);
}

function refresh(base: string, refreshToken: string, client?: DpopClient): Promise<Response> {
  const init = { method: 'POST', body: JSON.stringify({ refresh_token: refreshToken }), headers: { 'content-type': 'application/json' } };
  return client === undefined ? fetch(`${base}/auth/refresh`, init) : client.fetch(`${base}/auth/refresh`, init);
}

describe.each(ADAPTERS)('DPoP-bound tokens through the %s adapter', (adapter) => {
  const store = memoryStore();
  const sessions = createSessions({ store, sweepInterval: false, idleTimeout: '14d', absoluteTimeout: '30d' });
  const nonceSessions = createSessions({ store, sweepInterval: false });
  // Nonces that rotate every minute, on a clock the test moves (from now, so that jose's keys and proofs agree).
  const clock = manualClock(Date.now());
  const rotatingSessions = createSessions({ store: memoryStore({ clock }), clock, sweepInterval: false });
  const thefts: TokenTheftEvent[] = [];
  let tokens: Tokens;
  let base = '';
  let nonceBase = '';
  let requiredBase = '';
  let rotatingBase = '';
  let servers: Running[] = [];
  let alice: DpopClient;
  let mallory: DpopClient;
  let n = 0;
  const user = () => `dpop-user-${n++}`;

  beforeAll(async () => {
    const keys = await createKeySet();
    tokens = createTokens({ sessions, keys, issuer: ISSUER, audience: AUDIENCE, refreshSecret: REFRESH_SECRET, dpop: { algorithms: ['ES256', 'EdDSA'] } });
    tokens.on('token-theft', (e) => thefts.push(e));
    const withNonce = createTokens({
      sessions: nonceSessions,
      keys,
      issuer: ISSUER,
      audience: AUDIENCE,
      refreshSecret: REFRESH_SECRET,
      dpop: { nonce: { secret: randomBytes(32).toString('base64url') }, required: true },
    });
    const rotating = createTokens({
      sessions: rotatingSessions,
      keys: await createKeySet({ clock }),
      issuer: ISSUER,
      audience: AUDIENCE,
      refreshSecret: REFRESH_SECRET,
      dpop: { nonce: { secret: randomBytes(32).toString('base64url'), step: '1m' }, required: true },
    });
    servers = await Promise.all([
      startTokens(adapter, createTokenTransport({ tokens }), tokens),
      startTokens(adapter, createTokenTransport({ tokens: withNonce }), withNonce),
      startTokens(adapter, createTokenTransport({ tokens: rotating }), rotating),
    ]);
    rotatingBase = servers[2]!.url;
    base = servers[0]!.url;
    nonceBase = servers[1]!.url;
    requiredBase = nonceBase;
    [alice, mallory] = await Promise.all([dpopClient('ES256'), dpopClient('ES256')]);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await sessions.close();
    await nonceSessions.close();
    await rotatingSessions.close();
  });

  it('binds the access token to the key of the sign-in proof and accepts it with a fresh proof of that key', async () => {
    const pair = await signIn(base, alice, user());
    expect(pair.token_type).toBe('DPoP');
    expect(decodeJwt(pair.access_token).cnf).toEqual({ jkt: alice.jkt });
    const me = await alice.fetch(`${base}/api/me`, { accessToken: pair.access_token });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { claims: { cnf: unknown } }).claims.cnf).toEqual({ jkt: alice.jkt });
  });

  it('gives bearer tokens to a client that sends no proof, as before', async () => {
    const res = await fetch(`${base}/auth/dpop-login?user=${user()}`, { method: 'POST' });
    const pair = await json(res);
    expect(pair.token_type).toBe('Bearer');
    expect(decodeJwt(pair.access_token).cnf).toBeUndefined();
    expect((await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${pair.access_token}` } })).status).toBe(200);
  });

  it('refuses a copied DPoP-bound access token presented as a bearer token, with the DPoP challenge', async () => {
    const pair = await signIn(base, alice, user());
    const res = await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${pair.access_token}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      'DPoP realm="latchkey", error="invalid_token", error_description="a DPoP-bound access token must be sent with the DPoP scheme", algs="ES256 EdDSA"',
    );
  });

  it('refuses a copied DPoP-bound access token sent with a proof of another key', async () => {
    const pair = await signIn(base, alice, user());
    const res = await mallory.fetch(`${base}/api/me`, { accessToken: pair.access_token });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token", error_description="invalid DPoP key binding"');
  });

  it('refuses a copied DPoP-bound access token sent with the DPoP scheme but no proof', async () => {
    const pair = await signIn(base, alice, user());
    const res = await fetch(`${base}/api/me`, { headers: { authorization: `DPoP ${pair.access_token}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_dpop_proof", error_description="a DPoP proof is required"');
  });

  it('refuses a proof replayed, made for another method or URI, or without the hash of the token', async () => {
    const pair = await signIn(base, alice, user());
    const url = `${base}/api/me`;
    const proof = await alice.proof('GET', url, { accessToken: pair.access_token });
    const headers = { authorization: `DPoP ${pair.access_token}`, dpop: proof };
    expect((await fetch(url, { headers })).status).toBe(200);
    const replayed = await fetch(url, { headers });
    expect(replayed.status).toBe(401);
    expect(replayed.headers.get('www-authenticate')).toContain('error_description="the DPoP proof was already used"');
    const wrongMethod = await fetch(url, { headers: { ...headers, dpop: await alice.proof('POST', url, { accessToken: pair.access_token }) } });
    expect(wrongMethod.headers.get('www-authenticate')).toContain('the DPoP proof htm does not match the request method');
    const wrongUri = await fetch(url, { headers: { ...headers, dpop: await alice.proof('GET', `${base}/api/admin`, { accessToken: pair.access_token }) } });
    expect(wrongUri.headers.get('www-authenticate')).toContain('the DPoP proof htu does not match the request URI');
    const noAth = await fetch(url, { headers: { ...headers, dpop: await alice.proof('GET', url) } });
    expect(noAth.headers.get('www-authenticate')).toContain('the DPoP proof lacks ath');
    // The htu is compared as RFC 9449 says: the query does not count.
    expect((await alice.fetch(`${url}?page=2`, { accessToken: pair.access_token })).status).toBe(200);
  });

  it('refreshes a bound family only with a proof of its key, and binds the new access token to it', async () => {
    const pair = await signIn(base, alice, user());
    const res = await refresh(base, pair.refresh_token, alice);
    expect(res.status).toBe(200);
    const next = await json(res);
    expect(next.token_type).toBe('DPoP');
    expect(decodeJwt(next.access_token).cnf).toEqual({ jkt: alice.jkt });
    expect((await alice.fetch(`${base}/api/me`, { accessToken: next.access_token })).status).toBe(200);
  });

  it('treats a copied bound refresh token sent without a proof as theft: 401 invalid_grant and the family revoked', async () => {
    const name = user();
    const pair = await signIn(base, alice, name);
    const res = await refresh(base, pair.refresh_token);
    expect(res.status).toBe(401);
    expect(await json(res)).toMatchObject({ error: 'invalid_grant', detail: 'wrong-key' });
    expect(thefts.at(-1)).toMatchObject({ cause: 'dpop-key', userId: name });
    // The owner's tokens ended with the family.
    expect((await refresh(base, pair.refresh_token, alice)).status).toBe(401);
    expect((await alice.fetch(`${base}/api/me`, { accessToken: pair.access_token })).status).toBe(401);
  });

  it('treats a copied bound refresh token sent with a proof of another key as theft', async () => {
    const name = user();
    const pair = await signIn(base, alice, name);
    const res = await refresh(base, pair.refresh_token, mallory);
    expect(res.status).toBe(401);
    expect(await json(res)).toMatchObject({ error: 'invalid_grant', detail: 'wrong-key' });
    expect(thefts.at(-1)).toMatchObject({ cause: 'dpop-key', userId: name });
    expect((await alice.fetch(`${base}/api/me`, { accessToken: pair.access_token })).status).toBe(401);
  });

  it('answers a broken proof at the token endpoint with 400 invalid_dpop_proof and refreshes nothing', async () => {
    const pair = await signIn(base, alice, user());
    const url = `${base}/auth/refresh`;
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', dpop: await alice.proof('POST', url, { header: { typ: 'JWT' } }) },
      body: JSON.stringify({ refresh_token: pair.refresh_token }),
    });
    expect(res.status).toBe(400);
    expect(await json(res)).toMatchObject({ error: 'invalid_dpop_proof', detail: 'wrong-type' });
    expect((await refresh(base, pair.refresh_token, alice)).status).toBe(200);
  });

  it('asks for a server nonce with use_dpop_nonce and accepts the retry that carries it', async () => {
    const carol = await dpopClient('ES256');
    const url = `${nonceBase}/auth/dpop-login?user=${user()}`;
    const first = await fetch(url, { method: 'POST', headers: { dpop: await carol.proof('POST', url) } });
    expect(first.status).toBe(400);
    expect(await json(first)).toMatchObject({ error: 'use_dpop_nonce' });
    expect(first.headers.get('dpop-nonce')).toMatch(/^[A-Za-z0-9_-]{27}$/);
    // The client's fetch retries once with the nonce it was given.
    const es = await dpopClient('ES256');
    const pair = await signIn(nonceBase, es, user());
    expect(pair.token_type).toBe('DPoP');
    es.nonce = null;
    const me = await fetch(`${nonceBase}/api/me`, { headers: { authorization: `DPoP ${pair.access_token}`, dpop: await es.proof('GET', `${nonceBase}/api/me`, { accessToken: pair.access_token }) } });
    expect(me.status).toBe(401);
    expect(me.headers.get('www-authenticate')).toContain('error="use_dpop_nonce"');
    expect(me.headers.get('dpop-nonce')).not.toBeNull();
    expect((await es.fetch(`${nonceBase}/api/me`, { accessToken: pair.access_token })).status).toBe(200);
  });

  it('hands out the next nonce on a success once the one in use is due to rotate, so the client never meets use_dpop_nonce', async () => {
    const client = await dpopClient('ES256', { now: clock.now });
    const pair = await signIn(rotatingBase, client, user());
    const url = `${rotatingBase}/api/me`;
    /** One request with the client's current nonce, never retried: a refusal would show. */
    const call = async (): Promise<Response> => {
      const res = await fetch(url, { headers: { authorization: `DPoP ${pair.access_token}`, dpop: await client.proof('GET', url, { accessToken: pair.access_token }) } });
      const given = res.headers.get('dpop-nonce');
      if (given !== null) client.nonce = given;
      return res;
    };
    const first = client.nonce;
    const fresh = await call();
    expect(fresh.status).toBe(200);
    // The nonce in use is the current one: nothing to hand out.
    expect(fresh.headers.get('dpop-nonce')).toBeNull();
    clock.advance('1m');
    const due = await call();
    expect(due.status).toBe(200);
    expect(due.headers.get('dpop-nonce')).toMatch(/^[A-Za-z0-9_-]{27}$/);
    expect(client.nonce).not.toBe(first);
    // A step later the first nonce is stale; the client already carries its successor.
    clock.advance('1m');
    const later = await call();
    expect(later.status).toBe(200);
    const stale = await fetch(url, {
      headers: { authorization: `DPoP ${pair.access_token}`, dpop: await client.proof('GET', url, { accessToken: pair.access_token, claims: { nonce: first } }) },
    });
    expect(stale.status).toBe(401);
    expect(stale.headers.get('www-authenticate')).toContain('error="use_dpop_nonce"');
  });

  it('with DPoP required, refuses a sign-in without a proof and offers only the DPoP scheme', async () => {
    const res = await fetch(`${requiredBase}/auth/dpop-login?user=${user()}`, { method: 'POST' });
    expect(res.status).toBe(400);
    expect(await json(res)).toMatchObject({ error: 'invalid_dpop_proof', detail: 'missing' });
    const bare = await fetch(`${requiredBase}/api/me`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toBe('DPoP realm="latchkey", algs="ES256"');
  });
});
