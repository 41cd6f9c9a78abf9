/**
 * Token mode's guard: reads the access token (`Authorization: Bearer`, or
 * `Authorization: DPoP` with a `DPoP` proof, or the access cookie),
 * verifies it, checks that a token bound to a key (`cnf.jkt`) comes with a
 * proof of that key (RFC 9449 section 7) and that a bearer presentation is
 * allowed, then the required scopes. Every refusal is built once per guard;
 * a bearer-only deployment pays one property test for DPoP.
 *
 * @module
 * @internal
 */
import { ConfigError } from '../core/errors.js';
import { checkOptionKeys } from '../core/option-keys.js';
import { MAX_ACCESS_TOKEN_LENGTH } from '../core/token.js';
import type { AccessTokenClaims, AccessTokenFailure, AccessTokenResult } from '../tokens/access.js';
import type { DpopProof } from '../tokens/dpop.js';
import type { Tokens } from '../tokens/tokens.js';
import { readBearer } from './carriers.js';
import { readCookie } from './cookies.js';
import { HttpError, toHttpError } from './errors.js';
import type { HttpRequest } from './request.js';
import type { HeaderLine } from './request-session.js';
import { DESCRIPTIONS, inForm, inQuery, needsFormCheck, scopeList } from './token-helpers.js';
import { readDpopAuthorization, renewedNonce, requestUri, type DpopAnswers } from './token-dpop.js';

/** Options of one guarded route, see `TokenTransport.guard`. */
export interface TokenGuardOptions {
  /**
   * Check the session against the store (one read per request) instead of
   * the revocation cache: use it for sensitive operations, so that a family
   * ended by another instance is refused even before the store announces it.
   * (A family ended on this instance is refused at once either way.)
   * @default false
   */
  checkSession?: boolean;
  /**
   * Scopes the access token must all hold, else 403 `insufficient_scope`.
   * @default none
   */
  scope?: string | readonly string[];
}

/**
 * What a guard decided: the verified claims, with the headers to set on the
 * route's answer (usually none; a fresh `DPoP-Nonce` when the proof's nonce
 * is due to rotate, RFC 9449 section 8.2), or the error to answer with.
 */
export type TokenGuardResult =
  | { readonly ok: true; readonly claims: AccessTokenClaims; readonly headers: readonly HeaderLine[] }
  | { readonly ok: false; readonly error: HttpError };

const NO_HEADERS: readonly HeaderLine[] = Object.freeze([]);

/** What a guard needs of its transport. @internal */
export interface GuardContext {
  readonly tokens: Tokens;
  /** `Bearer realm="…"` followed by `params`. */
  challenge(params: string): string;
  /** The access cookie's name (cookie carrier), else `null`. */
  readonly accessCookie: string | null;
  /** The CSRF verdict for a request a cookie authenticates, as an error or null. */
  crossSite(req: HttpRequest): HttpError | null;
  readonly dpopAnswer: DpopAnswers | null;
  readonly origins: readonly string[] | null;
  readonly development: boolean;
}

/** @internal a guard for routes with these options (normalised once) */
export function createGuard(ctx: GuardContext, opts: TokenGuardOptions = {}): (request: HttpRequest) => Promise<TokenGuardResult> {
  const { tokens, challenge, dpopAnswer, origins, development } = ctx;
  const dpop = tokens.dpop ?? null;
  function guard(): (request: HttpRequest) => Promise<TokenGuardResult> {
    checkOptionKeys(opts, 'guard()', ['checkSession', 'scope']);
    const checkSession = opts.checkSession ?? false;
    if (typeof checkSession !== 'boolean') throw new ConfigError('checkSession must be a boolean');
    const required = scopeList(opts.scope);
    const verifyOptions = { checkSession };
    const scopeParam = required.length === 0 ? '' : `, scope="${required.join(' ')}"`;
    // With DPoP on, a request without credentials is offered both schemes (only DPoP when it is required).
    const offer = dpopAnswer === null ? challenge(scopeParam) : dpop?.required === true ? dpopAnswer.offer : `${challenge(scopeParam)}, ${dpopAnswer.offer}`;
    const missing = new HttpError(401, 'unauthenticated', { headers: { 'www-authenticate': offer } });
    const badHeader = new HttpError(400, 'invalid_request', {
      detail: 'malformed-authorization',
      message: 'malformed Authorization header',
      headers: { 'www-authenticate': challenge(`, error="invalid_request", error_description="malformed Authorization header"`) },
    });
    const twice = new HttpError(400, 'invalid_request', {
      detail: 'duplicate-token',
      message: 'the access token was sent more than once',
      headers: { 'www-authenticate': challenge(`, error="invalid_request", error_description="the access token was sent more than once"`) },
    });
    const insufficient = new HttpError(403, 'insufficient_scope', {
      message: `the access token lacks a required scope (${required.join(' ')})`,
      headers: { 'www-authenticate': challenge(`, error="insufficient_scope", error_description="the access token lacks a required scope"${scopeParam}`) },
    });
    const invalid = Object.fromEntries(
      Object.entries(DESCRIPTIONS).map(([reason, description]) => [
        reason,
        new HttpError(401, 'invalid_token', {
          detail: reason,
          message: description,
          headers: { 'www-authenticate': challenge(`, error="invalid_token", error_description="${description}"`) },
        }),
      ]),
    ) as Record<AccessTokenFailure, HttpError>;

    return async (req) => {
      const authorization = req.header('authorization');
      let token = readBearer(authorization, MAX_ACCESS_TOKEN_LENGTH);
      let scheme: 'Bearer' | 'DPoP' = 'Bearer';
      if (token === null && dpopAnswer !== null) {
        token = readDpopAuthorization(authorization, MAX_ACCESS_TOKEN_LENGTH);
        if (token !== null) scheme = 'DPoP';
        else if (authorization !== undefined && /^\s*dpop\b/i.test(authorization)) return { ok: false, error: badHeader };
      }
      if (token === null && authorization !== undefined && /^\s*bearer\b/i.test(authorization)) return { ok: false, error: badHeader };
      // RFC 6750 section 2: one method per request; a second copy in the query or a form body is a malformed request.
      if (token !== null && (inQuery(req.url) || (needsFormCheck(req) && (await inForm(req))))) return { ok: false, error: twice };
      if (token === null && ctx.accessCookie !== null) {
        token = readCookie(req.header('cookie'), ctx.accessCookie);
        if (token === '') token = null;
        if (token !== null) {
          const refused = ctx.crossSite(req);
          if (refused !== null) return { ok: false, error: refused };
        }
      }
      if (token === null) return { ok: false, error: missing };
      let result: AccessTokenResult;
      try {
        result = await tokens.verify(token, verifyOptions);
      } catch (err) {
        const known = toHttpError(err);
        if (known === null) throw err;
        return { ok: false, error: known };
      }
      if (!result.ok) {
        return { ok: false, error: scheme === 'DPoP' && dpopAnswer !== null ? dpopAnswer.invalidToken(result.reason, DESCRIPTIONS[result.reason]) : invalid[result.reason] };
      }
      // The one branch DPoP adds to a bearer-only guard's path: a token bound to a key, or a DPoP presentation.
      let headers = NO_HEADERS;
      if (dpopAnswer !== null || result.claims.cnf !== undefined) {
        const checked = await possession(req, scheme, token, result.claims);
        if (checked instanceof HttpError) return { ok: false, error: checked };
        headers = checked;
      }
      if (required.length > 0) {
        const held = new Set((result.claims.scope ?? '').split(' '));
        if (!required.every((s) => held.has(s))) return { ok: false, error: insufficient };
      }
      return { ok: true, claims: result.claims, headers };
    };
  }

  /**
   * RFC 9449 section 7: the proof of a DPoP presentation, and that token and
   * key go together. Resolves the refusal, or the headers of the answer:
   * section 8.2's fresh `DPoP-Nonce` when the proof's nonce is due to
   * rotate, so that the client never meets `use_dpop_nonce` at a rotation.
   */
  async function possession(req: HttpRequest, scheme: 'Bearer' | 'DPoP', token: string, claims: AccessTokenClaims): Promise<HttpError | readonly HeaderLine[]> {
    if (dpop === null || dpopAnswer === null) {
      // Bound by a token mode with DPoP, verified by one without: nothing here can check the key. Fail closed.
      return invalidBinding;
    }
    let proof: DpopProof | null = null;
    if (scheme === 'DPoP') {
      const url = requestUri(req, origins, development);
      if (url === null) return dpopAnswer.resource({ ok: false, error: 'invalid_dpop_proof', reason: 'htu-mismatch', nonce: null });
      const checked = await dpop.verify({ proof: req.header('dpop'), method: req.method, url, accessToken: token });
      if (!checked.ok) return dpopAnswer.resource(checked);
      proof = checked;
    }
    const binding = dpop.binding(claims, { scheme, proof });
    if (!binding.ok) return dpopAnswer.binding(binding.reason);
    if (!binding.bound && dpop.required) return dpopAnswer.binding('dpop-required');
    const nonce = renewedNonce(proof);
    return nonce === null ? NO_HEADERS : [['dpop-nonce', nonce]];
  }
  const invalidBinding = new HttpError(401, 'invalid_token', {
    detail: 'unsupported-binding',
    message: 'the access token is bound in a way this resource cannot check',
    headers: { 'www-authenticate': challenge(`, error="invalid_token", error_description="the access token is bound in a way this resource cannot check"`) },
  });
  return guard();
}
