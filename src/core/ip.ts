/**
 * IP address helpers for client binding: parse IPv4/IPv6 text into bytes and
 * compare prefixes. IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`) count as
 * IPv4, as Node reports them for dual-stack sockets.
 *
 * Which text is an address follows `node:net`'s `isIPv4`/`isIPv6` exactly
 * (test/core/ip.test.ts checks the two agree on generated input), without
 * importing it: this runs on every runtime.
 *
 * @module
 */

// The grammar of node:net (lib/internal/net.js): dotted-quad IPv4 without
// leading zeros, and IPv6 in every compressed form, with an IPv4 tail.
const V4_SEG = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])';
const V4 = `(?:${V4_SEG}\\.){3}${V4_SEG}`;
const V6_SEG = '(?:[0-9a-fA-F]{1,4})';
const IPV4 = new RegExp(`^${V4}$`);
const IPV6 = new RegExp(
  '^(?:' +
    `(?:${V6_SEG}:){7}(?:${V6_SEG}|:)|` +
    `(?:${V6_SEG}:){6}(?:${V4}|:${V6_SEG}|:)|` +
    `(?:${V6_SEG}:){5}(?::${V4}|(?::${V6_SEG}){1,2}|:)|` +
    `(?:${V6_SEG}:){4}(?:(?::${V6_SEG}){0,1}:${V4}|(?::${V6_SEG}){1,3}|:)|` +
    `(?:${V6_SEG}:){3}(?:(?::${V6_SEG}){0,2}:${V4}|(?::${V6_SEG}){1,4}|:)|` +
    `(?:${V6_SEG}:){2}(?:(?::${V6_SEG}){0,3}:${V4}|(?::${V6_SEG}){1,5}|:)|` +
    `(?:${V6_SEG}:){1}(?:(?::${V6_SEG}){0,4}:${V4}|(?::${V6_SEG}){1,6}|:)|` +
    `(?::(?:(?::${V6_SEG}){0,5}:${V4}|(?::${V6_SEG}){1,7}|:))` +
    // A zone, as node:net takes it (`fe80::1%eth0`): letters, digits, `-`, `.` and `:`.
    ')(?:%[0-9a-zA-Z-.:]{1,})?$',
);

/** Whether `s` is an IPv4 address in dotted-quad form, as `node:net`'s `isIPv4` says. */
export function isIPv4(s: string): boolean {
  return IPV4.test(s);
}

/** Whether `s` is an IPv6 address (with or without a zone), as `node:net`'s `isIPv6` says. */
export function isIPv6(s: string): boolean {
  return IPV6.test(s);
}

/** Parses an IP address into 4 or 16 bytes, or `null` if it is not one. Never throws. */
export function ipBytes(text: unknown): Uint8Array | null {
  if (typeof text !== 'string' || text.length > 64) return null;
  let s = text;
  const zone = s.indexOf('%');
  if (zone !== -1) s = s.slice(0, zone);
  if (isIPv4(s)) return v4(s);
  if (!isIPv6(s)) return null;
  const out = v6(s);
  // ::ffff:a.b.c.d → IPv4
  if (out[0] === 0 && out.subarray(0, 10).every((b) => b === 0) && out[10] === 0xff && out[11] === 0xff) {
    return out.slice(12);
  }
  return out;
}

function v4(s: string): Uint8Array {
  const parts = s.split('.');
  return Uint8Array.from(parts, (p) => Number(p));
}

function v6(s: string): Uint8Array {
  const out = new Uint8Array(16);
  let head = s;
  let tailV4: Uint8Array | null = null;
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) !== -1) {
    tailV4 = v4(s.slice(lastColon + 1));
    head = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const [left, right] = head.includes('::') ? head.split('::') as [string, string] : [head, null];
  const l = left === '' ? [] : left.split(':');
  const r = right === null || right === '' ? [] : right.split(':');
  const groups = right === null ? l : [...l, ...new Array<string>(8 - l.length - r.length).fill('0'), ...r];
  for (let i = 0; i < 8; i++) {
    const g = parseInt(groups[i] ?? '0', 16);
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  }
  if (tailV4 !== null) out.set(tailV4, 12);
  return out;
}

/**
 * Whether two addresses share their first `v4Bits` (IPv4) or `v6Bits` (IPv6)
 * bits. Addresses of different families, or unparsable ones, never match.
 *
 * @example
 * ```ts
 * samePrefix('203.0.113.7', '203.0.113.99', 24, 64); // true
 * ```
 */
export function samePrefix(a: string, b: string, v4Bits: number, v6Bits: number): boolean {
  if (a === b) return ipBytes(a) !== null;
  const x = ipBytes(a);
  const y = ipBytes(b);
  if (x === null || y === null || x.length !== y.length) return false;
  const bits = Math.max(0, Math.min(x.length * 8, x.length === 4 ? v4Bits : v6Bits));
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (x[i] !== y[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((x[whole] ?? 0) & mask) === ((y[whole] ?? 0) & mask);
}
