/**
 * The `htu` comparison of RFC 9449 section 4.3: query and fragment
 * ignored, then RFC 3986 syntax-based and scheme-based normalisation on
 * both sides. Properties over generated URIs: equivalent spellings of the
 * request URI are accepted, a different scheme, host, port or path is not.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalisedHtu } from '../../src/tokens/lib/htu.js';

const segment = fc.stringMatching(/^[A-Za-z0-9\-._~]{1,8}$/).filter((s) => s !== '.' && s !== '..');
const host = fc.constantFrom('api.example.test', 'localhost', '127.0.0.1', '[::1]', 'xn--bcher-kva.example');
const target = fc.record({ https: fc.boolean(), host, port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }), path: fc.array(segment, { maxLength: 4 }) });
type Target = { https: boolean; host: string; port: number | undefined; path: string[] };

function uri(t: Target): string {
  return `${t.https ? 'https' : 'http'}://${t.host}${t.port === undefined ? '' : `:${t.port}`}/${t.path.join('/')}`;
}

/** An equivalent spelling: case of scheme and host, the default port written out, unreserved characters percent-encoded, dot segments, a query and a fragment. */
function respelled(t: Target, choice: { upper: boolean; defaultPort: boolean; encode: boolean; dots: boolean; query: boolean }): string {
  const scheme = t.https ? 'https' : 'http';
  const port = t.port ?? (choice.defaultPort ? (t.https ? 443 : 80) : undefined);
  const segments = t.path.map((s) => (choice.encode ? s.replace(/[A-Za-z~]/g, (c) => `%${c.charCodeAt(0).toString(16)}`) : s));
  const path = choice.dots ? ['x', '..', '.', ...segments] : segments;
  const h = choice.upper && !t.host.startsWith('xn--') ? t.host.toUpperCase() : t.host;
  return `${choice.upper ? scheme.toUpperCase() : scheme}://${h}${port === undefined ? '' : `:${port}`}/${path.join('/')}${choice.query ? '?a=1&b=2#frag' : ''}`;
}

describe('htu normalisation', () => {
  it('treats equivalent spellings of a URI as the same target', () => {
    fc.assert(
      fc.property(target, fc.record({ upper: fc.boolean(), defaultPort: fc.boolean(), encode: fc.boolean(), dots: fc.boolean(), query: fc.boolean() }), (t, choice) => {
        const expected = normalisedHtu(uri(t));
        expect(expected).not.toBeNull();
        expect(normalisedHtu(respelled(t, choice))).toBe(expected);
      }),
    );
  });

  it('tells apart URIs of another scheme, host, port or path', () => {
    fc.assert(
      fc.property(target, target, (a, b) => {
        const same = a.https === b.https && a.host === b.host && (a.port ?? (a.https ? 443 : 80)) === (b.port ?? (b.https ? 443 : 80)) && a.path.join('/') === b.path.join('/');
        expect(normalisedHtu(uri(a)) === normalisedHtu(uri(b))).toBe(same);
      }),
    );
  });

  it('keeps reserved characters and their encodings apart, and upper-cases percent-encodings', () => {
    expect(normalisedHtu('https://a.test/x%2fy')).toBe('https://a.test/x%2Fy');
    expect(normalisedHtu('https://a.test/x%2Fy')).not.toBe(normalisedHtu('https://a.test/x/y'));
    expect(normalisedHtu('https://a.test/%7euser')).toBe(normalisedHtu('https://a.test/~user'));
    expect(normalisedHtu('https://a.test')).toBe('https://a.test/');
  });

  it('refuses what is no absolute http(s) URI: other schemes, credentials, spaces, relative references', () => {
    for (const bad of ['/v1/things', 'ftp://a.test/x', 'https://user:pw@a.test/x', 'https://user@a.test/x', ' https://a.test/x', 'https://a.test/x y', 'urn:x:y', '']) {
      expect(normalisedHtu(bad)).toBeNull();
    }
  });
});
