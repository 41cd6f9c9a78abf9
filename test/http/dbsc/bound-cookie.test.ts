/**
 * The bound cookie: an HMAC over the DBSC session identifier, the expiry and the
 * key thumbprint, checked with no store read, failing closed on anything
 * forged, altered, expired or meant for another session or key; a new
 * value at every mint; rotation of the deployment secret.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../../src/core/clock.js';
import { createDbsc, memoryChallengeStore, type DbscBinding } from '../../../src/http/dbsc/index.js';

const binding = (jkt: string, id = 'id-1'): DbscBinding => ({ id, alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256', x: '', y: '' }, jkt, at: 0 });
const JKT = 'A'.repeat(43);

function dbsc(secret: string | Buffer | Buffer[] = randomBytes(32), clock = manualClock()) {
  return { clock, d: createDbsc({ secret, challenges: memoryChallengeStore({ clock }), clock, cookie: { ttl: '10m' } }) };
}
const valueOf = (line: readonly [string, string]) => /^__Host-bound=([^;]*)/.exec(line[1])![1]!;
const cookie = (value: string) => `__Host-session=x; __Host-bound=${value}`;

describe('the bound cookie', () => {
  it('is accepted for its session and key until it expires, and refused from then on', () => {
    const { clock, d } = dbsc();
    const value = valueOf(d.boundCookie(binding(JKT)));
    expect(d.checkBoundCookie(cookie(value), binding(JKT))).toEqual({ ok: true, expiresAt: clock.now() + 600_000 });
    clock.advance(599_999);
    expect(d.checkBoundCookie(cookie(value), binding(JKT)).ok).toBe(true);
    clock.advance(1);
    expect(d.checkBoundCookie(cookie(value), binding(JKT))).toEqual({ ok: false, reason: 'expired' });
  });

  it('is refused for another DBSC session or another key, and under another deployment secret', () => {
    const { d } = dbsc();
    const value = valueOf(d.boundCookie(binding(JKT)));
    expect(d.checkBoundCookie(cookie(value), binding(JKT, 'id-2'))).toEqual({ ok: false, reason: 'forged' });
    expect(d.checkBoundCookie(cookie(value), binding('B'.repeat(43)))).toEqual({ ok: false, reason: 'forged' });
    expect(dbsc().d.checkBoundCookie(cookie(value), binding(JKT))).toEqual({ ok: false, reason: 'forged' });
  });

  it('refuses every altered value: no bit of it can be changed, the expiry included', () => {
    const { d } = dbsc();
    const value = valueOf(d.boundCookie(binding(JKT)));
    const bytes = Buffer.from(value, 'base64url');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length * 8 - 1 }), (bit) => {
        const altered = Buffer.from(bytes);
        altered[bit >> 3]! ^= 1 << (bit & 7);
        expect(d.checkBoundCookie(cookie(altered.toString('base64url')), binding(JKT)).ok).toBe(false);
      }),
      { numRuns: bytes.length * 8 },
    );
  });

  it('still refuses a value it verified before for another DBSC session or key, and once expired', () => {
    const { clock, d } = dbsc();
    const value = valueOf(d.boundCookie(binding(JKT)));
    expect(d.checkBoundCookie(cookie(value), binding(JKT)).ok).toBe(true);
    // Remembered as verified, for this session and key only.
    expect(d.checkBoundCookie(cookie(value), binding(JKT, 'id-2'))).toEqual({ ok: false, reason: 'forged' });
    expect(d.checkBoundCookie(cookie(value), binding('B'.repeat(43)))).toEqual({ ok: false, reason: 'forged' });
    expect(d.checkBoundCookie(cookie(value), binding(JKT)).ok).toBe(true);
    clock.advance('10m');
    expect(d.checkBoundCookie(cookie(value), binding(JKT))).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses made-up and malformed values without throwing', () => {
    const { d } = dbsc();
    const session = binding(JKT);
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.uint8Array({ minLength: 29, maxLength: 29 }).map((b) => Buffer.from(b).toString('base64url'))), (v) => {
        expect(d.checkBoundCookie(cookie(v), session).ok).toBe(false);
      }),
    );
    expect(d.checkBoundCookie(undefined, session)).toEqual({ ok: false, reason: 'missing' });
    expect(d.checkBoundCookie('__Host-session=x', session)).toEqual({ ok: false, reason: 'missing' });
    // Two different bound cookies in one header is an ambiguous (possibly planted) header: no cookie.
    const a = valueOf(d.boundCookie(binding(JKT)));
    const b = valueOf(d.boundCookie(binding(JKT)));
    expect(d.checkBoundCookie(`__Host-bound=${a}; __Host-bound=${b}`, session)).toEqual({ ok: false, reason: 'missing' });
  });

  it('changes value at every mint, even twice in the same second', () => {
    const { d } = dbsc();
    const values = new Set(Array.from({ length: 50 }, () => valueOf(d.boundCookie(binding(JKT)))));
    expect(values.size).toBe(50);
  });

  it('stays good across a rotation of the deployment secret while the old secret is listed second', () => {
    const old = randomBytes(32);
    const clock = manualClock();
    const before = dbsc(old, clock).d;
    const value = valueOf(before.boundCookie(binding(JKT)));
    const rotated = dbsc([randomBytes(32), old], clock).d;
    expect(rotated.checkBoundCookie(cookie(value), binding(JKT)).ok).toBe(true);
    // What the rotated deployment mints, the old one does not accept.
    const fresh = valueOf(rotated.boundCookie(binding(JKT)));
    expect(before.checkBoundCookie(cookie(fresh), binding(JKT))).toEqual({ ok: false, reason: 'forged' });
  });

  it('is set with the attributes the instructions name, and cleared with Max-Age=0', () => {
    const { d } = dbsc();
    expect(d.boundCookie(binding(JKT))[1]).toMatch(/^__Host-bound=[A-Za-z0-9_-]{39}; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    expect(d.clearBoundCookie()).toEqual(['set-cookie', '__Host-bound=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax']);
  });
});
