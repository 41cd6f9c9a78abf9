import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { hashSecret, isHandle, mintToken, parseToken, secretMatches, TOKEN_LENGTH } from '../../src/core/token.js';

describe('tokens', () => {
  it('are 10,000 distinct handles and secrets of 128 and 256 random bits', () => {
    const handles = new Set<string>();
    const secrets = new Set<string>();
    const ones = new Array<number>(256).fill(0);
    const N = 10_000;
    for (let i = 0; i < N; i++) {
      const t = mintToken();
      handles.add(t.handle);
      secrets.add(t.secret);
      const bytes = Buffer.from(t.secret, 'base64url');
      expect(bytes.length).toBe(32);
      expect(Buffer.from(t.handle, 'base64url').length).toBe(16);
      for (let bit = 0; bit < 256; bit++) ones[bit]! += (bytes[bit >> 3]! >> (bit & 7)) & 1;
    }
    expect(handles.size).toBe(N);
    expect(secrets.size).toBe(N);
    // Every bit position is set about half the time: a counter, a timestamp or
    // a fixed byte would pin some positions near 0 or N. 6 sigma bounds.
    const sigma = Math.sqrt(N) / 2;
    for (const count of ones) expect(Math.abs(count - N / 2)).toBeLessThan(6 * sigma);
  });

  it('round-trip through parseToken', () => {
    for (let i = 0; i < 100; i++) {
      const t = mintToken();
      expect(t.token).toHaveLength(TOKEN_LENGTH);
      expect(parseToken(t.token)).toEqual({ handle: t.handle, secret: t.secret });
      expect(isHandle(t.handle)).toBe(true);
    }
  });

  it('store only a hash that matches its own secret and no other', () => {
    const a = mintToken();
    const b = mintToken();
    expect(a.secretHash).not.toContain(a.secret);
    expect(secretMatches(a.secret, a.secretHash)).toBe(true);
    expect(secretMatches(b.secret, a.secretHash)).toBe(false);
    expect(hashSecret(a.secret)).toBe(a.secretHash);
    expect(secretMatches(a.secret, 'short')).toBe(false);
  });

  it('refuse a stored hash that differs in any one character', () => {
    const { secret, secretHash } = mintToken();
    fc.assert(
      fc.property(fc.nat(secretHash.length - 1), fc.constantFrom(...'AZaz09-_\u00e9\u0100'), (pos, ch) => {
        const other = secretHash.slice(0, pos) + ch + secretHash.slice(pos + 1);
        expect(secretMatches(secret, other)).toBe(other === secretHash);
      }),
    );
  });

  it('parseToken never throws and accepts only the exact shape', () => {
    fc.assert(
      fc.property(fc.anything(), (v) => {
        const parsed = parseToken(v);
        if (parsed !== null) {
          expect(typeof v).toBe('string');
          expect(`${parsed.handle}.${parsed.secret}`).toBe(v);
        }
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const parsed = parseToken(s);
        expect(parsed === null || /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/.test(s)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('rejects any single-character change that breaks the alphabet or layout', () => {
    const { token } = mintToken();
    fc.assert(
      fc.property(fc.nat(TOKEN_LENGTH - 1), fc.constantFrom('.', '=', '+', '/', ' ', '\0', 'é', '%'), (pos, ch) => {
        const mutated = token.slice(0, pos) + ch + token.slice(pos + 1);
        if (mutated === token) return;
        expect(parseToken(mutated)).toBeNull();
      }),
    );
    expect(parseToken(`${token}A`)).toBeNull();
    expect(parseToken(token.slice(1))).toBeNull();
  });
});
