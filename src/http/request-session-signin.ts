/**
 * A request session's sign-in, sign-out and rotation: the changes that go
 * to the backend at once (not at the commit) and issue or drop the token
 * the response then sets or clears. The public methods are
 * `RequestSession.login()`, `logout()`, `logoutEverywhere()` and `rotate()`.
 *
 * @module
 */
import type { Session } from '../core/model.js';
import type { HeaderLine, SessionState } from './request-session-state.js';

/** @internal `RequestSession.login()`: a new token, the old one killed, with a DBSC offer when DBSC is on. */
export async function signIn<S>(state: SessionState<S>, userId: string, authLevel: number | undefined): Promise<void> {
  state.openForChange('login()');
  await state.load();
  const next = await state.backend().login(state.current, userId, authLevel, state.client());
  const offer = await registrationOffer(state, next.session);
  state.stillOpen('login()');
  state.issue(next);
  if (offer !== null) (state.extra ??= []).push(offer);
}

/**
 * DBSC's `Secure-Session-Registration` for a sign-in, unless the session
 * is bound already (a sign-in keeps its key). Best effort: a store that
 * cannot keep the challenge costs the offer, never the sign-in (the
 * session stays a plain cookie session).
 */
async function registrationOffer<S>(state: SessionState<S>, session: Session): Promise<HeaderLine | null> {
  const dbsc = state.ctx.dbsc;
  if (dbsc === null || dbsc.isBound(session.data)) return null;
  try {
    return await dbsc.registration(session.handle);
  } catch (err) {
    state.ctx.report(err);
    return null;
  }
}

/**
 * @internal `RequestSession.logout()` (this session) and `logoutEverywhere()`
 * (every session of its user): revoked in the store, then forgotten by this
 * response. Resolves how many sessions were revoked (`logout()` ignores it).
 */
export async function signOut<S>(state: SessionState<S>, everywhere: boolean): Promise<number> {
  const operation = everywhere ? 'logoutEverywhere()' : 'logout()';
  state.openForChange(operation);
  await state.load();
  const cur = state.current;
  let n = 0;
  if (cur !== null) {
    if (everywhere) n = await state.backend().logoutEverywhere(cur);
    else await state.backend().logout(cur);
  }
  state.stillOpen(operation);
  state.forget();
  state.signedOut = true;
  return n;
}

/** @internal `RequestSession.rotate()`: a new token for this session, or `false` when there is none. */
export async function rotateSession<S>(state: SessionState<S>, reauthenticated: boolean, authLevel: number | undefined): Promise<boolean> {
  state.openForChange('rotate()');
  await state.load();
  const cur = state.current;
  if (cur === null) return false;
  const next = await state.backend().rotate(cur, { reauthenticated, authLevel }, state.client());
  state.stillOpen('rotate()');
  if (next !== null) {
    state.issue(next);
    return true;
  }
  state.forget();
  return false;
}
