import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { carrierConfig, readBearer, readQueryParameter } from '../../src/http/carriers.js';

describe('carriers', () => {
  it('reads RFC 6750 bearer tokens, case-insensitively on the scheme', () => {
    expect(readBearer('Bearer abc.DEF_-')).toBe('abc.DEF_-');
    expect(readBearer('bearer abc')).toBe('abc');
    expect(readBearer('Basic dXNlcjpwYXNz')).toBeNull();
    expect(readBearer('Bearer')).toBeNull();
    expect(readBearer('Bearer a b')).toBeNull();
    expect(readBearer(`Bearer ${'a'.repeat(2000)}`)).toBeNull();
  });

  it('bounds the bearer token by the length the caller allows (token mode allows its access-token limit)', () => {
    expect(readBearer(`Bearer ${'a'.repeat(1024)}`)).toBe('a'.repeat(1024));
    expect(readBearer(`Bearer ${'a'.repeat(1025)}`)).toBeNull();
    expect(readBearer(`Bearer ${'a'.repeat(8192)}`, 8192)).toBe('a'.repeat(8192));
    expect(readBearer(`Bearer   ${'a'.repeat(8192)}  `, 8192)).toBe('a'.repeat(8192));
    expect(readBearer(`Bearer ${'a'.repeat(8193)}`, 8192)).toBeNull();
    // The header is bounded too, before the pattern runs: a token in the limit, padded far past it, is refused.
    expect(readBearer(`Bearer ${' '.repeat(300)}${'a'.repeat(8000)}`, 8192)).toBeNull();
  });

  it('reads one query parameter and refuses conflicting repeats', () => {
    expect(readQueryParameter('/a?session=x&b=1', 'session')).toBe('x');
    expect(readQueryParameter('/a?session=x&session=y', 'session')).toBeNull();
    expect(readQueryParameter('/a', 'session')).toBeNull();
  });

  it('refuses unknown or repeated carriers', () => {
    expect(() => carrierConfig({ carriers: ['cookie', 'header' as never] })).toThrow(ConfigError);
    expect(() => carrierConfig({ carriers: ['cookie', 'cookie'] })).toThrow(ConfigError);
    expect(() => carrierConfig({ carriers: [] })).toThrow(ConfigError);
  });

  it('never throws on arbitrary Authorization headers or URLs', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), fc.anything()), (v) => {
        const b = readBearer(v);
        expect(b === null || /^[A-Za-z0-9\-._~+/]+=*$/.test(b)).toBe(true);
        if (typeof v === 'string') {
          const q = readQueryParameter(`/p?${v}`, 'session');
          expect(q === null || typeof q === 'string').toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
