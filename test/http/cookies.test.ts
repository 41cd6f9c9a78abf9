import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { clearCookieHeader, cookieConfig, readCookie, setCookieHeader, MAX_COOKIE_AGE, MAX_COOKIE_HEADER } from '../../src/http/cookies.js';

const TOKEN = `${'a'.repeat(22)}.${'b'.repeat(43)}`;

describe('cookie configuration', () => {
  it('defaults to a __Host-session browser-session cookie that is Secure, HttpOnly, SameSite=Lax and Path=/', () => {
    const cfg = cookieConfig(undefined, false);
    expect(setCookieHeader(cfg, TOKEN, 3600)).toBe(`__Host-session=${TOKEN}; Path=/; HttpOnly; Secure; SameSite=Lax`);
    expect(clearCookieHeader(cfg)).toBe('__Host-session=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax');
  });

  it('gives a persistent cookie a Max-Age, capped at 400 days', () => {
    const cfg = cookieConfig({ persistent: true }, false);
    expect(setCookieHeader(cfg, TOKEN, 3600)).toBe(`__Host-session=${TOKEN}; Max-Age=3600; Path=/; HttpOnly; Secure; SameSite=Lax`);
    expect(MAX_COOKIE_AGE).toBe(400 * 24 * 3600);
    expect(setCookieHeader(cfg, TOKEN, 10 * 365 * 86_400)).toBe(`__Host-session=${TOKEN}; Max-Age=${MAX_COOKIE_AGE}; Path=/; HttpOnly; Secure; SameSite=Lax`);
  });

  it('names the default cookie __Secure-session when a Domain or a narrower path rules __Host- out', () => {
    expect(cookieConfig({ domain: 'example.com' }, false).name).toBe('__Secure-session');
    expect(cookieConfig({ path: '/app' }, false).name).toBe('__Secure-session');
  });

  it('does not mutate the options it is given', () => {
    const opts = Object.freeze({ sameSite: 'strict' as const });
    expect(cookieConfig(opts, false).sameSite).toBe('strict');
  });

  const refusals: Array<[string, Parameters<typeof cookieConfig>[0], boolean, string]> = [
    ['Secure off outside development', { secure: false }, false, 'cookie.secure: false sends the session over plain HTTP; serve over HTTPS, or for local development also pass development: true'],
    ['SameSite=None without Secure', { sameSite: 'none', secure: false, name: 'sid' }, true, "cookie.sameSite: 'none' requires secure: true (browsers reject SameSite=None cookies without Secure)"],
    ['a __Host- cookie with a Domain', { name: '__Host-sid', domain: 'example.com' }, false, 'cookie: a __Host- cookie cannot have a domain; remove domain, or rename the cookie with the __Secure- prefix'],
    ['a __Host- cookie with another path', { name: '__Host-sid', path: '/app' }, false, "cookie: a __Host- cookie must have path '/'; remove path, or rename the cookie with the __Secure- prefix"],
    [
      'an unprefixed name outside development',
      { name: 'sid' },
      false,
      'cookie.name "sid" lacks the __Host- prefix: outside development every latchkey cookie must be __Host- (Secure, Path=/, no Domain) so that no sibling subdomain or plain-HTTP page can plant or overwrite it; rename it "__Host-sid", or for plain-HTTP local development pass development: true',
    ],
    ['a __Secure- name where __Host- fits', { name: '__Secure-sid' }, false, 'cookie.name "__Secure-sid" lacks the __Host- prefix'],
    ['a prefix in another case', { name: '__host-sid' }, false, 'cookie.name "__host-sid" lacks the __Host- prefix'],
    [
      'a shared cookie without __Secure-',
      { name: 'sid', path: '/app' },
      false,
      'cookie.name "sid" lacks the __Secure- prefix: with path "/app" it cannot be __Host-, but outside development it must at least be __Secure- so that no plain-HTTP page can set it; rename it "__Secure-sid" (or drop path and use "__Host-sid"), or for plain-HTTP local development pass development: true',
    ],
    ['a persistent flag that is not a boolean', { persistent: 'yes' } as never, false, 'cookie.persistent must be true'],
    ['the removed browserSession', { browserSession: false } as never, false, 'cookie.browserSession was removed'],
    ['a __Host- cookie without Secure', { name: '__Host-sid', secure: false }, true, 'cookie: a __Host- cookie must be secure; remove secure: false, or rename the cookie'],
    ['a __Secure- cookie without Secure', { name: '__Secure-sid', secure: false }, true, 'cookie: a __Secure- cookie must be secure; remove secure: false, or rename the cookie'],
    ['a script-readable session cookie', { httpOnly: false } as never, false, 'cookie.httpOnly: false would let page scripts read the session token; remove it (for a script-readable CSRF token use csrf.cookie)'],
    ['a name that is not a cookie token', { name: 'my session' }, false, "cookie.name must be a cookie token (letters, digits and !#$%&'*+-.^_`|~)"],
    ['an unknown option', { maxAge: 5 } as never, false, 'cookie.maxAge is not a cookie option; known options: name, secure, sameSite, path, domain, persistent, partitioned, httpOnly'],
  ];
  it.each(refusals)('refuses %s with a message that says how to fix it', (_label, opts, development, message) => {
    expect(() => cookieConfig(opts, development)).toThrow(ConfigError);
    expect(() => cookieConfig(opts, development)).toThrow(message);
  });

  it('allows Secure off and any name with the development flag, dropping the __Host- prefix', () => {
    const cfg = cookieConfig({ secure: false }, true);
    expect(cfg.name).toBe('session');
    expect(setCookieHeader(cfg, TOKEN, 60)).toBe(`session=${TOKEN}; Path=/; HttpOnly; SameSite=Lax`);
    expect(cookieConfig({ name: 'sid' }, true).name).toBe('sid');
  });
});

describe('readCookie', () => {
  it('finds the cookie among others', () => {
    expect(readCookie(`a=1; __Host-session=${TOKEN}; b=2`, '__Host-session')).toBe(TOKEN);
  });

  it('accepts the same value sent twice but refuses two different values (fail closed)', () => {
    expect(readCookie(`__Host-session=${TOKEN}; __Host-session=${TOKEN}`, '__Host-session')).toBe(TOKEN);
    expect(readCookie(`__Host-session=${TOKEN}; __Host-session=other`, '__Host-session')).toBeNull();
  });

  it('ignores oversized headers whole', () => {
    expect(readCookie(`__Host-session=${TOKEN}; pad=${'x'.repeat(MAX_COOKIE_HEADER)}`, '__Host-session')).toBeNull();
  });

  it('does not confuse a cookie whose name ends like ours', () => {
    expect(readCookie(`x__Host-session=${TOKEN}`, '__Host-session')).toBeNull();
  });

  it('returns null for anything that is not a header string', () => {
    for (const v of [undefined, null, 42, {}, [], '']) expect(readCookie(v, 'a')).toBeNull();
  });

  it('never throws and returns null or a string, whatever the header', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), fc.anything()), (header) => {
        const v = readCookie(header, '__Host-session');
        expect(v === null || typeof v === 'string').toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('finds a token wherever it sits among arbitrary other cookies', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9_-]{0,10}$/).filter((n) => n !== '__host-session');
    const value = fc.stringMatching(/^[A-Za-z0-9_.-]{0,20}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { maxLength: 10 }), fc.nat(10), (others, at) => {
        const parts = others.map(([n, v]) => `${n}=${v}`);
        parts.splice(Math.min(at, parts.length), 0, `__Host-session=${TOKEN}`);
        expect(readCookie(parts.join('; '), '__Host-session')).toBe(TOKEN);
      }),
    );
  });
});
