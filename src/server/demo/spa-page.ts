/**
 * The demo's single-page section: one HTML page and its module script, which
 * runs `latchkey/browser` in token mode (bearer carrier, tokens in memory).
 * The page holds no inline script and no inline handler: its policy allows
 * scripts from the service's own origin only (`script-src 'self'`), with
 * Trusted Types required, so the module, the page script and every DOM write
 * (text only) go through it. The selectors are listed in `../demo.ts`.
 *
 * @module
 */
import { DEMO_PASSWORD, DEMO_USERS } from './views.js';
import { html, page, raw } from '../html.js';

/** What the page script needs to know, embedded as JSON data (not script). */
export interface SpaConfig {
  /** How long before the earlier deadline the warning shows, in ms. */
  readonly warnBefore: number;
}

/** `90000` → `1 min 30 s`. */
function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const m = Math.floor(s / 60);
  return [m > 0 ? `${m} min` : '', s % 60 > 0 || m === 0 ? `${s % 60} s` : ''].filter((p) => p !== '').join(' ');
}

/** The single-page app's document; `idleMs` is the sessions' idle timeout, for the page's explanation. */
export function spaPage(config: SpaConfig, idleMs: number): string {
  const options = DEMO_USERS.map((u) => html`<option value="${u}">${u}</option>`);
  // JSON in a data block: `<` escaped so that no value can close the element.
  const json = JSON.stringify(config).replace(/</g, '\\u003c');
  const body = html`<h1>Single-page app</h1>
<p class="muted">This page is a single-page application on <code>latchkey/browser</code> in token mode: the access and refresh tokens live in this page's memory only, never in storage, cookies or the page; every tab of this site shares them, refreshes once for all, and signs out together. The deadlines are short on purpose: after ${span(idleMs - config.warnBefore)} without activity the page warns you, and the session ends ${span(config.warnBefore)} later.</p>
<p class="notice" data-testid="app-loading">Loading…</p>
<div class="card narrow" data-testid="app-signed-out" hidden>
<h2>Sign in</h2>
<p class="notice error" role="status" data-testid="app-notice" hidden></p>
<p class="notice error" role="alert" data-testid="app-login-error" hidden></p>
<form data-testid="app-login-form">
<label for="app-user">Demo user</label>
<select id="app-user" name="user" style="width:100%;padding:.5rem .6rem;border:1px solid var(--line);border-radius:6px;font:inherit;background:var(--card)" data-testid="app-login-user">${options}</select>
<label for="app-password">Password</label>
<input id="app-password" type="password" name="password" autocomplete="current-password" required data-testid="app-login-password">
<p class="muted">Every demo user's password is <code>${DEMO_PASSWORD}</code>.</p>
<button type="submit" data-testid="app-login-submit">Sign in</button>
</form>
</div>
<div data-testid="app-signed-in" hidden>
<div class="notice error" role="alert" data-testid="app-expiring" hidden><strong>Still there?</strong> You will be signed out in <span data-testid="app-countdown"></span> for lack of activity. <button type="button" data-testid="app-stay">Stay signed in</button></div>
<div class="card">
<p>Signed in as <strong data-testid="app-user"></strong> in every tab of this site.</p>
<table><tbody>
<tr><th>Signed out without activity in</th><td data-testid="app-idle"></td></tr>
<tr><th>Signed out in any case in</th><td data-testid="app-absolute"></td></tr>
</tbody></table>
</div>
<div class="card">
<button type="button" data-testid="app-call">Call the API</button>
<p class="muted">A request with the access token: when it has expired, one tab refreshes it for all of them, and the request goes on.</p>
<pre class="mono" data-testid="app-result"></pre>
</div>
<div class="card">
<button type="button" class="secondary" data-testid="app-sign-out">Sign out</button>
<button type="button" class="danger" data-testid="app-sign-out-everywhere">Sign out everywhere</button>
<p class="muted">Either one signs out every tab of this site at once; "everywhere" also ends your other devices' sessions on the server.</p>
</div>
</div>
<script type="application/json" id="app-config">${raw(json)}</script>`;
  return page({ title: 'Single-page app · latchkey demo', brand: 'latchkey demo', nav: [{ href: '/demo', label: 'Your devices' }, { href: '/demo/app', label: 'Single-page app', current: true }], body, module: '/demo/app/app.js' });
}

/** The page's script: served as a static, same-origin module at /demo/app/app.js. */
export const SPA_SCRIPT = `import { createBrowserSession } from '/demo/app/lib/browser/index.js';

const config = JSON.parse(document.getElementById('app-config').textContent);
const $ = (id) => document.querySelector('[data-testid="' + id + '"]');
const session = createBrowserSession({
  mode: 'bearer',
  refreshUrl: '/demo/app/auth/refresh',
  logoutUrl: '/demo/app/auth/logout',
  logoutEverywhereUrl: '/demo/app/auth/logout-everywhere',
  warnBefore: config.warnBefore,
});
const REASONS = {
  'signed-out': 'You signed out (in this tab or another one).',
  'signed-out-everywhere': 'You signed out everywhere.',
  expired: 'Your session ended after a while without activity.',
  revoked: 'Your session was ended elsewhere (another device or an administrator).',
  reused: 'Your session was ended: its refresh token was used twice, which looks like theft.',
  ended: 'Your session has ended.',
};
let warning = null;

const left = (deadline) => {
  const s = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
  return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
};

function render() {
  const state = session.getState();
  $('app-loading').hidden = state.status !== 'unknown';
  $('app-signed-in').hidden = state.status !== 'signed-in';
  $('app-signed-out').hidden = state.status !== 'signed-out';
  const notice = $('app-notice');
  notice.hidden = state.reason === null;
  notice.textContent = state.reason === null ? '' : REASONS[state.reason];
  notice.dataset.reason = state.reason ?? '';
  if (state.status !== 'signed-in') return;
  $('app-user').textContent = state.user;
  $('app-idle').textContent = left(state.idleDeadline);
  $('app-absolute').textContent = left(state.absoluteDeadline);
  const end = Math.min(state.idleDeadline, state.absoluteDeadline);
  // The warning stays while its deadline is the session's: activity in any tab moves the deadline, and hides it.
  const shown = warning !== null && warning.deadline === end;
  $('app-expiring').hidden = !shown;
  if (shown) $('app-countdown').textContent = left(end);
}

session.on('expiring', (e) => {
  warning = e;
  render();
});
session.subscribe(render);
setInterval(render, 1000);

$('app-login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const user = $('app-login-user').value;
  const res = await session.signIn('/demo/app/auth/login', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user, password: $('app-login-password').value }),
  }, user);
  const error = $('app-login-error');
  error.hidden = res.ok;
  error.textContent = res.ok ? '' : res.status === 429 ? 'Too many attempts: wait a minute.' : 'Unknown user or wrong password.';
  $('app-login-password').value = '';
});
$('app-stay').addEventListener('click', () => session.extend());
$('app-call').addEventListener('click', async () => {
  const res = await session.fetch('/demo/app/api/me');
  $('app-result').textContent = res.status + ' ' + JSON.stringify(await res.json());
});
$('app-sign-out').addEventListener('click', () => session.signOut());
$('app-sign-out-everywhere').addEventListener('click', () => session.signOutEverywhere());
`;
