import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { clearCookieHeader, cookieConfig, readCookie, setCookieHeader, MAX_COOKIE_HEADER } from '../../src/http/cookies.js';

const TOKEN = `${'a'.repeat(22)}.${'b'.repeat(43)}`;

describe('cookie configuration', () => {
  it('defaults to a __Host- cookie that is Secure, HttpOnly, SameSite=Lax and Path=/', () => {
    const cfg = cookieConfig(undefined, false);
    expect(setCookieHeader(cfg, TOKEN, 3600)).toBe(`__Host-latchkey=${TOKEN}; Max-Age=3600; Path=/; HttpOnly; Secure; SameSite=Lax`);
    expect(clearCookieHeader(cfg)).toBe('__Host-latchkey=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax');
  });

  it('leaves Max-Age out of a browser-session cookie', () => {
    const cfg = cookieConfig({ browserSession: true }, false);
    expect(setCookieHeader(cfg, TOKEN, 3600)).toBe(`__Host-latchkey=${TOKEN}; Path=/; HttpOnly; Secure; SameSite=Lax`);
  });

  it('does not mutate the options it is given', () => {
    const opts = Object.freeze({ sameSite: 'strict' as const });
    expect(cookieConfig(opts, false).sameSite).toBe('strict');
  });

  const refusals: Array<[string, Parameters<typeof cookieConfig>[0], boolean, string]> = [
    ['Secure off outside development', { secure: false }, false, 'cookie.secure: false sends the session over plain HTTP; serve over HTTPS, or for local development also pass development: true'],
    ['SameSite=None without Secure', { sameSite: 'none', secure: false, name: 'sid' }, true, "cookie.sameSite: 'none' requires secure: true (browsers reject SameSite=None cookies without Secure)"],
    ['a __Host- cookie with a Domain', { domain: 'example.com' }, false, 'cookie: a __Host- cookie cannot have a domain; remove domain, or rename the cookie without the __Host- prefix'],
    ['a __Host- cookie with another path', { path: '/app' }, false, "cookie: a __Host- cookie must have path '/'; remove path, or rename the cookie"],
    ['a __Host- cookie without Secure', { name: '__Host-sid', secure: false }, true, 'cookie: a __Host- cookie must be secure; remove secure: false, or rename the cookie'],
    ['a __Secure- cookie without Secure', { name: '__Secure-sid', secure: false }, true, 'cookie: a __Secure- cookie must be secure; remove secure: false, or rename the cookie'],
    ['a script-readable session cookie', { httpOnly: false } as never, false, 'cookie.httpOnly: false would let page scripts read the session token; remove it (for a script-readable CSRF token use csrf.cookie)'],
    ['a name that is not a cookie token', { name: 'my session' }, false, "cookie.name must be a cookie token (letters, digits and !#$%&'*+-.^_`|~)"],
    ['an unknown option', { maxAge: 5 } as never, false, 'cookie.maxAge is not a cookie option; known options: name, secure, sameSite, path, domain, browserSession, partitioned, httpOnly'],
  ];
  it.each(refusals)('refuses %s with a message that says how to fix it', (_label, opts, development, message) => {
    expect(() => cookieConfig(opts, development)).toThrow(ConfigError);
    expect(() => cookieConfig(opts, development)).toThrow(message);
  });

  it('allows Secure off with the development flag, dropping the __Host- prefix', () => {
    const cfg = cookieConfig({ secure: false }, true);
    expect(cfg.name).toBe('latchkey');
    expect(setCookieHeader(cfg, TOKEN, 60)).toBe(`latchkey=${TOKEN}; Max-Age=60; Path=/; HttpOnly; SameSite=Lax`);
  });
});

describe('readCookie', () => {
  it('finds the cookie among others', () => {
    expect(readCookie(`a=1; __Host-latchkey=${TOKEN}; b=2`, '__Host-latchkey')).toBe(TOKEN);
  });

  it('accepts the same value sent twice but refuses two different values (fail closed)', () => {
    expect(readCookie(`__Host-latchkey=${TOKEN}; __Host-latchkey=${TOKEN}`, '__Host-latchkey')).toBe(TOKEN);
    expect(readCookie(`__Host-latchkey=${TOKEN}; __Host-latchkey=other`, '__Host-latchkey')).toBeNull();
  });

  it('ignores oversized headers whole', () => {
    expect(readCookie(`__Host-latchkey=${TOKEN}; pad=${'x'.repeat(MAX_COOKIE_HEADER)}`, '__Host-latchkey')).toBeNull();
  });

  it('does not confuse a cookie whose name ends like ours', () => {
    expect(readCookie(`x__Host-latchkey=${TOKEN}`, '__Host-latchkey')).toBeNull();
  });

  it('returns null for anything that is not a header string', () => {
    for (const v of [undefined, null, 42, {}, [], '']) expect(readCookie(v, 'a')).toBeNull();
  });

  it('never throws and returns null or a string, whatever the header', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), fc.anything()), (header) => {
        const v = readCookie(header, '__Host-latchkey');
        expect(v === null || typeof v === 'string').toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('finds a token wherever it sits among arbitrary other cookies', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9_-]{0,10}$/).filter((n) => n !== '__host-latchkey');
    const value = fc.stringMatching(/^[A-Za-z0-9_.-]{0,20}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { maxLength: 10 }), fc.nat(10), (others, at) => {
        const parts = others.map(([n, v]) => `${n}=${v}`);
        parts.splice(Math.min(at, parts.length), 0, `__Host-latchkey=${TOKEN}`);
        expect(readCookie(parts.join('; '), '__Host-latchkey')).toBe(TOKEN);
      }),
    );
  });
});
