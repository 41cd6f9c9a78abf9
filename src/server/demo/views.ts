/**
 * The demo site's pages: plain server-rendered HTML through the escaping
 * `html` tag of `../html.ts`, no script at all (the demo's policy is
 * `script-src 'none'`). Every form carries the CSRF token; no page ever
 * holds a session token, only handles (public). The selectors they carry
 * are listed in `../demo.ts`.
 *
 * @module
 */
import type { DeviceSession } from '../../core/model.js';
import type { RequestSession } from '../../http/request-session.js';
import type { NavLink, SafeHtml } from '../html.js';
import { html, page } from '../html.js';

/** The demo users; the password of every one is {@link DEMO_PASSWORD}. */
export const DEMO_USERS: readonly string[] = ['alice', 'bob', 'carol'];
/** Shown on the sign-in page: it is a demo. */
export const DEMO_PASSWORD = 'demo';
/** The longest email the sensitive action takes. */
export const MAX_EMAIL = 254;
const BRAND = 'latchkey demo';

/** A flash message: a fixed code and its constant text (nothing from the URL is echoed). */
export type Notice = { readonly code: string; readonly kind: 'ok' | 'error'; readonly text: string };

const NAV_HOME: NavLink = { href: '/demo', label: 'Your devices' };
const NAV_SENSITIVE: NavLink = { href: '/demo/sensitive', label: 'Change your email' };
const NAV_APP: NavLink = { href: '/demo/app', label: 'Single-page app' };

function nav(current: 'home' | 'sensitive' | null): NavLink[] {
  return [{ ...NAV_HOME, current: current === 'home' }, { ...NAV_SENSITIVE, current: current === 'sensitive' }, NAV_APP];
}

function csrfField(s: RequestSession): SafeHtml {
  const token = s.csrfToken;
  return token === null ? html`` : html`<input type="hidden" name="_csrf" value="${token}">`;
}

function noticeBlock(n: Notice | null | undefined): SafeHtml | string {
  if (n === null || n === undefined) return '';
  return html`<p class="notice ${n.kind}" role="status" data-testid="notice" data-kind="${n.kind}" data-notice="${n.code}">${n.text}</p>`;
}

function aside(s: RequestSession, user: string): SafeHtml {
  return html`<span>Signed in as <strong>${user}</strong></span><form class="inline" method="post" action="/demo/logout">${csrfField(s)}<button class="secondary" type="submit">Sign out</button></form>`;
}

/** The sign-in page: the demo users, the (public) password, a refused sign-in's error. */
export function loginPage(s: RequestSession, o: { notice?: Notice | null; error?: boolean; user?: string | undefined }): string {
  const picked = o.user !== undefined && DEMO_USERS.includes(o.user) ? o.user : DEMO_USERS[0];
  const options = DEMO_USERS.map((u) => html`<option value="${u}"${u === picked ? html` selected` : ''}>${u}</option>`);
  const error = o.error
    ? html`<p class="notice error" role="alert" data-testid="login-error">Unknown user or wrong password.</p>`
    : '';
  const body = html`<div class="narrow">
<h1>Sign in to the demo</h1>
${noticeBlock(o.notice)}${error}
<form class="card" method="post" action="/demo/login" data-testid="login-form">
${csrfField(s)}
<label for="user">Demo user</label>
<select id="user" name="user" style="width:100%;padding:.5rem .6rem;border:1px solid var(--line);border-radius:6px;font:inherit;background:var(--card)" data-testid="login-user">${options}</select>
<label for="password">Password</label>
<input id="password" type="password" name="password" autocomplete="current-password" required data-testid="login-password">
<p class="muted">Every demo user's password is <code>${DEMO_PASSWORD}</code>.</p>
<button type="submit" data-testid="login-submit">Sign in</button>
</form>
<p class="muted">Signing in issues a fresh session token in a <code>__Host-</code> cookie (Secure, HttpOnly, SameSite=Lax): any token the browser held before is thrown away, so nobody can fix your session in advance. Sign in from a second browser to see two devices.</p>
</div>`;
  return page({ title: 'Sign in · latchkey demo', brand: BRAND, body });
}

/** "Your devices": the user's sessions (this one flagged), sign out, sign out everywhere, the sensitive action. */
export function homePage(s: RequestSession, user: string, devices: readonly DeviceSession[], notice: Notice | null): string {
  const now = Date.now();
  const rows = devices.map((d) => {
    const current = d.handle === s.handle;
    const action = current
      ? html`<span class="badge" data-testid="current-badge">this device</span>`
      : html`<form class="inline" method="post" action="/demo/devices/${encodeURIComponent(d.handle)}/revoke">${csrfField(s)}<button class="secondary" type="submit" data-testid="device-revoke">Sign out</button></form>`;
    return html`<tr data-testid="device-row" data-handle="${d.handle}" data-current="${current ? 'true' : 'false'}">
<td><span title="${d.userAgent ?? ''}">${d.device.browser} on ${d.device.os}</span> <span class="muted">${d.device.type}</span>${d.deviceBound ? html` <span class="badge" data-testid="device-bound-badge" title="this browser holds a device key (DBSC): a copied cookie alone signs no one in">device-bound</span>` : ''}</td>
<td class="mono">${d.ip ?? 'unknown'}</td>
<td>${when(d.createdAt, now)}</td>
<td>${when(d.lastSeenAt, now)}</td>
<td>${action}</td>
</tr>`;
  });
  const body = html`<h1>Hello <span data-testid="user-name">${user}</span></h1>
${noticeBlock(notice)}
<p class="muted">You are signed in to the latchkey demo. Every browser you sign in with is a session of its own, listed below; the admin dashboard sees the same sessions and can end them.</p>
<h2>Your devices</h2>
<table data-testid="devices-table">
<thead><tr><th>Device</th><th>IP address</th><th>Signed in</th><th>Last seen</th><th></th></tr></thead>
<tbody>${rows}</tbody>
</table>
<h2>Sign out</h2>
<div class="card">
<form class="inline" method="post" action="/demo/logout">${csrfField(s)}<button type="submit" data-testid="sign-out">Sign out</button></form>
<form class="inline" method="post" action="/demo/logout-everywhere">${csrfField(s)}<button class="danger" type="submit" data-testid="sign-out-everywhere">Sign out everywhere</button></form>
<p class="muted">"Sign out" ends this session only. "Sign out everywhere" revokes every session of ${user}, this one included, on the server at once: every other browser finds itself signed out on its next request. Signing out another device, or everywhere, needs a recent sign-in: after a while you will be asked for your password first.</p>
</div>
<h2>Sensitive action</h2>
<div class="card">
<p>Changing your email needs a recent sign-in. After a while you will be asked for your password again, and the session token is rotated when you give it.</p>
<a class="button" href="/demo/sensitive" data-testid="sensitive-link">Change your email</a>
</div>`;
  return page({ title: 'Your devices · latchkey demo', brand: BRAND, nav: nav('home'), aside: aside(s, user), body });
}

/** The actions that need a recent sign-in, as the confirmation page names them. */
const FRESH_ACTIONS = {
  email: { name: 'change your email', text: 'Changing your email is a sensitive action' },
  device: { name: 'sign out another device', text: 'Signing out another of your devices is a sensitive action' },
  everywhere: { name: 'sign out everywhere', text: 'Signing out all your devices is a sensitive action' },
} as const;
/** An action that needs a recent sign-in. */
export type FreshAction = keyof typeof FRESH_ACTIONS;

/** The action a re-authentication form names, `'email'` for anything else. */
export function actionOf(value: string | undefined): FreshAction {
  return value !== undefined && Object.hasOwn(FRESH_ACTIONS, value) ? (value as FreshAction) : 'email';
}

/** "Confirm it's you": the password again before `action`, then back to `back`. */
export function reauthPage(s: RequestSession, user: string, back: string, action: FreshAction, error: boolean): string {
  const what = FRESH_ACTIONS[action];
  const then = action === 'email' ? 'to go on' : 'then choose it again';
  const body = html`<div class="narrow">
<h1 data-testid="reauth-heading">Confirm it's you</h1>
${error ? html`<p class="notice error" role="alert" data-testid="reauth-error">Wrong password.</p>` : ''}
<p class="muted" data-testid="reauth-action" data-action="${what.name}">${what.text}, and you signed in a while ago. Enter your password again ${then}.</p>
<form class="card" method="post" action="/demo/reauth" data-testid="reauth-form">
${csrfField(s)}
<input type="hidden" name="return" value="${back}">
<input type="hidden" name="action" value="${action}">
<p>Signed in as <strong>${user}</strong></p>
<label for="password">Password</label>
<input id="password" type="password" name="password" autocomplete="current-password" required data-testid="reauth-password">
<p class="muted">The demo password is <code>${DEMO_PASSWORD}</code>.</p>
<button type="submit" data-testid="reauth-submit">Confirm</button>
</form>
</div>`;
  return page({ title: "Confirm it's you · latchkey demo", brand: BRAND, nav: nav(action === 'email' ? 'sensitive' : 'home'), aside: aside(s, user), body });
}

/** The sensitive action: change the email kept in the session data. */
export function sensitivePage(s: RequestSession, user: string, o: { notice?: Notice | null; error?: boolean }): string {
  const stored = s.get('email');
  const email = typeof stored === 'string' ? stored : `${user}@example.com`;
  const confirmation =
    o.notice?.code === 'email-changed'
      ? html`<p class="notice ok" role="status" data-testid="sensitive-confirmation">Your email is now <strong>${email}</strong>.</p>`
      : noticeBlock(o.notice);
  const body = html`<h1 data-testid="sensitive-heading">Change your email</h1>
${confirmation}
${o.error ? html`<p class="notice error" role="alert" data-testid="sensitive-error">That does not look like an email address.</p>` : ''}
<div class="card">
<p>Current email: <strong data-testid="current-email">${email}</strong></p>
<form method="post" action="/demo/sensitive" data-testid="sensitive-form">
${csrfField(s)}
<label for="email">New email</label>
<div class="row"><input id="email" type="text" name="email" autocomplete="email" required maxlength="${MAX_EMAIL}" data-testid="sensitive-email"><button type="submit" data-testid="sensitive-submit">Save</button></div>
</form>
<p class="muted">This page opens only with a recent sign-in; the change is kept in the session's data.</p>
</div>`;
  return page({ title: 'Change your email · latchkey demo', brand: BRAND, nav: nav('sensitive'), aside: aside(s, user), body });
}

/** A device handle that is none of the user's sessions. */
export function notFoundPage(s: RequestSession, user: string): string {
  const body = html`<h1>No such device</h1><p>None of your sessions has that handle: it may have ended already.</p><p><a href="/demo">Back to your devices</a></p>`;
  return page({ title: 'No such device · latchkey demo', brand: BRAND, nav: nav(null), aside: aside(s, user), body });
}

/** A `<time>` with the exact instant and a coarse "5 min ago". */
function when(ms: number, now: number): SafeHtml {
  const iso = new Date(ms).toISOString();
  const s = Math.max(0, Math.round((now - ms) / 1000));
  const text =
    s < 45
      ? 'just now'
      : s < 90 * 60
        ? `${Math.max(1, Math.round(s / 60))} min ago`
        : s < 36 * 3600
          ? `${Math.round(s / 3600)} h ago`
          : iso.slice(0, 10);
  return html`<time datetime="${iso}" title="${iso.replace('T', ' ').slice(0, 19)} UTC">${text}</time>`;
}
