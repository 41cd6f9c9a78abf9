/**
 * What a request session adds to its response: the header lines of its
 * commit (`Set-Cookie`, `Cache-Control`, `Clear-Site-Data`, no-referrer,
 * deadlines, a DBSC offer) and the bearer challenge of its guards.
 *
 * @module
 */
import { LEAKY_CARRIER_HEADERS } from './carriers.js';
import { clearCookieHeader, setCookieHeader } from './cookies.js';
import { NO_STORE } from './credential-headers.js';
import { csrfTokenFor } from './csrf.js';
import { deadlinesLine } from './deadlines.js';
import type { HeaderLine, SessionState } from './request-session-state.js';

/**
 * @internal the header lines of a committed request session (see
 * `RequestSession.responseHeaders()`).
 */
export function sessionResponseHeaders<S>(state: SessionState<S>): HeaderLine[] {
  const out: HeaderLine[] = [];
  const { carriers, cookie, csrf } = state.ctx;
  const writer = state.carrier ?? (carriers.cookie ? 'cookie' : carriers.order[0]);
  if (writer === 'cookie') {
    const cur = state.current;
    for (const line of state.backend().cookies(cur, state.issued, state.clear)) out.push(['set-cookie', line]);
    if (csrf?.cookieName != null) {
      if (state.issued && cur !== null) {
        const maxAge = state.backend().maxAge(cur);
        out.push(['set-cookie', setCookieHeader({ ...cookie, name: csrf.cookieName }, csrfTokenFor(cur.secret), maxAge, false)]);
      } else if (state.clear) out.push(['set-cookie', clearCookieHeader({ ...cookie, name: csrf.cookieName }, false)]);
    }
  }
  if (state.migrationCookies !== null) for (const line of state.migrationCookies) out.push(['set-cookie', line]);
  if (writer === 'url' || writer === 'form') out.push(...LEAKY_CARRIER_HEADERS);
  // A cached copy of a response that sets a cookie or hands out a token (session.token) would give it to the next reader.
  else if (out.length > 0 || state.issued || state.clear || state.signedOut) out.push(...NO_STORE);
  if (state.signedOut) {
    out.push(state.ctx.clearSiteData);
    // The browser's DBSC session then refreshes, finds the session ended, and is told to end too.
    if (state.ctx.dbsc !== null) out.push(state.ctx.dbsc.clearBoundCookie());
  }
  if (state.extra !== null) out.push(...state.extra);
  if (state.loaded && state.asksDeadlines()) {
    // Deadlines go stale: never on a response a cache may keep. By the clock the session's deadlines are kept by.
    out.push(deadlinesLine(state.current?.session ?? null, state.ctx.backend.now()));
    if (!out.some(([name]) => name === 'cache-control')) out.push(...NO_STORE);
  }
  return out;
}

/**
 * @internal the `WWW-Authenticate` header of a guard's 401, for a request
 * that presented a bearer token or could have (none for the other carriers).
 */
export function bearerChallenge<S>(state: SessionState<S>, error: string | null): Record<string, string> {
  const { carriers } = state.ctx;
  if (!carriers.bearer || (state.carrier !== null && state.carrier !== 'bearer')) return {};
  const realm = `Bearer realm="${carriers.realm}"`;
  return { 'www-authenticate': error === null ? realm : `${realm}, error="${error}"` };
}
