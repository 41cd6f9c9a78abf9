import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { clientIpResolver, parseForwarded, parseXForwardedFor } from '../../src/http/client.js';

const headers = (h: Record<string, string>) => ({ header: (name: string) => h[name] });

describe('client IP resolution', () => {
  it('trusts no forwarding header by default', () => {
    const ip = clientIpResolver({});
    expect(ip('10.0.0.5', headers({ 'x-forwarded-for': '203.0.113.9' }))).toBe('10.0.0.5');
  });

  it('walks X-Forwarded-For right to left through trusted proxies only', () => {
    const ip = clientIpResolver({ trustProxy: ['10.0.0.0/8'] });
    // The client forged the leftmost entry; the first untrusted hop from the right is the real client.
    expect(ip('10.0.0.5', headers({ 'x-forwarded-for': '1.1.1.1, 203.0.113.9, 10.0.0.3' }))).toBe('203.0.113.9');
    expect(ip('198.51.100.1', headers({ 'x-forwarded-for': '203.0.113.9' }))).toBe('198.51.100.1');
    expect(ip('10.0.0.5', headers({}))).toBe('10.0.0.5');
  });

  it('stops at an entry that is not an address', () => {
    const ip = clientIpResolver({ trustProxy: ['10.0.0.0/8'] });
    expect(ip('10.0.0.5', headers({ 'x-forwarded-for': '203.0.113.9, garbage, 10.0.0.3' }))).toBe('10.0.0.3');
  });

  it('reads RFC 7239 Forwarded, quoted IPv6 and ports included', () => {
    const ip = clientIpResolver({ trustProxy: ['127.0.0.1', '::1'], proxyHeader: 'forwarded' });
    expect(ip('127.0.0.1', headers({ forwarded: 'for="[2001:db8:cafe::17]:4711";proto=https, for=127.0.0.1' }))).toBe('2001:db8:cafe::17');
    expect(ip('::1', headers({ forwarded: 'for=192.0.2.43:8080;by=203.0.113.60' }))).toBe('192.0.2.43');
    expect(ip('::ffff:127.0.0.1', headers({ forwarded: 'for=_hidden, for=198.51.100.17' }))).toBe('198.51.100.17');
  });

  it('reports IPv4-mapped peers as IPv4', () => {
    expect(clientIpResolver({})('::ffff:192.0.2.1', headers({}))).toBe('192.0.2.1');
  });

  it.each([[['10.0.0.0/33']], [['not-an-ip']], [['10.0.0.0/x']], ['10.0.0.1' as never]])('refuses trustProxy %j', (list) => {
    expect(() => clientIpResolver({ trustProxy: list as string[] })).toThrow(ConfigError);
  });

  it('parses Forwarded elements', () => {
    expect(parseForwarded('for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8::1]"')).toEqual(['192.0.2.60', '2001:db8::1']);
    expect(parseForwarded('for=unknown')).toEqual([null]);
    expect(parseForwarded('for="unterminated')).toBeNull();
    expect(parseXForwardedFor('203.0.113.7 , 10.0.0.2:80')).toEqual(['203.0.113.7', '10.0.0.2']);
  });

  it('never throws on arbitrary forwarding headers, and only ever answers an address', () => {
    const xff = clientIpResolver({ trustProxy: ['0.0.0.0/0', '::/0'] });
    const fwd = clientIpResolver({ trustProxy: ['0.0.0.0/0', '::/0'], proxyHeader: 'forwarded' });
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 100 }), (a, b) => {
        for (const value of [a, b, `${a}, 203.0.113.1`, `for="${a}"`]) {
          for (const resolve of [xff, fwd]) {
            const got = resolve('10.0.0.1', headers({ 'x-forwarded-for': value, forwarded: value }));
            expect(typeof got).toBe('string');
            expect(got).toMatch(/^[0-9a-f.:]+$/i);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});
