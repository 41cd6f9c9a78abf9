/**
 * OpenTelemetry for token mode, with the `telemetry` option of the engine
 * it runs on (`createSessions({ telemetry })`): a span for each `issue`,
 * `refresh`, `verify` (the HTTP guard's included), DPoP proof check,
 * `revoke`, `revokeFamily` and `revokeUser`, with the engine's own spans and
 * store calls as their children, and the counters
 * `latchkey.tokens.verifications` and `latchkey.tokens.refreshes` by result.
 * Built only when the engine has telemetry: otherwise token mode is the
 * plain object, nothing wraps a call.
 *
 * Attributes carry family handles (an access token's `sid`), results and
 * token types; never a token, a proof, a key thumbprint or a user id.
 *
 * @module
 * @internal
 */
import { countedSpan, inSpan, type Telemetry } from '../core/telemetry.js';
import { parseToken } from '../core/token.js';
import type { AccessTokenResult } from './access.js';
import type { DpopRequest, DpopResult } from './dpop.js';

/**
 * What is traced of token mode: a structural view of `Tokens` (tokens.ts,
 * which builds the traced object with this file, so this file does not
 * import it). Each wrapper hands its arguments and the result through
 * unchanged.
 */
interface Traceable {
  issue(input: never): Promise<{ readonly session: { readonly handle: string }; readonly tokenType: string }>;
  refresh(token: unknown, options?: never): Promise<{ readonly ok: true; readonly session: { readonly handle: string }; readonly tokenType: string } | { readonly ok: false; readonly reason: string }>;
  verify(token: unknown, options?: never): Promise<AccessTokenResult>;
  revoke(token: unknown): Promise<boolean>;
  revokeFamily(handle: string): Promise<boolean>;
  revokeUser(userId: string): Promise<readonly string[]>;
  readonly dpop: { verify(request: DpopRequest): Promise<DpopResult> } | null;
}

/** The handle of a refresh token as an attribute (never its secret part), or none for a malformed one. */
function handleOf(token: unknown): Record<string, string> {
  const parsed = parseToken(token);
  return parsed === null ? {} : { 'latchkey.session.handle': parsed.handle };
}

/** `tokens` with its operations traced; the object itself is left as it is. */
export function tracedTokens<T extends Traceable>(tokens: T, t: Telemetry): T {
  const { issue, refresh, verify, revoke, revokeFamily, revokeUser, dpop } = tokens;
  const traced: Traceable = {
    issue: (input) =>
      inSpan(t, 'latchkey.tokens.issue', {}, () => issue(input), (span, pair) => {
        span.setAttribute('latchkey.session.handle', pair.session.handle);
        span.setAttribute('latchkey.tokens.token_type', pair.tokenType);
      }),
    refresh: (token, options) =>
      countedSpan(t, t.tokenRefreshes, 'latchkey.tokens.refresh', handleOf(token), () => refresh(token, options), (span, r) => {
        if (!r.ok) return r.reason;
        span.setAttribute('latchkey.session.successor', r.session.handle);
        span.setAttribute('latchkey.tokens.token_type', r.tokenType);
        return 'ok';
      }),
    verify: (token, options) =>
      countedSpan(t, t.tokenVerifications, 'latchkey.tokens.verify', {}, () => verify(token, options), (span, r) => {
        if (!r.ok) return r.reason;
        span.setAttribute('latchkey.session.handle', r.claims.sid);
        return 'ok';
      }),
    revoke: (token) => inSpan(t, 'latchkey.tokens.revoke', handleOf(token), () => revoke(token), (span, done) => span.setAttribute('latchkey.result', done ? 'revoked' : 'not-found')),
    revokeFamily: (handle) =>
      inSpan(t, 'latchkey.tokens.revokeFamily', typeof handle === 'string' ? { 'latchkey.session.handle': handle } : {}, () => revokeFamily(handle), (span, done) =>
        span.setAttribute('latchkey.result', done ? 'revoked' : 'not-found'),
      ),
    revokeUser: (userId) => inSpan(t, 'latchkey.tokens.revokeUser', {}, () => revokeUser(userId), (span, handles) => span.setAttribute('latchkey.revoked', handles.length)),
    dpop: dpop === null ? null : tracedDpop(dpop, t),
  };
  // The same methods with the same arguments and results: only the structural view above is checked here.
  return { ...tokens, ...traced } as T;
}

/** The DPoP proof check (sign-in, refresh and the guard call it), in a span with its result. */
function tracedDpop<D extends { verify(request: DpopRequest): Promise<DpopResult> }>(dpop: D, t: Telemetry): D {
  const { verify } = dpop;
  return Object.freeze({
    ...dpop,
    verify: (request: DpopRequest) => inSpan(t, 'latchkey.tokens.dpop', {}, () => verify(request), (span, r) => span.setAttribute('latchkey.result', r.ok ? 'ok' : r.reason)),
  });
}
