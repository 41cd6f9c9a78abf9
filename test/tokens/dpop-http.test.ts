/**
 * DPoP through a real node:http API: tokens bound to the client's key at
 * the token endpoint, proofs checked at the resource with `ath` and the
 * `cnf.jkt` binding, the RFC 9449 answers (`WWW-Authenticate: DPoP`, the
 * token endpoint's JSON error, `DPoP-Nonce`), and proofs replayed on a
 * second instance sharing the replay cache.
 */
import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryReplayCache } from '../../src/tokens/dpop-replay.js';
import { dpopClient } from '../support/dpop-client.js';
import { startDpopApi, type DpopApi } from '../support/dpop-server.js';

const apis: DpopApi[] = [];
async function api(o: Parameters<typeof startDpopApi>[0] = {}): Promise<DpopApi> {
  const started = await startDpopApi(o);
  apis.push(started);
  return started;
}
afterEach(async () => {
  await Promise.all(apis.splice(0).map((a) => a.close()));
});

/** The auth-params of a `WWW-Authenticate` challenge, as a client would read them. */
function challengeParams(header: string | null): { scheme: string; params: Record<string, string> } {
  const value = header ?? '';
  const space = value.indexOf(' ');
  const params: Record<string, string> = {};
  for (const m of value.slice(space + 1).matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) params[m[1]!] = m[2]!;
  return { scheme: value.slice(0, space === -1 ? undefined : space), params };
}

async function boundToken(a: DpopApi, client: Awaited<ReturnType<typeof dpopClient>>): Promise<string> {
  const res = await client.fetch(`${a.base}/token`, { method: 'POST' });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { access_token: string; token_type: string };
  expect(body.token_type).toBe('DPoP');
  return body.access_token;
}

describe('DPoP over HTTP', () => {
  it('binds the access token to the proof key at the token endpoint, and the resource accepts it with a proof of that key', async () => {
    const a = await api();
    const client = await dpopClient('ES256');
    const token = await boundToken(a, client);
    expect(decodeJwt(token).cnf).toEqual({ jkt: client.jkt });
    const res = await client.fetch(`${a.base}/resource?page=2`, { accessToken: token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sub: 'alice', bound: true });
  });

  it('refuses a DPoP-bound token presented as a bearer token, with or without a proof', async () => {
    const a = await api();
    const client = await dpopClient('ES256');
    const token = await boundToken(a, client);
    for (const withProof of [false, true]) {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (withProof) headers.dpop = await client.proof('GET', `${a.base}/resource`, { accessToken: token });
      const res = await fetch(`${a.base}/resource`, { headers });
      expect(res.status).toBe(401);
      expect(challengeParams(res.headers.get('www-authenticate'))).toEqual({
        scheme: 'DPoP',
        params: { error: 'invalid_token', error_description: 'a DPoP-bound access token must be sent with the DPoP scheme', algs: 'ES256' },
      });
    }
    expect(a.refusals.map((r) => r.reason)).toEqual(['bound-token-as-bearer', 'bound-token-as-bearer']);
  });

  it('refuses a stolen bound token used with the thief’s own key', async () => {
    const a = await api();
    const owner = await dpopClient('ES256');
    const thief = await dpopClient('ES256');
    const token = await boundToken(a, owner);
    const res = await thief.fetch(`${a.base}/resource`, { accessToken: token });
    expect(res.status).toBe(401);
    expect(challengeParams(res.headers.get('www-authenticate')).params).toMatchObject({ error: 'invalid_token', error_description: 'invalid DPoP key binding' });
    expect(a.refusals.at(-1)?.reason).toBe('key-mismatch');
  });

  it('refuses a bound token whose proof lacks the token hash or carries another token’s', async () => {
    const a = await api();
    const client = await dpopClient('ES256');
    const token = await boundToken(a, client);
    // Another token (bound to another client's key, so it differs even when signed in the same second).
    const other = await boundToken(a, await dpopClient('ES256'));
    expect(other).not.toBe(token);
    for (const [proofFor, reason] of [[undefined, 'ath-missing'], [other, 'ath-mismatch']] as const) {
      const proof = await client.proof('GET', `${a.base}/resource`, proofFor === undefined ? {} : { accessToken: proofFor });
      const res = await fetch(`${a.base}/resource`, { headers: { authorization: `DPoP ${token}`, dpop: proof } });
      expect(res.status).toBe(401);
      expect(challengeParams(res.headers.get('www-authenticate')).params.error).toBe('invalid_dpop_proof');
      expect(a.refusals.at(-1)?.reason).toBe(reason);
    }
  });

  it('refuses an unbound token presented with the DPoP scheme, and accepts it as a bearer token', async () => {
    const a = await api();
    const client = await dpopClient('ES256');
    const issued = await fetch(`${a.base}/token`, { method: 'POST' });
    const { access_token: token, token_type } = (await issued.json()) as { access_token: string; token_type: string };
    expect(token_type).toBe('Bearer');
    expect((await client.fetch(`${a.base}/resource`, { accessToken: token })).status).toBe(401);
    expect(a.refusals.at(-1)?.reason).toBe('unbound-token-as-dpop');
    const bearer = await fetch(`${a.base}/resource`, { headers: { authorization: `Bearer ${token}` } });
    expect(await bearer.json()).toEqual({ sub: 'alice', bound: false });
  });

  it('answers a bad proof at the token endpoint with 400 and the JSON error of RFC 9449', async () => {
    const a = await api();
    const client = await dpopClient('ES256');
    const proof = await client.proof('GET', `${a.base}/token`);
    const res = await fetch(`${a.base}/token`, { method: 'POST', headers: { dpop: proof } });
    expect(res.status).toBe(400);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ error: 'invalid_dpop_proof', error_description: 'the DPoP proof htm does not match the request method' });
  });

  it('refuses on a second instance a proof the first one accepted, through a shared replay cache', async () => {
    const replayCache = memoryReplayCache();
    const one = await api({ verifier: { replayCache } });
    const two = await api({ verifier: { replayCache }, access: one.access });
    const client = await dpopClient('ES256');
    const token = await boundToken(one, client);
    const url = `${one.base}/resource`;
    const proof = await client.proof('GET', url, { accessToken: token });
    expect((await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: proof } })).status).toBe(200);
    // The same request, replayed to the other instance (its own URL: the proof's htu is rewritten by nobody).
    const replay = await fetch(`${two.base}/resource`, { headers: { authorization: `DPoP ${token}`, dpop: proof } });
    expect(replay.status).toBe(401);
    expect(two.refusals.at(-1)?.reason).toBe('htu-mismatch');
    // Behind one address (a load balancer), the replay reaches the check that matters.
    const sameUrl = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: proof } });
    expect(sameUrl.status).toBe(401);
    expect(one.refusals.at(-1)?.reason).toBe('replayed');
  });

  describe('server nonces', () => {
    const secret = randomBytes(32);

    it('answers use_dpop_nonce with a DPoP-Nonce, and accepts the retry that carries it', async () => {
      const a = await api({ verifier: { nonce: { secret } } });
      const client = await dpopClient('ES256');
      const first = await fetch(`${a.base}/token`, { method: 'POST', headers: { dpop: await client.proof('POST', `${a.base}/token`) } });
      expect(first.status).toBe(400);
      expect(await first.json()).toEqual({ error: 'use_dpop_nonce', error_description: 'a DPoP nonce is required' });
      const nonce = first.headers.get('dpop-nonce');
      expect(nonce).toMatch(/^[A-Za-z0-9_-]{27}$/);
      client.nonce = nonce;
      const token = await boundToken(a, client);
      // At the resource the nonce error is a challenge, and the client's fetch() retries with the new nonce.
      client.nonce = null;
      const res = await client.fetch(`${a.base}/resource`, { accessToken: token });
      expect(res.status).toBe(200);
      expect(a.refusals.map((r) => r.reason)).toEqual(['nonce-missing', 'nonce-missing']);
    });

    it('lets two instances with the same secret accept each other’s nonces, and refuses a nonce of another secret or a made-up one', async () => {
      const one = await api({ verifier: { nonce: { secret } } });
      const two = await api({ verifier: { nonce: { secret } } });
      const stranger = await api({ verifier: { nonce: { secret: randomBytes(32) } } });
      expect(one.verifier.nonce()).toBe(two.verifier.nonce());
      const client = await dpopClient('ES256');
      client.nonce = one.verifier.nonce();
      expect((await fetch(`${two.base}/token`, { method: 'POST', headers: { dpop: await client.proof('POST', `${two.base}/token`) } })).status).toBe(200);
      const refused = await fetch(`${stranger.base}/token`, { method: 'POST', headers: { dpop: await client.proof('POST', `${stranger.base}/token`) } });
      expect(refused.status).toBe(400);
      expect(stranger.refusals.at(-1)?.reason).toBe('nonce-invalid');
      expect(refused.headers.get('dpop-nonce')).toBe(stranger.verifier.nonce());
      client.nonce = randomBytes(20).toString('base64url');
      await fetch(`${one.base}/token`, { method: 'POST', headers: { dpop: await client.proof('POST', `${one.base}/token`) } });
      expect(one.refusals.at(-1)?.reason).toBe('nonce-invalid');
    });
  });
});
