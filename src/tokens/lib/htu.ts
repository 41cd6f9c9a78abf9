/**
 * The HTTP target URI of a DPoP proof (`htu`), normalised for comparison as
 * RFC 9449 section 4.3 asks: query and fragment ignored, then syntax-based
 * (RFC 3986 section 6.2.2) and scheme-based (section 6.2.3) normalisation.
 *
 * The WHATWG URL parser does most of it: it lower-cases scheme and host,
 * drops the scheme's default port, turns an empty path into `/`, removes dot
 * segments (`%2e` included) and percent-encodes what RFC 3986 does not
 * allow raw. What it leaves is percent-encoding normalisation: `%7e` and
 * `~` are the same unreserved character, `%2f` and `%2F` the same octet.
 *
 * @module
 * @internal
 */

const PERCENT = /%([0-9A-Fa-f]{2})/g;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const URI_CHARS = /^[\x21-\x7e]{1,4096}$/;

function percentNormalised(path: string): string {
  if (!path.includes('%')) return path;
  return path.replace(PERCENT, (_, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

/**
 * `scheme://host[:port]/path` of an absolute `http:` or `https:` URI, or
 * `null` when the value is no such URI or carries credentials (userinfo is
 * never part of a target URI, RFC 9110 section 4.2.4).
 */
export function normalisedHtu(value: string | URL): string | null {
  let url: URL;
  // A URI is printable ASCII without spaces; the WHATWG parser would quietly trim or drop what is not.
  if (typeof value === 'string' && !URI_CHARS.test(value)) return null;
  try {
    url = typeof value === 'string' ? new URL(value) : value;
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  if (url.username !== '' || url.password !== '' || url.host === '') return null;
  return `${url.protocol}//${url.host}${percentNormalised(url.pathname)}`;
}
