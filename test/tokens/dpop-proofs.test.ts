/**
 * DPoP proofs checked as RFC 9449 section 4.3 lists, with proofs signed
 * by the test suite's own DPoP client (jose keys) and bent the way a
 * broken client or an attacker would bend them.
 */
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import { ConfigError } from '../../src/core/errors.js';
import { createDpopVerifier, type DpopAlgorithm, type DpopVerifierOptions } from '../../src/tokens/dpop.js';
import { memoryReplayCache } from '../../src/tokens/dpop-replay.js';
import { athOf, dpopClient } from '../support/dpop-client.js';

const URL_ = 'https://api.example.test/v1/things';
const ALL: DpopAlgorithm[] = ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'];

function setup(o: Partial<DpopVerifierOptions> = {}) {
  const clock = manualClock(Date.UTC(2026, 11, 4, 12));
  const verifier = createDpopVerifier({ replayCache: memoryReplayCache({ clock }), clock, ...o });
  return { clock, verifier };
}

describe('DPoP proof verification', () => {
  it.each(ALL)('accepts a fresh %s proof and names its key by the RFC 7638 thumbprint the client computed', async (alg) => {
    const { clock, verifier } = setup({ algorithms: ALL });
    const client = await dpopClient(alg, { now: clock.now });
    const result = await verifier.verify({ proof: await client.proof('POST', URL_), method: 'POST', url: URL_ });
    expect(result).toMatchObject({ ok: true, jkt: client.jkt, alg });
  });

  it('accepts only ES256 by default', async () => {
    const { clock, verifier } = setup();
    expect(verifier.algorithms).toEqual(['ES256']);
    for (const alg of ['ES384', 'EdDSA', 'RS256', 'PS256'] as const) {
      const client = await dpopClient(alg, { now: clock.now });
      const result = await verifier.verify({ proof: await client.proof('GET', URL_), method: 'GET', url: URL_ });
      expect(result).toMatchObject({ ok: false, error: 'invalid_dpop_proof', reason: 'algorithm-not-allowed' });
    }
  });

  it('refuses an unsigned proof (alg none) and an HMAC-signed one', async () => {
    const { clock, verifier } = setup({ algorithms: ALL });
    const client = await dpopClient('ES256', { now: clock.now });
    const claims = { jti: 'j1', htm: 'GET', htu: URL_, iat: Math.floor(clock.now() / 1000) };
    const none = new UnsecuredJWT(claims).encode();
    const unsecured = await verifier.verify({ proof: none, method: 'GET', url: URL_ });
    expect(unsecured.ok).toBe(false);
    const hmac = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: client.publicJwk }).sign(new Uint8Array(32).fill(7));
    expect(await verifier.verify({ proof: hmac, method: 'GET', url: URL_ })).toMatchObject({ ok: false, reason: 'algorithm-not-allowed' });
  });

  it('refuses a proof whose typ is not dpop+jwt', async () => {
    const { clock, verifier } = setup();
    const client = await dpopClient('ES256', { now: clock.now });
    for (const typ of ['JWT', 'at+jwt', 'dbsc+jwt', undefined]) {
      const proof = await client.proof('GET', URL_, { header: { typ } });
      expect(await verifier.verify({ proof, method: 'GET', url: URL_ })).toMatchObject({ ok: false, reason: 'wrong-type' });
    }
  });

  it('refuses a header key that is missing, private, symmetric or of another curve than alg', async () => {
    const { clock, verifier } = setup({ algorithms: ['ES256', 'ES384'] });
    const client = await dpopClient('ES256', { now: clock.now });
    const privateJwk = await exportJWK(client.privateKey);
    const p384 = await exportJWK((await generateKeyPair('ES384', { extractable: true })).publicKey);
    const offCurve = { ...client.publicJwk, y: client.publicJwk.x };
    for (const jwk of [undefined, privateJwk, { kty: 'oct', k: 'c2VjcmV0' }, p384, { ...client.publicJwk, use: 'enc' }, { ...client.publicJwk, x: 'AAAA' }, offCurve, offCurve]) {
      const proof = await client.proof('GET', URL_, { header: { jwk } });
      expect(await verifier.verify({ proof, method: 'GET', url: URL_ })).toMatchObject({ ok: false, reason: 'invalid-key' });
    }
  });

  it('refuses a proof signed by another key than the one in its header, and a tampered payload', async () => {
    const { clock, verifier } = setup();
    const client = await dpopClient('ES256', { now: clock.now });
    const thief = await dpopClient('ES256', { now: clock.now });
    const forged = await client.proof('GET', URL_, { signWith: thief.privateKey });
    expect(await verifier.verify({ proof: forged, method: 'GET', url: URL_ })).toMatchObject({ ok: false, reason: 'bad-signature' });
    const [h, , s] = (await client.proof('GET', URL_)).split('.');
    const payload = Buffer.from(JSON.stringify({ jti: 'x', htm: 'POST', htu: URL_, iat: Math.floor(clock.now() / 1000) })).toString('base64url');
    expect(await verifier.verify({ proof: `${h}.${payload}.${s}`, method: 'POST', url: URL_ })).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('refuses a proof for another method or another URI, and one without a required claim', async () => {
    const { clock, verifier } = setup();
    const client = await dpopClient('ES256', { now: clock.now });
    expect(await verifier.verify({ proof: await client.proof('GET', URL_), method: 'POST', url: URL_ })).toMatchObject({ reason: 'htm-mismatch' });
    expect(await verifier.verify({ proof: await client.proof('get', URL_), method: 'GET', url: URL_ })).toMatchObject({ reason: 'htm-mismatch' });
    expect(await verifier.verify({ proof: await client.proof('GET', `${URL_}/other`), method: 'GET', url: URL_ })).toMatchObject({ reason: 'htu-mismatch' });
    expect(await verifier.verify({ proof: await client.proof('GET', 'https://evil.example.test/v1/things'), method: 'GET', url: URL_ })).toMatchObject({ reason: 'htu-mismatch' });
    for (const claim of ['jti', 'htm', 'htu', 'iat']) {
      const proof = await client.proof('GET', URL_, { claims: { [claim]: undefined } });
      expect(await verifier.verify({ proof, method: 'GET', url: URL_ })).toMatchObject({ ok: false, reason: 'invalid-claims' });
    }
  });

  it('accepts iat within maxAge and clockSkew, and refuses older or later proofs', async () => {
    const { clock, verifier } = setup({ maxAge: '60s', clockSkew: '10s' });
    const client = await dpopClient('ES256', { now: clock.now });
    const now = Math.floor(clock.now() / 1000);
    const at = async (iat: number) => verifier.verify({ proof: await client.proof('GET', URL_, { iat }), method: 'GET', url: URL_ });
    expect(await at(now - 70)).toMatchObject({ ok: true });
    expect(await at(now + 10)).toMatchObject({ ok: true });
    expect(await at(now - 71)).toMatchObject({ ok: false, reason: 'iat-too-old' });
    expect(await at(now + 11)).toMatchObject({ ok: false, reason: 'iat-in-future' });
    expect(await at(now - 3600)).toMatchObject({ ok: false, reason: 'iat-too-old' });
  });

  it('refuses a proof replayed, within its window and on a second verifier sharing the cache', async () => {
    const clock = manualClock();
    const cache = memoryReplayCache({ clock });
    const one = createDpopVerifier({ replayCache: cache, clock });
    const two = createDpopVerifier({ replayCache: cache, clock });
    const client = await dpopClient('ES256', { now: clock.now });
    const proof = await client.proof('GET', URL_);
    expect(await one.verify({ proof, method: 'GET', url: URL_ })).toMatchObject({ ok: true });
    expect(await one.verify({ proof, method: 'GET', url: URL_ })).toMatchObject({ ok: false, reason: 'replayed' });
    expect(await two.verify({ proof, method: 'GET', url: URL_ })).toMatchObject({ ok: false, reason: 'replayed' });
    // A refused proof never took a place: the same jti on a correct, fresh proof of another key is still free.
    const other = await dpopClient('ES256', { now: clock.now });
    const jti = 'shared-jti';
    expect(await one.verify({ proof: await client.proof('GET', URL_, { claims: { jti } }), method: 'GET', url: URL_ })).toMatchObject({ ok: true });
    expect(await one.verify({ proof: await other.proof('GET', URL_, { claims: { jti } }), method: 'GET', url: URL_ })).toMatchObject({ ok: true });
  });

  it('requires ath to be the hash of the access token presented with the proof', async () => {
    const { clock, verifier } = setup();
    const client = await dpopClient('ES256', { now: clock.now });
    const token = 'eyJhbGciOiJFZERTQSJ9.e30.c2ln';
    expect(await verifier.verify({ proof: await client.proof('GET', URL_, { accessToken: token }), method: 'GET', url: URL_, accessToken: token })).toMatchObject({ ok: true });
    expect(await verifier.verify({ proof: await client.proof('GET', URL_), method: 'GET', url: URL_, accessToken: token })).toMatchObject({ reason: 'ath-missing' });
    const other = await client.proof('GET', URL_, { claims: { ath: athOf(`${token}x`) } });
    expect(await verifier.verify({ proof: other, method: 'GET', url: URL_, accessToken: token })).toMatchObject({ reason: 'ath-mismatch' });
  });

  it('refuses a missing header, two headers, and anything that is not one compact JWT', async () => {
    const { clock, verifier } = setup();
    const client = await dpopClient('ES256', { now: clock.now });
    const a = await client.proof('GET', URL_);
    const b = await client.proof('GET', URL_);
    expect(await verifier.verify({ proof: undefined, method: 'GET', url: URL_ })).toMatchObject({ reason: 'missing' });
    expect(await verifier.verify({ proof: [], method: 'GET', url: URL_ })).toMatchObject({ reason: 'missing' });
    expect(await verifier.verify({ proof: [a, b], method: 'GET', url: URL_ })).toMatchObject({ reason: 'multiple' });
    for (const bad of [`${a}, ${b}`, `${a}.x`, 'not a jwt', `${a} `, 'a'.repeat(9000)]) {
      expect(await verifier.verify({ proof: bad, method: 'GET', url: URL_ })).toMatchObject({ ok: false, reason: 'malformed' });
    }
  });

  it('throws a TypeError for a request it cannot check (no absolute URL, no method)', async () => {
    const { verifier } = setup();
    await expect(verifier.verify({ proof: 'x', method: 'GET', url: '/v1/things' })).rejects.toThrow(TypeError);
    await expect(verifier.verify({ proof: 'x', method: 'G T', url: URL_ })).rejects.toThrow(TypeError);
  });

  it('refuses unknown and unsafe options at construction', () => {
    const replayCache = memoryReplayCache();
    expect(() => createDpopVerifier({ replayCache, maxAgeSeconds: 5 } as never)).toThrow(/maxAgeSeconds is not an option of createDpopVerifier\(\)/);
    expect(() => createDpopVerifier({} as never)).toThrow(ConfigError);
    expect(() => createDpopVerifier({ replayCache, algorithms: ['HS256'] as never })).toThrow(/algorithms must be/);
    expect(() => createDpopVerifier({ replayCache, algorithms: [] })).toThrow(/algorithms must be/);
    expect(() => createDpopVerifier({ replayCache, clockSkew: '6m' })).toThrow(/clockSkew must be at most 5 minutes/);
    expect(() => createDpopVerifier({ replayCache, maxAge: '2h' })).toThrow(/maxAge must be at most 1 hour/);
    expect(() => createDpopVerifier({ replayCache, nonce: { secret: 'short' } })).toThrow(/nonce\.secret\[0\] is 5 bytes/);
    expect(() => createDpopVerifier({ replayCache, nonce: { secret: 'x'.repeat(32), every: '1m' } as never })).toThrow(/nonce\.every is not an option/);
  });
});
