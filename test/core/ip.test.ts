/**
 * IP parsing without node:net: src/core/ip.ts says which text is an address
 * exactly as node:net's isIPv4/isIPv6 do (it used them until it had to run
 * on Workers), on hand-picked edge cases and on generated text, and its bytes
 * agree with the address's own notation.
 */
import { isIPv4 as nodeIsIPv4, isIPv6 as nodeIsIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ipBytes, isIPv4, isIPv6 } from '../../src/core/ip.js';

const EDGES = [
  '', '0.0.0.0', '255.255.255.255', '256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', '1.2.3.4 ', ' 1.2.3.4', '1..3.4', '1.2.3.-4',
  '::', '::1', '1::', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1::8', '1:::8', '1::2::3', '12345::1',
  'fe80::1', 'FE80::ABCD', '::ffff:192.0.2.1', '::ffff:192.0.2.256', '64:ff9b::192.0.2.33', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4',
  '::1.2.3.4', 'g::1', ':1', '1:', '::ffff:1.2.3', '2001:db8::', '2001:0db8:0000:0000:0000:0000:0000:0001',
  // Zones, as node:net reads them.
  'fe80::1%eth0', '::%-', '::%', '::%a%b', '::% ', '::%_', '::%a.b:c-d', '1.2.3.4%eth0',
];

/** Text shaped like addresses, often nearly so. */
const addressLike = fc.oneof(
  fc.stringMatching(/^[0-9.]{0,20}$/),
  fc.stringMatching(/^[0-9a-fA-F:.]{0,45}$/),
  fc.tuple(fc.nat(300), fc.nat(300), fc.nat(300), fc.nat(300)).map((p) => p.join('.')),
  fc.ipV6(),
  fc.ipV4(),
  fc.ipV4Extended(),
  fc.string({ maxLength: 40 }),
);

describe('IP parsing without node:net', () => {
  it('agrees with node:net on edge cases', () => {
    for (const text of EDGES) {
      expect(isIPv4(text), text).toBe(nodeIsIPv4(text));
      expect(isIPv6(text), text).toBe(nodeIsIPv6(text));
    }
  });

  it('agrees with node:net on generated text', () => {
    fc.assert(
      fc.property(addressLike, (text) => {
        expect(isIPv4(text)).toBe(nodeIsIPv4(text));
        expect(isIPv6(text)).toBe(nodeIsIPv6(text));
      }),
      { numRuns: 20_000 },
    );
  });

  it('reads the bytes an address spells, IPv4-mapped IPv6 as IPv4, and nothing from other text', () => {
    expect([...(ipBytes('203.0.113.7') ?? [])]).toEqual([203, 0, 113, 7]);
    expect([...(ipBytes('::ffff:203.0.113.7') ?? [])]).toEqual([203, 0, 113, 7]);
    expect([...(ipBytes('2001:db8::1') ?? [])]).toEqual([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect([...(ipBytes('fe80::1%eth0') ?? [])]).toEqual([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    for (const bad of ['01.2.3.4', '1:::8', 'localhost', '', 42, null]) expect(ipBytes(bad)).toBeNull();
  });
});
