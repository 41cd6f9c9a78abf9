// DPoP through the service: a backend forwards its end user's DPoP proofs to
// a real listening `latchkey serve` with latchkey/client; the service binds
// the pair to the proof's key, treats a copied bound refresh token without
// the key as theft, and introspects a bound access token as active only with
// a proof of its key.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LatchkeyClient } from '../../src/client/index.js';
import { rejection, startService, type ServiceFixture } from '../helpers/service.js';
import { dpopClient, type DpopClient } from '../support/dpop-client.js';

/** The backend's own endpoints, as its clients address them. */
const LOGIN = 'https://app.example.test/auth/login';
const REFRESH = 'https://app.example.test/auth/refresh';
const API = 'https://app.example.test/api/me';

let fixture: ServiceFixture;
let latchkey: LatchkeyClient;
let alice: DpopClient;
let mallory: DpopClient;

beforeAll(async () => {
  fixture = await startService('dpop-test');
  latchkey = fixture.latchkey;
  [alice, mallory] = await Promise.all([dpopClient('ES256'), dpopClient('EdDSA')]);
});

afterAll(async () => {
  await fixture?.close();
});


let n = 0;
const user = (): string => `dpop-client-${++n}`;

describe('DPoP proofs forwarded to /v1/tokens', () => {
  it('binds the pair to the key of a forwarded sign-in proof', async () => {
    const pair = await latchkey.issueTokens({ userId: user(), dpop: { proof: await alice.proof('POST', LOGIN), method: 'POST', url: LOGIN } });
    expect(pair.tokenType).toBe('DPoP');
    expect(decodeJwt(pair.accessToken).cnf).toEqual({ jkt: alice.jkt });
    const next = await latchkey.refreshTokens(pair.refreshToken, { dpop: { proof: await alice.proof('POST', REFRESH), method: 'POST', url: REFRESH } });
    expect(next.tokenType).toBe('DPoP');
    expect(decodeJwt(next.accessToken).cnf).toEqual({ jkt: alice.jkt });
  });

  it('refuses a forwarded proof made for another URL, or replayed, with invalid_dpop_proof and its reason', async () => {
    const elsewhere = await rejection(latchkey.issueTokens({ userId: user(), dpop: { proof: await alice.proof('POST', REFRESH), method: 'POST', url: LOGIN } }));
    expect({ status: elsewhere.status, reason: elsewhere.reason, detail: elsewhere.detail }).toEqual({ status: 400, reason: 'invalid_dpop_proof', detail: 'htu-mismatch' });
    const proof = await alice.proof('POST', LOGIN);
    await latchkey.issueTokens({ userId: user(), dpop: { proof, method: 'POST', url: LOGIN } });
    const replayed = await rejection(latchkey.issueTokens({ userId: user(), dpop: { proof, method: 'POST', url: LOGIN } }));
    expect({ reason: replayed.reason, detail: replayed.detail }).toEqual({ reason: 'invalid_dpop_proof', detail: 'replayed' });
    expect(replayed.message).not.toContain(proof.slice(-43));
  });

  it('revokes the family when its refresh token comes without a proof of its key, or with another key', async () => {
    for (const dpop of [undefined, async () => ({ proof: await mallory.proof('POST', REFRESH), method: 'POST', url: REFRESH })]) {
      const pair = await latchkey.issueTokens({ userId: user(), dpop: { proof: await alice.proof('POST', LOGIN), method: 'POST', url: LOGIN } });
      const stolen = await rejection(latchkey.refreshTokens(pair.refreshToken, dpop === undefined ? {} : { dpop: await dpop() }));
      expect({ status: stolen.status, reason: stolen.reason, detail: stolen.detail }).toEqual({ status: 401, reason: 'invalid_grant', detail: 'wrong-key' });
      const owner = await rejection(latchkey.refreshTokens(pair.refreshToken, { dpop: { proof: await alice.proof('POST', REFRESH), method: 'POST', url: REFRESH } }));
      expect(owner.detail).toBe('revoked');
    }
  });

  it('introspects a bound access token as active only with a proof of its key', async () => {
    const pair = await latchkey.issueTokens({ userId: user(), dpop: { proof: await alice.proof('POST', LOGIN), method: 'POST', url: LOGIN } });
    expect(await latchkey.introspectToken(pair.accessToken)).toEqual({ active: false });
    const copied = { proof: await mallory.proof('GET', API, { accessToken: pair.accessToken }), method: 'GET', url: API };
    expect(await latchkey.introspectToken(pair.accessToken, { dpop: copied })).toEqual({ active: false });
    const genuine = { proof: await alice.proof('GET', API, { accessToken: pair.accessToken }), method: 'GET', url: API };
    const t = await latchkey.introspectToken(pair.accessToken, { dpop: genuine });
    expect(t).toMatchObject({ active: true, tokenType: 'DPoP', cnf: { jkt: alice.jkt } });
    // A bearer pair stays introspectable as before.
    const plain = await latchkey.issueTokens({ userId: user() });
    expect(plain.tokenType).toBe('Bearer');
    expect(await latchkey.introspectToken(plain.accessToken)).toMatchObject({ active: true, tokenType: 'Bearer' });
  });
});
