import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bindingMismatch, expiryOf, isFresh, needsRenewal, needsTouch, nextIdleDeadline } from '../../src/core/policy.js';
import { parseDuration } from '../../src/core/duration.js';
import { samePrefix, ipBytes } from '../../src/core/ip.js';
import { parseUserAgent } from '../../src/core/device.js';

const time = fc.integer({ min: 0, max: 4_000_000_000_000 });
const span = fc.integer({ min: 1000, max: 30 * 86_400_000 });

describe('timeout policy', () => {
  it('a session is never valid at or past either deadline, and always valid before both', () => {
    fc.assert(
      fc.property(time, time, time, (idle, abs, now) => {
        const v = expiryOf({ idleExpiresAt: idle, absoluteExpiresAt: abs }, now);
        if (now >= abs) expect(v).toBe('expired-absolute');
        else if (now >= idle) expect(v).toBe('expired-idle');
        else expect(v).toBeNull();
      }),
    );
  });

  it('a touch never moves the idle deadline past the absolute deadline, nor before now', () => {
    fc.assert(
      fc.property(span, time, span, (idleMs, now, remaining) => {
        const abs = now + remaining;
        const next = nextIdleDeadline({ idleMs, absoluteMs: idleMs, touchIntervalMs: 0 }, abs, now);
        expect(next).toBeLessThanOrEqual(abs);
        expect(next).toBeGreaterThan(now);
      }),
    );
  });

  it('touches at most once per interval', () => {
    fc.assert(
      fc.property(span, fc.integer({ min: 1, max: 60_000 }), time, fc.integer({ min: 0, max: 120_000 }), (idleMs, interval, seen, elapsed) => {
        const touch = needsTouch(
          { idleMs, absoluteMs: idleMs * 10, touchIntervalMs: interval },
          { lastSeenAt: seen, idleExpiresAt: seen + idleMs, absoluteExpiresAt: seen + idleMs * 10 },
          seen + elapsed,
        );
        expect(touch).toBe(elapsed >= interval);
      }),
    );
  });

  it('freshness holds exactly within maxAge of the last authentication', () => {
    fc.assert(
      fc.property(time, fc.integer({ min: 0, max: 86_400_000 }), fc.integer({ min: 0, max: 86_400_000 }), (auth, age, maxAge) => {
        expect(isFresh({ authTime: auth }, maxAge, auth + age)).toBe(age <= maxAge);
        expect(isFresh({ authTime: null }, maxAge, auth + age)).toBe(false);
      }),
    );
  });

  it('renews when the token is old enough or was idle long enough', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e7 }), fc.integer({ min: 0, max: 1e7 }), time, fc.integer({ min: 0, max: 2e7 }), fc.integer({ min: 0, max: 2e7 }), (intervalMs, afterIdleMs, issued, sinceIssue, sinceSeen) => {
        const now = issued + sinceIssue;
        const r = needsRenewal({ intervalMs, afterIdleMs, overlapMs: 0 }, { issuedAt: issued, lastSeenAt: now - sinceSeen }, now);
        expect(r).toBe((intervalMs > 0 && sinceIssue >= intervalMs) || (afterIdleMs > 0 && sinceSeen >= afterIdleMs));
      }),
    );
  });
});

describe('binding policy', () => {
  const ua = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0';
  const rec = { ip: '203.0.113.5', userAgent: ua, device: parseUserAgent(ua) };
  it('matches the same client and names the attribute that differs', () => {
    const p = { userAgent: true, ip: { v4: 24, v6: 64 }, onMismatch: 'reauth' as const };
    expect(bindingMismatch(p, rec, { ip: '203.0.113.99', userAgent: ua })).toBeNull();
    expect(bindingMismatch(p, rec, { ip: '203.0.113.99', userAgent: 'curl/8' })).toBe('user-agent');
    expect(bindingMismatch(p, rec, { ip: '198.51.100.1', userAgent: ua })).toBe('ip');
    expect(bindingMismatch(p, rec, { userAgent: ua })).toBe('ip');
    expect(bindingMismatch(p, null, { ip: '1.1.1.1' })).toBeNull();
  });
});

describe('durations', () => {
  it('read units and sums', () => {
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('12h')).toBe(43_200_000);
    expect(parseDuration('1h 30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration(42)).toBe(42);
    for (const bad of ['', 'soon', '5', '-1s', '5 parsecs', 'm', NaN, -1, Infinity]) expect(parseDuration(bad as string)).toBeUndefined();
  });

  it('never throw and agree with n * unit', () => {
    fc.assert(fc.property(fc.string(), (s) => void parseDuration(s)));
    const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), fc.constantFrom(...(Object.keys(units) as Array<keyof typeof units>)), (n, u) => {
        expect(parseDuration(`${n}${u}`)).toBe(n * units[u]);
      }),
    );
  });
});

describe('IP prefixes', () => {
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
  const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':'));

  it('an address always shares every prefix with itself and full prefixes mean equality', () => {
    fc.assert(
      fc.property(v4, v4, fc.nat(32), (a, b, bits) => {
        expect(samePrefix(a, a, bits, 64)).toBe(true);
        expect(samePrefix(a, b, bits, 64)).toBe(samePrefix(b, a, bits, 64));
        expect(samePrefix(a, b, 32, 64)).toBe(a === b);
        expect(samePrefix(a, b, 0, 64)).toBe(true);
      }),
    );
    fc.assert(
      fc.property(v6, v6, (a, b) => {
        expect(samePrefix(a, a, 24, 64)).toBe(true);
        expect(samePrefix(a, b, 24, 128)).toBe(Buffer.from(ipBytes(a)!).equals(Buffer.from(ipBytes(b)!)));
      }),
    );
  });

  it('reads compressed, mapped and zoned IPv6', () => {
    expect(samePrefix('2001:db8::1', '2001:db8:0:0:ffff::2', 24, 64)).toBe(true);
    expect(samePrefix('2001:db8::1', '2001:db9::1', 24, 64)).toBe(false);
    expect(samePrefix('::ffff:192.0.2.1', '192.0.2.200', 24, 64)).toBe(true);
    expect(samePrefix('fe80::1%eth0', 'fe80::2', 24, 64)).toBe(true);
    expect(samePrefix('192.0.2.1', '2001:db8::1', 0, 0)).toBe(false);
  });

  it('never throws on garbage', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.string({ maxLength: 80 }), fc.integer(), fc.integer(), (a, b, v4, v6) => {
        expect(typeof samePrefix(a, b, v4, v6)).toBe('boolean');
      }),
    );
    fc.assert(fc.property(fc.anything(), (a) => void ipBytes(a)));
  });
});

describe('user agents', () => {
  it.each([
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1', 'Safari', 'iOS', 'mobile'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0', 'Edge', 'Windows', 'desktop'],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', 'Chrome', 'Android', 'mobile'],
    ['Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', 'Chrome', 'Android', 'tablet'],
    ['Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1', 'Safari', 'iPadOS', 'tablet'],
    ['Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', 'Firefox', 'Linux', 'desktop'],
    ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'Unknown', 'Unknown', 'bot'],
    ['curl/8.5.0', 'curl', 'Unknown', 'unknown'],
  ])('classifies %s', (ua, browser, os, type) => {
    expect(parseUserAgent(ua)).toEqual({ browser, os, type });
  });

  it('never throws and returns one of the known form factors', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 2000 }), fc.constant(null), fc.constant(undefined)), (ua) => {
        expect(['desktop', 'mobile', 'tablet', 'bot', 'unknown']).toContain(parseUserAgent(ua).type);
      }),
    );
  });
});
