/**
 * What a server answers around DPoP (RFC 9449): the `WWW-Authenticate: DPoP`
 * challenge of a protected resource (section 7.1), the error answer of a
 * token endpoint (section 5, with `DPoP-Nonce` for `use_dpop_nonce`,
 * section 8), and the check that ties an access token to the proof key
 * through its `cnf.jkt` claim (sections 6 and 7), which also refuses a
 * DPoP-bound token presented as a plain bearer token.
 *
 * @module
 */
import type { DpopFailure, DpopProof, DpopRefusal } from './dpop.js';
import { LatchkeyTypeError } from '../core/errors.js';

/** The OAuth error codes a DPoP challenge carries. */
export type DpopErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'invalid_dpop_proof' | 'use_dpop_nonce';

/** Options of {@link dpopChallenge}. */
export interface DpopChallengeOptions {
  /** The accepted algorithms, sent as `algs` (the verifier's `algorithms`). */
  algs: readonly string[];
  /** @default none (a bare challenge, for a request that carried no credentials) */
  error?: DpopErrorCode;
  /** Human-readable, printable ASCII without `"` or `\`. Never put a token or a proof in it. */
  errorDescription?: string;
  /** @default none */
  realm?: string;
  /** Scopes the resource needs, space-separated. @default none */
  scope?: string;
}

/** A refusal as an HTTP answer: status, headers and, at a token endpoint, the JSON body. */
export interface DpopAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: { readonly error: DpopErrorCode; readonly error_description: string } | null;
}

/** Why an access token and a proof do not go together. */
export type DpopBindingFailure = 'bound-token-as-bearer' | 'unbound-token-as-dpop' | 'unsupported-binding' | 'proof-missing' | 'key-mismatch';

/** Result of {@link checkDpopBinding}. */
export type DpopBindingResult =
  | { readonly ok: true; readonly bound: boolean }
  | { readonly ok: false; readonly error: 'invalid_token'; readonly reason: DpopBindingFailure };

const QUOTABLE = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const ALG = /^[A-Za-z0-9+._-]+$/;

/** What each refusal says to the client: the cause, never the proof. */
export const DPOP_DESCRIPTIONS: Readonly<Record<DpopFailure | DpopBindingFailure, string>> = {
  missing: 'a DPoP proof is required',
  multiple: 'more than one DPoP header',
  malformed: 'the DPoP proof is not a JWT',
  'wrong-type': 'the DPoP proof typ is not dpop+jwt',
  'algorithm-not-allowed': 'the DPoP proof algorithm is not allowed',
  'invalid-key': 'the DPoP proof jwk is not an acceptable public key',
  'bad-signature': 'the DPoP proof signature is invalid',
  'invalid-claims': 'the DPoP proof claims are invalid',
  'htm-mismatch': 'the DPoP proof htm does not match the request method',
  'htu-mismatch': 'the DPoP proof htu does not match the request URI',
  'iat-too-old': 'the DPoP proof is too old',
  'iat-in-future': 'the DPoP proof iat is in the future',
  'ath-missing': 'the DPoP proof lacks ath',
  'ath-mismatch': 'the DPoP proof ath does not match the access token',
  'nonce-missing': 'a DPoP nonce is required',
  'nonce-stale': 'the DPoP nonce is stale',
  'nonce-invalid': 'the DPoP nonce is invalid',
  replayed: 'the DPoP proof was already used',
  'bound-token-as-bearer': 'a DPoP-bound access token must be sent with the DPoP scheme',
  'unbound-token-as-dpop': 'the access token is not DPoP-bound',
  'unsupported-binding': 'the access token is bound in a way this resource cannot check',
  'proof-missing': 'a DPoP proof is required',
  'key-mismatch': 'invalid DPoP key binding',
};

function quoted(name: string, value: string): string {
  if (!QUOTABLE.test(value)) throw new LatchkeyTypeError(`${name} must be printable ASCII without " or \\`);
  return `${name}="${value}"`;
}

/**
 * The value of a `WWW-Authenticate: DPoP` challenge (RFC 9449 section 7.1).
 *
 * @example
 * ```ts
 * dpopChallenge({ algs: ['ES256', 'PS256'] });
 * // 'DPoP algs="ES256 PS256"'
 * dpopChallenge({ algs: ['ES256'], error: 'invalid_token', errorDescription: 'invalid DPoP key binding' });
 * // 'DPoP error="invalid_token", error_description="invalid DPoP key binding", algs="ES256"'
 * ```
 */
export function dpopChallenge(options: DpopChallengeOptions): string {
  if (options === null || typeof options !== 'object') throw new LatchkeyTypeError('dpopChallenge() takes { algs, error?, errorDescription?, realm?, scope? }');
  const { algs, error, errorDescription, realm, scope } = options;
  if (!Array.isArray(algs) || algs.length === 0 || !algs.every((a) => typeof a === 'string' && ALG.test(a))) throw new LatchkeyTypeError('algs must be a non-empty list of algorithm names');
  const params: string[] = [];
  if (realm !== undefined) params.push(quoted('realm', realm));
  if (scope !== undefined) params.push(quoted('scope', scope));
  if (error !== undefined) {
    params.push(quoted('error', error));
    if (errorDescription !== undefined) params.push(quoted('error_description', errorDescription));
  }
  params.push(`algs="${algs.join(' ')}"`);
  return `DPoP ${params.join(', ')}`;
}

/**
 * The answer to a refused proof or binding.
 *
 * - `'resource'` (a protected resource): 401 with `WWW-Authenticate: DPoP`
 *   carrying the error (section 7.1, section 9 for `use_dpop_nonce`).
 * - `'token-endpoint'`: 400 with the JSON error body of RFC 6749 section 5.2
 *   (`invalid_dpop_proof`, `use_dpop_nonce`), `Cache-Control: no-store`.
 *
 * Either way `DPoP-Nonce` carries the current nonce when nonces are on.
 *
 * @example
 * ```ts
 * const result = await dpop.verify({ proof, method, url, accessToken });
 * if (!result.ok) {
 *   const answer = dpopAnswer(result, { at: 'resource', algs: dpop.algorithms });
 *   res.writeHead(answer.status, answer.headers).end();
 * }
 * ```
 */
export function dpopAnswer(
  refusal: DpopRefusal | { readonly ok: false; readonly error: 'invalid_token'; readonly reason: DpopBindingFailure; readonly nonce?: string | null },
  options: { at: 'resource' | 'token-endpoint'; algs: readonly string[]; realm?: string },
): DpopAnswer {
  const description = DPOP_DESCRIPTIONS[refusal.reason];
  const nonce = refusal.nonce ?? null;
  const headers: Record<string, string> = {};
  if (nonce !== null) headers['dpop-nonce'] = nonce;
  if (options.at === 'token-endpoint') {
    headers['cache-control'] = 'no-store';
    // invalid_token is a resource's code; a token endpoint speaks of the proof.
    const error = refusal.error === 'invalid_token' ? 'invalid_dpop_proof' : refusal.error;
    return { status: 400, headers, body: { error, error_description: description } };
  }
  const challengeOptions: DpopChallengeOptions = { algs: options.algs, error: refusal.error, errorDescription: description };
  if (options.realm !== undefined) challengeOptions.realm = options.realm;
  headers['www-authenticate'] = dpopChallenge(challengeOptions);
  return { status: 401, headers, body: null };
}

/**
 * Checks that an access token and the way it was presented go together
 * (RFC 9449 sections 6.1 and 7): a token whose claims bind it to a key
 * (`cnf.jkt`) is accepted only with the `DPoP` scheme and a verified proof
 * of that very key; a token without a binding only as a bearer token. A
 * `cnf` latchkey cannot check (another confirmation method, a malformed
 * `jkt`) is refused: fail closed.
 *
 * @example
 * ```ts
 * const binding = checkDpopBinding(claims, { scheme: 'DPoP', proof: result.ok ? result : null });
 * if (!binding.ok) return dpopAnswer(binding, { at: 'resource', algs: dpop.algorithms });
 * ```
 */
export function checkDpopBinding(claims: Readonly<Record<string, unknown>>, presented: { scheme: 'Bearer' | 'DPoP'; proof: DpopProof | null }): DpopBindingResult {
  const cnf = claims.cnf;
  const refuse = (reason: DpopBindingFailure): DpopBindingResult => ({ ok: false, error: 'invalid_token', reason });
  if (cnf !== undefined) {
    const jkt = cnf !== null && typeof cnf === 'object' ? (cnf as { jkt?: unknown }).jkt : undefined;
    if (typeof jkt !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(jkt)) return refuse('unsupported-binding');
    if (presented.scheme !== 'DPoP') return refuse('bound-token-as-bearer');
    if (presented.proof === null) return refuse('proof-missing');
    return presented.proof.jkt === jkt ? { ok: true, bound: true } : refuse('key-mismatch');
  }
  return presented.scheme === 'DPoP' ? refuse('unbound-token-as-dpop') : { ok: true, bound: false };
}
