/**
 * OpenTelemetry for sealed sessions (`createSealedSessions({ telemetry })`):
 * a span for each `open`, `seal`, `create`, `login`, `revoke` and
 * `revokeUser`, the store calls of revocation epochs and spilled data as
 * their children (`latchkey.store.kv.*`), and `latchkey.sealed.opens`
 * counted by result. Built only when the option is given: without it the
 * sealed sessions are the plain object, nothing wraps a call.
 *
 * Attributes carry the session's handle (its public id inside the sealed
 * payload), results and part counts; never a cookie value, a secret,
 * session data or a user id.
 *
 * @module
 * @internal
 */
import { countedSpan, inSpan, type Telemetry } from '../core/telemetry.js';
import type { CookieReader, CookieWrite } from './chunks.js';

/**
 * What is traced of sealed sessions: a structural view of `SealedSessions`
 * (sealed-sessions.ts, which builds the traced object with this file, so
 * this file does not import it). Each wrapper hands its arguments and the
 * result through unchanged.
 */
interface Traceable {
  open(read: CookieReader): Promise<
    { readonly ok: true; readonly session: { readonly handle: string }; readonly reseal: string | null; readonly chunks: number } | { readonly ok: false; readonly reason: string; readonly chunks: number }
  >;
  seal(session: never, options?: never): Promise<readonly CookieWrite[]>;
  create(input?: never): Promise<{ readonly handle: string }>;
  login(session: never, userId: never, options?: never): Promise<{ readonly handle: string }>;
  revoke(session: never): Promise<void>;
  revokeUser(userId: never, options?: never): Promise<unknown>;
}

/** The session's handle as an attribute, or none for something that is not a session (the call then refuses it). */
const handle = (s: unknown): Record<string, string> => {
  const h = (s as { readonly handle?: unknown } | null | undefined)?.handle;
  return typeof h === 'string' ? { 'latchkey.session.handle': h } : {};
};

/** `sealed` with its operations traced; the object itself is left as it is. */
export function tracedSealed<S extends Traceable>(sealed: S, t: Telemetry): S {
  const { open, seal, create, login, revoke, revokeUser } = sealed;
  const traced: Traceable = {
    open: (read) =>
      countedSpan(t, t.sealedOpens, 'latchkey.sealed.open', {}, () => open(read), (span, r) => {
        span.setAttribute('latchkey.sealed.chunks', r.chunks);
        if (!r.ok) return r.reason;
        span.setAttribute('latchkey.session.handle', r.session.handle);
        if (r.reseal !== null) span.setAttribute('latchkey.sealed.reseal', r.reseal);
        return 'ok';
      }),
    seal: (session, options) =>
      inSpan(t, 'latchkey.sealed.seal', handle(session), () => seal(session, options), (span, writes) =>
        span.setAttribute('latchkey.sealed.chunks', writes.filter((w) => w.maxAge > 0).length),
      ),
    create: (input) => inSpan(t, 'latchkey.sealed.create', {}, () => create(input), (span, s) => span.setAttribute('latchkey.session.handle', s.handle)),
    login: (session, userId, options) =>
      inSpan(t, 'latchkey.sealed.login', handle(session), () => login(session, userId, options), (span, s) => span.setAttribute('latchkey.session.successor', s.handle)),
    revoke: (session) => inSpan(t, 'latchkey.sealed.revoke', handle(session), () => revoke(session)),
    revokeUser: (userId, options) => inSpan(t, 'latchkey.sealed.revokeUser', {}, () => revokeUser(userId, options)),
  };
  // The same methods with the same arguments and results: only the structural view above is checked here.
  return { ...sealed, ...traced } as S;
}
