import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { cookieConfig } from '../../src/http/cookies.js';
import { checkOrigin, csrfConfig, csrfTokenFor, csrfTokenMatches } from '../../src/http/csrf.js';

const session = cookieConfig(undefined, false);
const cfg = csrfConfig({ trustedOrigins: ['https://admin.example.com'] }, session, false)!;

describe('CSRF origin checks', () => {
  const table: Array<[string | undefined, string | undefined, string]> = [
    ['same-origin', 'https://evil.example', 'pass'],
    ['none', undefined, 'pass'],
    ['cross-site', 'https://evil.example', 'csrf-cross-site'],
    ['cross-site', 'https://admin.example.com', 'pass'],
    ['same-site', 'https://blog.example.com', 'needs-token'],
    ['same-site', 'https://admin.example.com', 'pass'],
    [undefined, 'https://app.example.com', 'pass'],
    [undefined, 'https://evil.example', 'csrf-origin-mismatch'],
    [undefined, 'null', 'needs-token'],
    [undefined, undefined, 'needs-token'],
    [undefined, 'not a url', 'csrf-origin-mismatch'],
  ];
  it.each(table)('Sec-Fetch-Site %s with Origin %s → %s', (secFetchSite, origin, verdict) => {
    expect(checkOrigin(cfg, { secFetchSite, origin, host: 'app.example.com' })).toBe(verdict);
  });

  it('never throws and never passes a cross-site request from an untrusted origin', () => {
    fc.assert(
      fc.property(fc.option(fc.string()), fc.option(fc.string()), fc.option(fc.string()), (site, origin, host) => {
        const v = checkOrigin(cfg, { secFetchSite: site ?? undefined, origin: origin ?? undefined, host: host ?? undefined });
        if (site === 'cross-site' && origin !== 'https://admin.example.com') expect(v).toBe('csrf-cross-site');
      }),
    );
  });

  it('refuses trusted origins with a path', () => {
    expect(() => csrfConfig({ trustedOrigins: ['https://a.example/path'] }, session, false)).toThrow(ConfigError);
  });

  it('names the double-submit cookie __Host-csrf (__Secure-csrf beside a shared session cookie) and refuses other names outside development', () => {
    expect(csrfConfig({ cookie: true }, session, false)?.cookieName).toBe('__Host-csrf');
    expect(csrfConfig({ cookie: {} }, session, false)?.cookieName).toBe('__Host-csrf');
    expect(csrfConfig({ cookie: true }, cookieConfig({ domain: 'example.com' }, false), false)?.cookieName).toBe('__Secure-csrf');
    expect(csrfConfig({ cookie: true }, cookieConfig({ secure: false }, true), true)?.cookieName).toBe('csrf');
    expect(() => csrfConfig({ cookie: { name: 'XSRF-TOKEN' } }, session, false)).toThrow('csrf.cookie.name "XSRF-TOKEN" lacks the __Host- prefix');
    expect(csrfConfig({ cookie: { name: 'XSRF-TOKEN' } }, session, true)?.cookieName).toBe('XSRF-TOKEN');
  });
});

describe('CSRF tokens', () => {
  const token = `${'a'.repeat(22)}.${'b'.repeat(43)}`;
  it('are bound to the session token and compare in constant time', () => {
    const csrf = csrfTokenFor(token);
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(csrf).not.toContain('b'.repeat(10));
    expect(csrfTokenMatches(csrf, token)).toBe(true);
    expect(csrfTokenMatches(csrf, `${'a'.repeat(22)}.${'c'.repeat(43)}`)).toBe(false);
    expect(csrfTokenMatches(undefined, token)).toBe(false);
    fc.assert(
      fc.property(fc.anything(), (v) => {
        expect(csrfTokenMatches(v, token)).toBe(v === csrf);
      }),
    );
  });
});
