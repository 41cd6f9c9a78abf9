/**
 * Carriers: where a request presents its session token. The cookie is the
 * default; `Authorization: Bearer` (RFC 6750) serves API and mobile clients;
 * the URL parameter and the hidden form field are legacy opt-ins that leak
 * through Referer headers, logs, history and shared links, so responses to
 * them carry `Referrer-Policy: no-referrer` and `Cache-Control: no-store`.
 *
 * @module
 */
import { ConfigError } from '../core/errors.js';

/** A place a session token can travel in. */
export type Carrier = 'cookie' | 'bearer' | 'url' | 'form';

/** Options of the legacy carriers. */
export interface CarrierOptions {
  /**
   * Where tokens are read from, in order of preference (the form field,
   * which needs the body, is consulted last and only for unsafe methods).
   * `'url'` and `'form'` are legacy opt-ins; read docs/http.md before
   * enabling them. New tokens go to the carrier the request used, else to the
   * cookie when enabled, else to the application through `session.token`.
   * @default ['cookie']
   */
  carriers?: readonly Carrier[];
  /** Query parameter of the `'url'` carrier. @default 'session' */
  urlParameter?: string;
  /** Form field of the `'form'` carrier. @default 'session' */
  formField?: string;
  /** Realm announced in `WWW-Authenticate` for the `'bearer'` carrier. @default 'latchkey' */
  realm?: string;
}

/** @internal normalised carrier configuration */
export interface CarrierConfig {
  readonly cookie: boolean;
  readonly bearer: boolean;
  readonly url: boolean;
  readonly form: boolean;
  readonly order: readonly Carrier[];
  readonly urlParameter: string;
  readonly formField: string;
  readonly realm: string;
}

const ALL: readonly Carrier[] = ['cookie', 'bearer', 'url', 'form'];
const FIELD = /^[A-Za-z0-9_.-]{1,64}$/;

/** @internal */
export function carrierConfig(o: CarrierOptions): CarrierConfig {
  const order = o.carriers ?? ['cookie'];
  if (!Array.isArray(order) || order.length === 0 || !order.every((c) => ALL.includes(c)) || new Set(order).size !== order.length) {
    throw new ConfigError(`carriers must be a non-empty list of distinct carriers from ${ALL.map((c) => `'${c}'`).join(', ')}`);
  }
  const urlParameter = o.urlParameter ?? 'session';
  const formField = o.formField ?? 'session';
  if (!FIELD.test(urlParameter)) throw new ConfigError('urlParameter must be 1 to 64 letters, digits, "_", "." or "-"');
  if (!FIELD.test(formField)) throw new ConfigError('formField must be 1 to 64 letters, digits, "_", "." or "-"');
  const realm = o.realm ?? 'latchkey';
  if (typeof realm !== 'string' || !/^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}$/.test(realm)) {
    throw new ConfigError('realm must be 1 to 64 printable ASCII characters without quotes or backslashes');
  }
  return {
    cookie: order.includes('cookie'),
    bearer: order.includes('bearer'),
    url: order.includes('url'),
    form: order.includes('form'),
    order,
    urlParameter,
    formField,
    realm,
  };
}

// RFC 6750 b64token.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
/** Room for the scheme and its spaces around the token, so that the header is bounded before the pattern runs. */
const SCHEME_ROOM = 64;

/**
 * Reads the token of an `Authorization: Bearer` header (RFC 6750 §2.1).
 * Never throws; `null` when absent, not Bearer, malformed, or when the token
 * is longer than `maxLength` characters (a session token is 66; token mode
 * passes its access-token limit).
 *
 * @example
 * ```ts
 * readBearer('Bearer abc.def'); // 'abc.def'
 * ```
 */
export function readBearer(header: unknown, maxLength = 1024): string | null {
  if (typeof header !== 'string' || header.length > maxLength + SCHEME_ROOM) return null;
  const m = BEARER.exec(header);
  return m === null || (m[1] as string).length > maxLength ? null : (m[1] as string);
}

/**
 * Reads one query parameter from a request target (`/path?a=1&b=2`). Never
 * throws; `null` when absent, repeated with different values, or oversized.
 *
 * @example
 * ```ts
 * readQueryParameter('/account?session=abc', 'session'); // 'abc'
 * ```
 */
export function readQueryParameter(url: string, name: string): string | null {
  const q = url.indexOf('?');
  if (q === -1 || url.length > 8192) return null;
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(url.slice(q + 1));
  } catch {
    return null;
  }
  const all = params.getAll(name);
  if (all.length === 0 || all.some((v) => v !== all[0])) return null;
  return all[0] as string;
}

/**
 * Headers answered whenever a token travelled in a URL or a form.
 *
 * @example
 * ```ts
 * for (const [name, value] of LEAKY_CARRIER_HEADERS) res.setHeader(name, value);
 * ```
 */
export const LEAKY_CARRIER_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['referrer-policy', 'no-referrer'],
  ['cache-control', 'no-store'],
];
