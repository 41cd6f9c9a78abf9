/**
 * DPoP (RFC 9449) in the token transport: reading `Authorization: DPoP`,
 * the URI a proof's `htu` is compared with, and the answers a refused proof
 * or binding gets, at a protected resource (401 with `WWW-Authenticate:
 * DPoP`, section 7.1) and at a token endpoint (400 `invalid_dpop_proof` or
 * `use_dpop_nonce`, section 5), with `DPoP-Nonce` whenever nonces are on.
 *
 * The answers are built once per reason; only with nonces on, whose value
 * changes with time, is the `DPoP-Nonce` line added per answer.
 *
 * @module
 * @internal
 */
import { ConfigError } from '../core/errors.js';
import type { DpopBindingFailure, DpopErrorCode } from '../tokens/dpop-answers.js';
import type { DpopFailure, DpopProof, DpopRefusal } from '../tokens/dpop.js';
import type { TokensDpop } from '../tokens/tokens.js';
import { HttpError } from './errors.js';
import type { HttpRequest } from './request.js';

/** How a request presented its access token. */
export type Presented = { readonly scheme: 'Bearer' | 'DPoP'; readonly token: string };

/** Why a guard refused a DPoP presentation that the proof checks do not name. */
export type GuardDpopFailure = DpopBindingFailure | 'dpop-required';

const DPOP_SCHEME = /^DPoP +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** @internal the access token of `Authorization: DPoP <token>`, or `null` */
export function readDpopAuthorization(header: string | undefined, maxLength: number): string | null {
  if (header === undefined || header.length > maxLength + 16) return null;
  const m = DPOP_SCHEME.exec(header);
  return m === null ? null : (m[1] as string);
}

/**
 * @internal the `DPoP-Nonce` to send with a protected resource's answer to an accepted proof (RFC 9449 section 8.2):
 * a fresh nonce when the proof's nonce is due to rotate (of the previous step, or minted with a rotated-out secret),
 * so that the client never meets `use_dpop_nonce` at a rotation; else none. The token guard and the session service's
 * introspection both answer by it.
 */
export function renewedNonce(proof: Pick<DpopProof, 'nonce' | 'nonceDue'> | null): string | null {
  return proof !== null && proof.nonceDue && proof.nonce !== null ? proof.nonce : null;
}

const LOOPBACK = /^(?:localhost|127\.0\.0\.1|\[::1\])(?::\d+)?$/i;
const HOST = /^[A-Za-z0-9.\-[\]:]{1,255}$/;

/** @internal the origins a proof's `htu` may name, from the transport's `publicOrigin` option, or `null` for "from the Host header" */
export function originsOption(option: unknown): readonly string[] | null {
  if (option === undefined) return null;
  const list = typeof option === 'string' ? [option] : option;
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError("publicOrigin must be the public origin clients address (e.g. 'https://api.example.com') or a list of them");
  return list.map((o: unknown) => {
    let url: URL | null = null;
    try {
      url = typeof o === 'string' ? new URL(o) : null;
    } catch {
      url = null;
    }
    if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== String(o).replace(/\/$/, '')) {
      throw new ConfigError(`publicOrigin ${JSON.stringify(o)} must be an origin: scheme://host[:port], no path`);
    }
    return url.origin;
  });
}

/**
 * The absolute URI the client addressed, for the `htu` check: a configured
 * origin (the one whose host the request names, else the first) and the
 * request target; without one, `https://` and the `Host` header (`http://`
 * for a loopback host or in development). `null` without a usable host.
 */
export function requestUri(req: HttpRequest, origins: readonly string[] | null, development: boolean): string | null {
  const host = req.header('host');
  if (origins !== null) {
    const named = host === undefined ? undefined : origins.find((o) => o.slice(o.indexOf('//') + 2).toLowerCase() === host.toLowerCase());
    return `${named ?? origins[0]}${req.url}`;
  }
  if (host === undefined || !HOST.test(host)) return null;
  const scheme = development || LOOPBACK.test(host) ? 'http' : 'https';
  return `${scheme}://${host}${req.url}`;
}

/** The answers of one transport, built once. */
export interface DpopAnswers {
  /** What `WWW-Authenticate` offers for DPoP on a request without credentials. */
  readonly offer: string;
  /** A refused proof at a protected resource. */
  resource(refusal: DpopRefusal): HttpError;
  /** A refused binding (or a bearer token where DPoP is required) at a protected resource. */
  binding(reason: GuardDpopFailure): HttpError;
  /** An access token refused at a protected resource, when it came with the DPoP scheme. */
  invalidToken(reason: string, description: string): HttpError;
  /** A refused proof at a token endpoint. */
  endpoint(refusal: Pick<DpopRefusal, 'error' | 'reason'>): HttpError;
}

/** @internal the answers of a transport over this verifier */
export function dpopAnswers(dpop: TokensDpop, realm: string): DpopAnswers {
  const algs = dpop.algorithms;
  const challenge = (error?: DpopErrorCode, description?: string): string =>
    dpop.challenge({ realm, algs, ...(error === undefined ? {} : { error }), ...(description === undefined ? {} : { errorDescription: description }) });
  const withNonce = (err: HttpError): HttpError => {
    const nonce = dpop.nonce();
    if (nonce === null) return err;
    return new HttpError(err.status, err.reason, { headers: { ...err.headers, 'dpop-nonce': nonce }, message: err.message, ...(err.detail === undefined ? {} : { detail: err.detail }) });
  };
  const cache = new Map<string, HttpError>();
  const once = (key: string, make: () => HttpError): HttpError => {
    let e = cache.get(key);
    if (e === undefined) {
      e = make();
      cache.set(key, e);
    }
    return withNonce(e);
  };
  return {
    offer: challenge(),
    resource: (refusal) =>
      once(`r:${refusal.reason}`, () => {
        const description = dpop.describe(refusal.reason);
        return new HttpError(401, refusal.error, { detail: refusal.reason, message: description, headers: { 'www-authenticate': challenge(refusal.error, description) } });
      }),
    binding: (reason) =>
      once(`b:${reason}`, () => {
        const description = reason === 'dpop-required' ? 'a DPoP-bound access token is required' : dpop.describe(reason);
        return new HttpError(401, 'invalid_token', { detail: reason, message: description, headers: { 'www-authenticate': challenge('invalid_token', description) } });
      }),
    invalidToken: (reason, description) =>
      once(`t:${reason}`, () => new HttpError(401, 'invalid_token', { detail: reason, message: description, headers: { 'www-authenticate': challenge('invalid_token', description) } })),
    endpoint: (refusal) =>
      once(`e:${refusal.reason}`, () => {
        const reason: DpopFailure | DpopBindingFailure = refusal.reason;
        return new HttpError(400, refusal.error, { detail: reason, message: dpop.describe(reason), headers: { 'cache-control': 'no-store' } });
      }),
  };
}
