/**
 * The two primitives files (src/core/primitives/node.ts on Node,
 * src/core/primitives/web.ts everywhere else) implement one type and give
 * the same bytes: one suite runs on both, and each result of one is checked
 * against the other on generated input. Both run here on Node, which has the
 * Web platform's crypto too; workerd runs the Web file for real in
 * test/runtimes/.
 */
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as node from '../../src/core/primitives/node.js';
import type { Primitives } from '../../src/core/primitives/types.js';
import * as web from '../../src/core/primitives/web.js';

// Both files export every primitive, with the shared signatures (a compile-time check).
const IMPLEMENTATIONS: Record<'node' | 'web', Primitives> = { node, web };
const enc = new TextEncoder();
const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff);

describe.each(Object.entries(IMPLEMENTATIONS))('the %s primitives', (_name, p) => {
  it('fill bytes from the CSPRNG: two draws differ, and the array filled is the one returned', () => {
    const a = new Uint8Array(64);
    expect(p.randomFill(a)).toBe(a);
    const b = p.randomFill(new Uint8Array(64));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(a.some((x) => x !== 0)).toBe(true);
  });

  it('spell base64url without padding, and read it back', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        const text = p.toBase64url(data);
        expect(text).toBe(Buffer.from(data).toString('base64url'));
        expect([...p.fromBase64url(text)]).toEqual([...data]);
      }),
      { numRuns: 300 },
    );
  });

  it('encode, count and decode UTF-8 as Node does, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        expect(p.utf8Length(text)).toBe(Buffer.byteLength(text, 'utf8'));
        expect([...p.toUtf8(text)]).toEqual([...Buffer.from(text, 'utf8')]);
        expect(p.fromUtf8(Buffer.from(text, 'utf8'))).toBe(Buffer.from(text, 'utf8').toString('utf8'));
      }),
      { numRuns: 500 },
    );
  });

  it('hash with SHA-256 (the NIST vector for "abc")', () => {
    expect(Buffer.from(p.sha256('abc')).toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(p.sha256Base64url('abc')).toBe(createHash('sha256').update('abc').digest('base64url'));
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (text) => {
        expect(p.sha256Base64url(text)).toBe(createHash('sha256').update(text).digest('base64url'));
      }),
    );
  });

  it('compare byte strings: equal, unequal, and of different lengths', () => {
    expect(p.timingSafeEqual(enc.encode('same bytes'), enc.encode('same bytes'))).toBe(true);
    expect(p.timingSafeEqual(enc.encode('same bytes'), enc.encode('same bytez'))).toBe(false);
    expect(p.timingSafeEqual(enc.encode('short'), enc.encode('longer'))).toBe(false);
    expect(p.timingSafeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });

  it("compute HMAC-SHA-512 and HKDF-SHA-256 as node:crypto's own functions do", async () => {
    const key = bytes(32, 1);
    const mac = await p.hmacSha512(await p.hmacSha512Key(key), 'latchkey\0text');
    expect(Buffer.from(mac).toString('hex')).toBe(createHmac('sha512', key).update('latchkey\0text').digest('hex'));
    const okm = await p.hkdfSha256(key, enc.encode('salt'), enc.encode('info'), 42);
    expect(Buffer.from(okm).toString('hex')).toBe(Buffer.from(hkdfSync('sha256', key, 'salt', 'info', 42)).toString('hex'));
  });

  it('seal and open AES-256-GCM, refusing a changed byte, other associated data and another key', async () => {
    const key = await p.aesGcmKey(bytes(32, 2));
    const iv = bytes(12, 3);
    const sealed = await p.aesGcmSeal(key, iv, [enc.encode('head'), enc.encode('ctx')], enc.encode('plaintext'), [enc.encode('PRE')]);
    expect(new TextDecoder().decode(sealed.subarray(0, 3))).toBe('PRE');
    expect(sealed.length).toBe(3 + 9 + 16);
    const body = sealed.subarray(3);
    // Associated data in pieces is their concatenation.
    expect(new TextDecoder().decode((await p.aesGcmOpen(key, iv, [enc.encode('headctx')], body)) ?? undefined)).toBe('plaintext');
    expect(await p.aesGcmOpen(key, iv, [enc.encode('head'), enc.encode('other')], body)).toBeNull();
    const flipped = Uint8Array.from(body);
    flipped[0] = (flipped[0] as number) ^ 1;
    expect(await p.aesGcmOpen(key, iv, [enc.encode('headctx')], flipped)).toBeNull();
    expect(await p.aesGcmOpen(await p.aesGcmKey(bytes(32, 9)), iv, [enc.encode('headctx')], body)).toBeNull();
    expect(await p.aesGcmOpen(key, iv, [], new Uint8Array(5))).toBeNull();
  });
});

describe('Node and Web primitives', () => {
  it('seal bytes that the other opens, both ways', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 500 }), fc.string({ maxLength: 40 }), async (raw, plain, context) => {
        const iv = node.randomFill(new Uint8Array(12));
        const aad = [enc.encode('hdr'), enc.encode(context)];
        const [nk, wk] = [await node.aesGcmKey(raw), await web.aesGcmKey(raw)];
        const byNode = await node.aesGcmSeal(nk, iv, aad, plain, []);
        const byWeb = await web.aesGcmSeal(wk, iv, aad, plain, []);
        expect([...byWeb]).toEqual([...byNode]);
        expect([...((await web.aesGcmOpen(wk, iv, aad, byNode)) ?? [])]).toEqual([...plain]);
        expect([...((await node.aesGcmOpen(nk, iv, aad, byWeb)) ?? [])]).toEqual([...plain]);
      }),
      { numRuns: 100 },
    );
  });

  it('agree on base64url of lenient input (what the sealer checks before decoding)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{0,64}$/), (text) => {
        if (text.length % 4 === 1) return;
        expect([...web.fromBase64url(text)]).toEqual([...node.fromBase64url(text)]);
      }),
      { numRuns: 500 },
    );
  });
});
