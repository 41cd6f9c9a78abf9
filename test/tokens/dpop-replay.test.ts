/**
 * The memory replay cache of DPoP: insert-if-absent with expiry, bounded,
 * failing closed when full (forgetting a live proof would let it be
 * replayed), and the challenge strings and answers of RFC 9449 section 7.1.
 */
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import { checkDpopBinding, dpopAnswer, dpopChallenge } from '../../src/tokens/dpop-answers.js';
import { memoryReplayCache } from '../../src/tokens/dpop-replay.js';

describe('the memory replay cache', () => {
  it('accepts a key once until it expires, then again', async () => {
    const clock = manualClock();
    const cache = memoryReplayCache({ clock });
    const until = clock.now() + 60_000;
    expect(await cache.add('k', until)).toBe(true);
    expect(await cache.add('k', until)).toBe(false);
    clock.advance('59s');
    expect(await cache.add('k', until)).toBe(false);
    clock.advance('1s');
    expect(await cache.add('k', clock.now() + 60_000)).toBe(true);
  });

  it('refuses new keys when full of live ones, and takes them again once some expired', async () => {
    const clock = manualClock();
    const cache = memoryReplayCache({ clock, maxEntries: 3 });
    for (const k of ['a', 'b', 'c']) expect(await cache.add(k, clock.now() + 10_000)).toBe(true);
    expect(await cache.add('d', clock.now() + 10_000)).toBe(false);
    // The live keys were all kept: none of them can be replayed.
    for (const k of ['a', 'b', 'c']) expect(await cache.add(k, clock.now() + 10_000)).toBe(false);
    clock.advance('10s');
    expect(await cache.add('d', clock.now() + 10_000)).toBe(true);
    expect(cache.size).toBeLessThanOrEqual(3);
  });

  it('finds expired keys behind a long-lived one before refusing', async () => {
    const clock = manualClock();
    const cache = memoryReplayCache({ clock, maxEntries: 2 });
    expect(await cache.add('long', clock.now() + 3_600_000)).toBe(true);
    expect(await cache.add('short', clock.now() + 1_000)).toBe(true);
    clock.advance('2s');
    expect(await cache.add('next', clock.now() + 1_000)).toBe(true);
    expect(await cache.add('long', clock.now() + 1_000)).toBe(false);
  });

  it('refuses unknown options', () => {
    expect(() => memoryReplayCache({ max: 5 } as never)).toThrow(/max is not an option of memoryReplayCache\(\)/);
    expect(() => memoryReplayCache({ maxEntries: 0 })).toThrow(/maxEntries must be a positive whole number/);
  });
});

describe('DPoP challenges and answers', () => {
  it('writes the WWW-Authenticate challenge of RFC 9449 section 7.1', () => {
    expect(dpopChallenge({ algs: ['ES256', 'PS256'] })).toBe('DPoP algs="ES256 PS256"');
    expect(dpopChallenge({ algs: ['ES256'], error: 'invalid_token', errorDescription: 'Invalid DPoP key binding', realm: 'api' })).toBe(
      'DPoP realm="api", error="invalid_token", error_description="Invalid DPoP key binding", algs="ES256"',
    );
    expect(() => dpopChallenge({ algs: ['ES256'], error: 'invalid_token', errorDescription: 'a "quoted" word' })).toThrow(TypeError);
    expect(() => dpopChallenge({ algs: [] })).toThrow(TypeError);
  });

  it('answers use_dpop_nonce at a resource with 401, the challenge and the nonce', () => {
    const answer = dpopAnswer({ ok: false, error: 'use_dpop_nonce', reason: 'nonce-missing', nonce: 'n0nce' }, { at: 'resource', algs: ['ES256'] });
    expect(answer).toEqual({
      status: 401,
      headers: { 'dpop-nonce': 'n0nce', 'www-authenticate': 'DPoP error="use_dpop_nonce", error_description="a DPoP nonce is required", algs="ES256"' },
      body: null,
    });
  });

  it('checks cnf.jkt against the scheme and the proof, and fails closed on a binding it cannot check', () => {
    const proof = { ok: true, jkt: 'A'.repeat(43), alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256', x: '', y: '' }, jti: 'j', iat: 0, nonce: null, nonceDue: false } as const;
    const bound = { cnf: { jkt: 'A'.repeat(43) } };
    expect(checkDpopBinding(bound, { scheme: 'DPoP', proof })).toEqual({ ok: true, bound: true });
    expect(checkDpopBinding(bound, { scheme: 'Bearer', proof: null })).toMatchObject({ ok: false, reason: 'bound-token-as-bearer' });
    expect(checkDpopBinding(bound, { scheme: 'DPoP', proof: null })).toMatchObject({ ok: false, reason: 'proof-missing' });
    expect(checkDpopBinding({ cnf: { jkt: 'B'.repeat(43) } }, { scheme: 'DPoP', proof })).toMatchObject({ ok: false, reason: 'key-mismatch' });
    for (const cnf of [null, 'x', { 'x5t#S256': 'abc' }, { jkt: 42 }, { jkt: 'short' }]) {
      expect(checkDpopBinding({ cnf }, { scheme: 'Bearer', proof: null })).toMatchObject({ ok: false, reason: 'unsupported-binding' });
    }
    expect(checkDpopBinding({}, { scheme: 'Bearer', proof: null })).toEqual({ ok: true, bound: false });
    expect(checkDpopBinding({}, { scheme: 'DPoP', proof })).toMatchObject({ ok: false, reason: 'unbound-token-as-dpop' });
  });
});
