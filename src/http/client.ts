/**
 * Client context of a request: the client IP, resolved through a configured
 * list of trusted proxies (never trusting forwarding headers by default), and
 * the user agent. The engine uses both for binding, device records and the
 * invalid-token throttle.
 *
 * @module
 */
import { ConfigError } from '../core/errors.js';
import { ipBytes, samePrefix } from '../core/ip.js';

/** Which forwarding header the trusted proxies set. */
export type ProxyHeader = 'x-forwarded-for' | 'forwarded';

/** Options of client-IP resolution. */
export interface TrustProxyOptions {
  /**
   * Addresses or CIDR ranges of the proxies in front of the app
   * (`'10.0.0.0/8'`, `'127.0.0.1'`, `'::1'`, `'fd00::/8'`). Forwarding headers
   * are read only from these peers, right to left, and the first untrusted hop
   * is the client.
   * @default [] (the socket peer is the client)
   */
  trustProxy?: readonly string[];
  /** @default 'x-forwarded-for' */
  proxyHeader?: ProxyHeader;
}

interface Range {
  readonly text: string;
  readonly bits: number;
}

/** @internal resolves the client IP of a request */
export interface ClientIpResolver {
  (remoteAddress: string | undefined, request: { header(name: string): string | undefined }): string | undefined;
}

/** @internal normalises trust-proxy options into a resolver */
export function clientIpResolver(options: TrustProxyOptions): ClientIpResolver {
  const list = options.trustProxy ?? [];
  if (!Array.isArray(list)) throw new ConfigError('trustProxy must be an array of proxy addresses or CIDR ranges, e.g. ["10.0.0.0/8"]');
  const ranges: Range[] = list.map((entry) => range(entry));
  const header = options.proxyHeader ?? 'x-forwarded-for';
  if (header !== 'x-forwarded-for' && header !== 'forwarded') throw new ConfigError("proxyHeader must be 'x-forwarded-for' or 'forwarded'");
  // The socket peer comes from the kernel (or the runtime), not from the client: no need to parse it on every request.
  const direct = (remote: string | undefined): string | undefined =>
    typeof remote === 'string' && remote !== '' && remote.length <= 64 ? clean(remote) : undefined;
  if (ranges.length === 0) return direct;
  const trusted = (ip: string): boolean => ranges.some((r) => samePrefix(ip, r.text, r.bits, r.bits));
  return (remote, request) => {
    const peer = direct(remote);
    if (peer === undefined || !trusted(peer)) return peer;
    const raw = request.header(header);
    if (raw === undefined || raw.length > 4096) return peer;
    const hops = header === 'forwarded' ? parseForwarded(raw) : parseXForwardedFor(raw);
    if (hops === null) return peer;
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i] as string | null;
      // An unknown or obfuscated hop ends the chain: what lies left of it cannot be verified.
      if (hop === null) return client;
      client = hop;
      if (!trusted(hop)) return hop;
    }
    return client;
  };
}

function range(entry: unknown): Range {
  if (typeof entry !== 'string') throw new ConfigError('trustProxy entries must be strings such as "10.0.0.0/8" or "::1"');
  const slash = entry.indexOf('/');
  const text = slash === -1 ? entry : entry.slice(0, slash);
  const bytes = ipBytes(text);
  if (bytes === null) throw new ConfigError(`trustProxy entry ${JSON.stringify(entry)} is not an IP address or CIDR range`);
  const max = bytes.length * 8;
  const bits = slash === -1 ? max : Number(entry.slice(slash + 1));
  if (!Number.isInteger(bits) || bits < 0 || bits > max || (slash !== -1 && !/^\d+$/.test(entry.slice(slash + 1)))) {
    throw new ConfigError(`trustProxy entry ${JSON.stringify(entry)} has an invalid prefix length (0 to ${max})`);
  }
  return { text, bits };
}

/** IPv4-mapped IPv6 peers (`::ffff:1.2.3.4`) are reported as IPv4. */
function clean(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/**
 * Parses an `X-Forwarded-For` value into hops, leftmost first; `null` stands
 * for an entry that is not an IP address. Returns `null` for an empty header.
 * Never throws.
 *
 * @example
 * ```ts
 * parseXForwardedFor('203.0.113.7, 10.0.0.2'); // ['203.0.113.7', '10.0.0.2']
 * ```
 */
export function parseXForwardedFor(value: string): Array<string | null> | null {
  const parts = value.split(',');
  if (parts.length > 64) return null;
  const hops = parts.map((p) => hostOf(p.trim()));
  return hops.length === 0 ? null : hops;
}

/**
 * Parses an RFC 7239 `Forwarded` value into the `for=` hops, leftmost first;
 * `null` stands for an obfuscated or unknown node (`for=_hidden`,
 * `for=unknown`) or a malformed element. Never throws.
 *
 * @example
 * ```ts
 * parseForwarded('for=192.0.2.60;proto=https, for="[2001:db8::1]:4711"'); // ['192.0.2.60', '2001:db8::1']
 * ```
 */
export function parseForwarded(value: string): Array<string | null> | null {
  const hops: Array<string | null> = [];
  const elements = splitOutsideQuotes(value, ',');
  if (elements === null || elements.length > 64) return null;
  for (const element of elements) {
    const pairs = splitOutsideQuotes(element, ';');
    let hop: string | null = null;
    let sawFor = false;
    for (const pair of pairs ?? []) {
      const eq = pair.indexOf('=');
      if (eq === -1) continue;
      if (pair.slice(0, eq).trim().toLowerCase() !== 'for') continue;
      if (sawFor) {
        hop = null; // two for= in one element: malformed
        break;
      }
      sawFor = true;
      let v = pair.slice(eq + 1).trim();
      if (v.startsWith('"')) {
        if (v.length < 2 || !v.endsWith('"')) break;
        v = v.slice(1, -1).replace(/\\(.)/g, '$1');
      }
      hop = hostOf(v);
    }
    hops.push(hop);
  }
  return hops.length === 0 ? null : hops;
}

/** The IP of a node: `1.2.3.4`, `1.2.3.4:80`, `[::1]`, `[::1]:80` or a bare IPv6. */
function hostOf(node: string): string | null {
  let host = node;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end === -1) return null;
    host = host.slice(1, end);
  } else if (host.indexOf(':') !== -1 && host.indexOf(':') === host.lastIndexOf(':')) {
    host = host.slice(0, host.indexOf(':')); // IPv4 with a port
  }
  return ipBytes(host) !== null ? clean(host) : null;
}

function splitOutsideQuotes(s: string, sep: string): string[] | null {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === sep && !quoted) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  if (quoted) return null;
  out.push(s.slice(start));
  return out;
}
