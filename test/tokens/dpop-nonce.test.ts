/**
 * Stateless DPoP nonces: an HMAC of a time step under a shared secret, so
 * that instances agree without sharing state. A nonce is good during its
 * step and one step either side, and a rotated secret keeps the nonces
 * already handed out good.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import { createDpopVerifier } from '../../src/tokens/dpop.js';
import { memoryReplayCache } from '../../src/tokens/dpop-replay.js';
import { dpopClient } from '../support/dpop-client.js';

const URL_ = 'https://api.example.test/token';

function verifier(secret: Buffer | Buffer[], clock = manualClock(Date.UTC(2026, 11, 4, 12, 0, 30))) {
  // A maxAge longer than the steps, so that only the nonce decides here.
  return { clock, dpop: createDpopVerifier({ replayCache: memoryReplayCache({ clock }), clock, maxAge: '1h', nonce: { secret, step: '5m' } }) };
}

describe('DPoP server nonces', () => {
  it('keeps one nonce for a whole step, then moves to the next', () => {
    const { clock, dpop } = verifier(randomBytes(32));
    const first = dpop.nonce();
    clock.advance('4m');
    expect(dpop.nonce()).toBe(first);
    clock.advance('1m');
    expect(dpop.nonce()).not.toBe(first);
  });

  it('accepts a nonce during its step and the next, refuses it two steps later as stale', async () => {
    const { clock, dpop } = verifier(randomBytes(32));
    const client = await dpopClient('ES256', { now: clock.now });
    client.nonce = dpop.nonce();
    const at = async () => dpop.verify({ proof: await client.proof('POST', URL_), method: 'POST', url: URL_ });
    expect(await at()).toMatchObject({ ok: true, nonce: client.nonce });
    clock.advance('5m');
    const next = await at();
    expect(next).toMatchObject({ ok: true });
    // The answer hands out the current nonce, so the client moves on.
    expect(next.nonce).not.toBe(client.nonce);
    clock.advance('5m');
    expect(await at()).toMatchObject({ ok: false, error: 'use_dpop_nonce', reason: 'nonce-stale', nonce: dpop.nonce() });
  });

  it('accepts a nonce of the next step from an instance whose clock runs ahead', async () => {
    const secret = randomBytes(32);
    const ahead = verifier(secret, manualClock(Date.UTC(2026, 11, 4, 12, 5, 1)));
    const behind = verifier(secret, manualClock(Date.UTC(2026, 11, 4, 12, 4, 59)));
    const client = await dpopClient('ES256', { now: behind.clock.now });
    client.nonce = ahead.dpop.nonce();
    expect(client.nonce).not.toBe(behind.dpop.nonce());
    expect(await behind.dpop.verify({ proof: await client.proof('POST', URL_), method: 'POST', url: URL_ })).toMatchObject({ ok: true });
  });

  it('keeps nonces of a rotated-out secret good while it is still listed, and refuses them once it is not', async () => {
    const old = randomBytes(32);
    const fresh = randomBytes(32);
    const before = verifier(old);
    const client = await dpopClient('ES256', { now: before.clock.now });
    client.nonce = before.dpop.nonce();
    const rotated = verifier([fresh, old]);
    expect(rotated.dpop.nonce()).not.toBe(client.nonce);
    expect(await rotated.dpop.verify({ proof: await client.proof('POST', URL_), method: 'POST', url: URL_ })).toMatchObject({ ok: true });
    const dropped = verifier(fresh);
    expect(await dropped.dpop.verify({ proof: await client.proof('POST', URL_), method: 'POST', url: URL_ })).toMatchObject({ ok: false, reason: 'nonce-invalid' });
  });

  it('refuses a nonce whose step was altered, even to the current one', async () => {
    const { clock, dpop } = verifier(randomBytes(32));
    const client = await dpopClient('ES256', { now: clock.now });
    const genuine = Buffer.from(dpop.nonce() as string, 'base64url');
    genuine.writeUInt32BE(genuine.readUInt32BE(0) + 1, 0);
    client.nonce = genuine.toString('base64url');
    expect(await dpop.verify({ proof: await client.proof('POST', URL_), method: 'POST', url: URL_ })).toMatchObject({ reason: 'nonce-invalid' });
    for (const nonce of [42, '', 'x'.repeat(27), null]) {
      const proof = await client.proof('POST', URL_, { claims: { nonce } });
      const result = await dpop.verify({ proof, method: 'POST', url: URL_ });
      expect(result.ok).toBe(false);
      expect(result.ok ? null : result.error).toBe('use_dpop_nonce');
    }
  });

  it('marks a proof whose nonce is of the previous step as due to rotate, and one of the current or next step as not', async () => {
    const secret = randomBytes(32);
    const { clock, dpop } = verifier(secret);
    const client = await dpopClient('ES256', { now: clock.now });
    const at = async () => dpop.verify({ proof: await client.proof('POST', URL_), method: 'POST', url: URL_ });
    client.nonce = dpop.nonce();
    expect(await at()).toMatchObject({ ok: true, nonceDue: false });
    clock.advance('5m');
    expect(await at()).toMatchObject({ ok: true, nonceDue: true, nonce: dpop.nonce() });
    // An instance whose clock runs a step ahead minted it: fresher than this instance's own, so kept.
    const ahead = verifier(secret, manualClock(clock.now() + 300_000));
    client.nonce = ahead.dpop.nonce();
    expect(await at()).toMatchObject({ ok: true, nonceDue: false });
  });

  it('marks a proof whose nonce was minted with a rotated-out secret as due, so clients move to the new secret', async () => {
    const old = randomBytes(32);
    const before = verifier(old);
    const client = await dpopClient('ES256', { now: before.clock.now });
    client.nonce = before.dpop.nonce();
    const rotated = verifier([randomBytes(32), old]);
    expect(await rotated.dpop.verify({ proof: await client.proof('POST', URL_), method: 'POST', url: URL_ })).toMatchObject({ ok: true, nonceDue: true, nonce: rotated.dpop.nonce() });
  });

  it('does not ask for a nonce, nor hand one out, when nonces are off', async () => {
    const clock = manualClock();
    const dpop = createDpopVerifier({ replayCache: memoryReplayCache({ clock }), clock });
    const client = await dpopClient('ES256', { now: clock.now });
    expect(dpop.nonce()).toBeNull();
    expect(dpop.requiresNonce).toBe(false);
    expect(await dpop.verify({ proof: await client.proof('POST', URL_), method: 'POST', url: URL_ })).toMatchObject({ ok: true, nonce: null, nonceDue: false });
  });
});
