/**
 * createDbsc()'s options, checked once at construction with messages that
 * say how to fix them, and the memory challenge store: one-time, atomic,
 * expiring, bounded.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../../src/core/clock.js';
import { ConfigError } from '../../../src/core/errors.js';
import { createDbsc, memoryChallengeStore, type DbscOptions } from '../../../src/http/dbsc/index.js';
import { dbscConfig } from '../../../src/http/dbsc/options.js';

const base = (): DbscOptions => ({ secret: randomBytes(32), challenges: memoryChallengeStore() });

describe('DBSC options', () => {
  it('refuses unknown keys, at every level, naming the known ones', () => {
    expect(() => createDbsc({ ...base(), ttl: '5m' } as never)).toThrow('ttl is not an option of createDbsc(); known options: secret, challenges, algorithms, registrationPath, refreshPath, cookie, scope, challengeTtl, authorization, clock');
    expect(() => createDbsc({ ...base(), cookie: { maxAge: 5 } as never })).toThrow('cookie.maxAge is not an option; known options: name, ttl, sameSite, domain');
    expect(() => createDbsc({ ...base(), scope: { path: '/' } as never })).toThrow('scope.path is not an option; known options: origin, includeSite, exclude');
    // Under the HTTP layer's dbsc option, messages name it.
    expect(() => dbscConfig({ ...base(), cookie: { ttl: '2h' } }, 'dbsc.')).toThrow(/^dbsc\.cookie\.ttl must be at most 1 hour/);
  });

  it('refuses a weak or missing secret, and a challenge store without put and take', () => {
    expect(() => createDbsc({ ...base(), secret: 'short' })).toThrow(/secret\[0\] is 5 bytes; a DBSC secret must be at least 32 random bytes/);
    expect(() => createDbsc({ ...base(), secret: undefined } as never)).toThrow(/secret is required/);
    expect(() => createDbsc({ ...base(), challenges: { put: async () => undefined } } as never)).toThrow(/challenges must be a DbscChallengeStore/);
  });

  it('offers only what browsers implement, never none', () => {
    expect(() => createDbsc({ ...base(), algorithms: ['none'] as never })).toThrow(/algorithms must be a non-empty list of 'ES256' and 'RS256'/);
    expect(() => createDbsc({ ...base(), algorithms: [] })).toThrow(ConfigError);
    expect(createDbsc({ ...base(), algorithms: ['ES256', 'ES256'] }).algorithms).toEqual(['ES256']);
  });

  it('keeps the bound cookie prefixed, secure and short-lived', () => {
    expect(() => createDbsc({ ...base(), cookie: { name: 'bound' } })).toThrow(/lacks the __Host- prefix/);
    expect(() => createDbsc({ ...base(), cookie: { name: '__Host-bound', domain: 'example.com' }, scope: { includeSite: true } })).toThrow(/a __Host- cookie cannot have a domain/);
    expect(() => createDbsc({ ...base(), cookie: { ttl: '61m' } })).toThrow(/cookie\.ttl must be at most 1 hour/);
    expect(() => createDbsc({ ...base(), cookie: { ttl: 'soon' } })).toThrow(/cookie\.ttl must be a duration/);
    expect(createDbsc({ ...base(), cookie: { name: '__Secure-bound', domain: 'example.com' }, scope: { includeSite: true } }).cookieName).toBe('__Secure-bound');
  });

  it('ties a site-wide scope to a Domain cookie and back', () => {
    expect(() => createDbsc({ ...base(), scope: { includeSite: true } })).toThrow(/scope\.includeSite: true covers the whole site, so the bound cookie needs cookie\.domain/);
    expect(() => createDbsc({ ...base(), cookie: { name: '__Secure-bound', domain: 'example.com' } })).toThrow(/set scope\.includeSite: true as well/);
  });

  it('wants an origin without a path, even a trailing slash, as Chrome does', () => {
    for (const origin of ['https://app.example.com/', 'https://app.example.com/x', 'http://app.example.com', 'app.example.com', 'https://app.example.com?x']) {
      expect(() => createDbsc({ ...base(), scope: { origin } })).toThrow(/scope\.origin must be an https origin/);
    }
    expect(() => createDbsc({ ...base(), scope: { origin: 'https://app.example.com' } })).not.toThrow();
  });

  it('wants distinct absolute paths', () => {
    expect(() => createDbsc({ ...base(), registrationPath: 'register' })).toThrow(/registrationPath must be an absolute path/);
    expect(() => createDbsc({ ...base(), refreshPath: '/a"b' })).toThrow(/refreshPath must be an absolute path/);
    expect(() => createDbsc({ ...base(), registrationPath: '/x', refreshPath: '/x' })).toThrow('registrationPath and refreshPath must differ');
    expect(() => createDbsc({ ...base(), scope: { exclude: ['static'] } })).toThrow(/scope\.exclude\[0\] must be an absolute path/);
  });
});

describe('the memory challenge store', () => {
  it('gives a challenge to exactly one of many concurrent takers', async () => {
    const store = memoryChallengeStore();
    await store.put('c', 'r.owner', Date.now() + 60_000);
    const taken = await Promise.all(Array.from({ length: 20 }, () => store.take('c')));
    expect(taken.filter((t) => t !== null)).toEqual(['r.owner']);
  });

  it('forgets a challenge once it expired', async () => {
    const clock = manualClock();
    const store = memoryChallengeStore({ clock });
    await store.put('a', 'o', clock.now() + 1_000);
    await store.put('b', 'o', clock.now() + 1_000);
    clock.advance(999);
    expect(await store.take('a')).toBe('o');
    clock.advance(1);
    expect(await store.take('b')).toBeNull();
  });

  it('stays within maxEntries by dropping the oldest challenge, which is then refused', async () => {
    const clock = manualClock();
    const store = memoryChallengeStore({ clock, maxEntries: 2 });
    for (const c of ['a', 'b', 'c']) await store.put(c, 'o', clock.now() + 60_000);
    expect(store.size).toBe(2);
    expect(await store.take('a')).toBeNull();
    expect(await store.take('c')).toBe('o');
  });

  it('refuses unknown options', () => {
    expect(() => memoryChallengeStore({ ttl: 5 } as never)).toThrow(/ttl is not an option of memoryChallengeStore\(\)/);
  });
});
