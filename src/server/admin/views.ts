/**
 * The admin dashboard's pages: plain server-rendered HTML through the
 * escaping `html` tag of `../html.ts`, no client framework. Every value that
 * comes from a user, a client or the store (user ids, user agents, IPs) is
 * interpolated, never concatenated, so it is escaped. No page ever holds a
 * session token: only handles (public) and the CSRF token of the admin's own
 * session.
 *
 * @module
 */
import type { DeviceSession } from '../../core/model.js';
import type { SecurityEvent } from '../feed.js';
import { html, page } from '../html.js';
import type { NavLink, SafeHtml } from '../html.js';
import type { MetricsSnapshot } from '../metrics.js';
import type { HistorySeries } from '../history.js';
import type { UserCensus } from '../../core/store.js';
import { charts } from './charts.js';

/** The CSRF form field of the latchkey plugin (its default). */
export const CSRF_FIELD = '_csrf';

/** What every signed-in page needs to draw its header and forms. */
export interface AdminFrame {
  /** The admin's CSRF token, for the hidden field of every form. */
  readonly csrf: string;
  /** The admin's name, shown in the header. */
  readonly username: string;
  readonly now: number;
}

type Notice = { readonly kind: 'ok' | 'error'; readonly text: string } | null;

const BRAND = 'latchkey admin';

/** `2026-11-26 07:12:03 UTC`. */
export function utc(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** `just now`, `42 s ago`, `3 min ago`, `in 29 min`, `2 h ago`, `5 d ago`. */
export function relative(ms: number, now: number): string {
  const delta = ms - now;
  const s = Math.round(Math.abs(delta) / 1000);
  if (s < 5) return 'just now';
  const text = s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min` : s < 172_800 ? `${Math.floor(s / 3600)} h` : `${Math.floor(s / 86_400)} d`;
  return delta < 0 ? `${text} ago` : `in ${text}`;
}

/** `3 d 4 h`, `2 h 5 min`, `7 min 3 s`, `12 s`. */
export function span(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${s % 60} s`;
  return `${s} s`;
}

/** A `<time>` showing the UTC time and, under it, how long ago (or until). */
function when(ms: number, now: number): SafeHtml {
  // Date and time each stay whole; the text is still exactly `utc(ms)`.
  const [day, time] = utc(ms).split(' ', 2) as [string, string];
  return html`<time datetime="${new Date(ms).toISOString()}"><span style="white-space:nowrap">${day}</span> <span style="white-space:nowrap">${time} UTC</span></time><br><span class="muted">${relative(ms, now)}</span>`;
}

function csrfField(csrf: string): SafeHtml {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${csrf}">`;
}

function nav(current: 'overview' | 'events' | 'users'): NavLink[] {
  return [
    { href: '/admin', label: 'Overview', current: current === 'overview' },
    { href: '/admin/events', label: 'Security events', current: current === 'events' },
  ];
}

function aside(f: AdminFrame): SafeHtml {
  return html`<span data-testid="signed-in-as">signed in as <b>${f.username}</b></span><form class="inline" method="post" action="/admin/logout" data-testid="logout-form">${csrfField(f.csrf)}<button type="submit" class="secondary" data-testid="logout">Sign out</button></form>`;
}

function searchForm(user: string, prefix = ''): SafeHtml {
  return html`<form method="get" action="/admin/users" class="row" role="search" data-testid="user-search-form">
<div><label for="user">Sessions of user</label><input type="search" id="user" name="user" value="${user}" placeholder="user id" required maxlength="256" data-testid="user-search"></div>
<button type="submit" data-testid="user-search-submit">Search</button></form>
<form method="get" action="/admin/users" class="row" role="search" data-testid="prefix-search-form">
<div><label for="prefix">Users whose id starts with</label><input type="search" id="prefix" name="prefix" value="${prefix}" placeholder="prefix" required maxlength="256" data-testid="prefix-search"></div>
<button type="submit" data-testid="prefix-search-submit">Find</button></form>`;
}

/** Users with their live session counts, most first, each a link to their sessions. */
function userRows(census: UserCensus, testid: string): SafeHtml {
  if (census.users.length === 0) return html`<p class="muted" data-testid="${testid}-empty">No user has a live session.</p>`;
  return html`<div style="overflow-x:auto"><table data-testid="${testid}"><thead><tr><th>User</th><th>Live sessions</th></tr></thead><tbody>${census.users.map(
    (u) => html`<tr data-testid="user-row" data-user="${u.userId}"><td><a href="/admin/users?user=${encodeURIComponent(u.userId)}">${u.userId}</a></td><td data-testid="user-sessions">${u.sessions}</td></tr>`,
  )}</tbody></table></div>${census.complete ? '' : html`<p class="muted" data-testid="${testid}-partial">The store stopped counting at its scan bound: these figures are lower bounds.</p>`}`;
}

/** The sign-in page. */
export function loginPage(o: { error: string | null; username: string; csrf: string | null; notice?: Notice }): string {
  const body = html`<div class="card narrow"><h1>Sign in</h1>
<form method="post" action="/admin/login" data-testid="login-form">${o.csrf === null ? '' : csrfField(o.csrf)}
${o.error === null ? '' : html`<p class="notice error" role="alert" data-testid="login-error">${o.error}</p>`}
<label for="username">User name</label><input type="text" id="username" name="username" value="${o.username}" autocomplete="username" required maxlength="256" autofocus data-testid="login-username">
<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required maxlength="1024" data-testid="login-password">
<p><button type="submit" data-testid="login-submit">Sign in</button></p></form>
<p class="muted">The user name is <code>admin</code>; the password is in <code>&lt;data-dir&gt;/admin-password</code> unless <code>--admin-password</code> or <code>LATCHKEY_ADMIN_PASSWORD</code> sets it.</p></div>`;
  return page({ title: 'Sign in · latchkey admin', brand: BRAND, body, notice: o.notice ?? null });
}

/**
 * The counters, each labelled with what it counts: the lifecycle ones cover
 * every kind of session (split by kind below them), the validations only
 * those of the `/v1` API.
 */
const STATS: ReadonlyArray<readonly [Exclude<keyof MetricsSnapshot, 'rejectedByReason' | 'byKind'>, string]> = [
  ['sessionsCreated', 'sessions created, every kind'],
  ['validations', '/v1 validations'],
  ['rejected', '/v1 validations rejected'],
  ['revoked', 'sessions revoked, every kind'],
  ['rotated', 'tokens rotated, every kind'],
  ['invalidTokens', 'invalid tokens'],
  ['tokensIssued', 'token pairs issued'],
  ['tokenRefreshes', 'token refreshes'],
  ['storeErrors', 'store errors'],
  ['requests', 'HTTP requests'],
];

/** What the overview shows besides the counters. */
export interface ServiceStatus {
  readonly startedAt: number;
  /** The store URL, password redacted. */
  readonly store: string;
  readonly ready: boolean;
}

/** What each kind of session is, for the by-kind table and the badges. */
export const KIND_LABELS: Readonly<Record<string, string>> = {
  session: '/v1 sessions',
  refresh: '/v1 token families',
  admin: 'this dashboard',
  demo: 'the demo site',
  'demo-app': "the demo's single-page app",
};

/** A session kind as a badge, its meaning in the title. */
function kindBadge(kind: string): SafeHtml {
  return html`<span class="badge" data-testid="session-kind" data-kind="${kind}" title="${KIND_LABELS[kind] ?? 'an engine of its own'}">${kind}</span>`;
}

function kindRows(byKind: MetricsSnapshot['byKind']): SafeHtml {
  const kinds = Object.keys(byKind).sort();
  if (kinds.length === 0) return html`<p class="muted" data-testid="kinds-none">No session was created, revoked or rotated yet.</p>`;
  return html`<div style="overflow-x:auto"><table data-testid="counts-by-kind"><thead><tr><th>Engine (kind)</th><th>What</th><th>Created</th><th>Revoked</th><th>Rotated</th></tr></thead><tbody>${kinds.map((k) => {
    const c = byKind[k] as { created: number; revoked: number; rotated: number };
    return html`<tr data-kind="${k}"><td>${kindBadge(k)}</td><td class="muted">${KIND_LABELS[k] ?? ''}</td><td data-stat="kind-${k}-created">${c.created}</td><td data-stat="kind-${k}-revoked">${c.revoked}</td><td data-stat="kind-${k}-rotated">${c.rotated}</td></tr>`;
  })}</tbody></table></div>`;
}

function reasonRows(byReason: Readonly<Record<string, number>>): SafeHtml {
  const entries = Object.entries(byReason).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return html`<p class="muted" data-testid="rejected-none">No validation was rejected.</p>`;
  return html`<table data-testid="rejected-by-reason"><thead><tr><th>Reason</th><th>Count</th></tr></thead><tbody>${entries.map(
    ([reason, n]) => html`<tr data-reason="${reason}"><td><code>${reason}</code></td><td data-testid="rejected-count">${n}</td></tr>`,
  )}</tbody></table>`;
}

function eventTable(events: readonly SecurityEvent[], now: number, testid: string): SafeHtml {
  if (events.length === 0) return html`<p class="muted" data-testid="${testid}-empty">No security event yet.</p>`;
  return html`<div style="overflow-x:auto"><table data-testid="${testid}"><thead><tr><th>When</th><th>Event</th><th>User</th><th>Session</th><th>IP</th><th>Detail</th></tr></thead><tbody>${events.map(
    (e) => html`<tr data-testid="event" data-event-id="${e.id}" data-kind="${e.kind}">
<td>${when(e.at, now)}</td><td><span style="white-space:nowrap" class="badge${e.kind === 'token-theft' || e.kind === 'binding-mismatch' || e.kind === 'invalid-token-burst' ? ' warn' : ''}">${e.kind}</span></td>
<td>${e.userId === null ? html`<span class="muted">—</span>` : html`<a href="/admin/users?user=${encodeURIComponent(e.userId)}">${e.userId}</a>`}${e.sessionKind === null ? '' : html` ${kindBadge(e.sessionKind)}`}</td>
<td>${e.handle === null ? html`<span class="muted">—</span>` : html`<code>${e.handle}</code>`}</td>
<td>${e.ip ?? html`<span class="muted">—</span>`}</td><td>${e.detail}</td></tr>`,
  )}</tbody></table></div>`;
}

/**
 * Refreshes the counters every 5 s while the tab is visible, for 15 minutes
 * after the page was loaded: polling forever would keep the admin's session
 * alive and defeat its idle timeout. Constant text, no interpolation.
 */
export const OVERVIEW_SCRIPT = `(function(){var t0=Date.now(),LIMIT=15*60*1000;
function set(k,v){var el=document.querySelector('[data-stat="'+k+'"]');if(el)el.textContent=String(v);}
function tick(){if(Date.now()-t0>LIMIT){var s=document.getElementById('refresh-state');if(s)s.textContent='Auto-refresh paused: reload the page.';return;}
if(document.visibilityState!=='visible'){setTimeout(tick,5000);return;}
fetch('/admin/stats.json',{credentials:'same-origin',headers:{accept:'application/json'}}).then(function(r){if(!r.ok)throw new Error(String(r.status));return r.json();}).then(function(d){
for(var k in d.counts)if(typeof d.counts[k]==='number')set(k,d.counts[k]);var bk=d.counts.byKind||{};for(var kk in bk){set('kind-'+kk+'-created',bk[kk].created);set('kind-'+kk+'-revoked',bk[kk].revoked);set('kind-'+kk+'-rotated',bk[kk].rotated);}set('uptime',d.uptime);var ready=document.querySelector('[data-testid="store-ready"]');if(ready){ready.textContent=d.ready?'ready':'unreachable';ready.className=d.ready?'badge':'badge warn';}
}).catch(function(){}).then(function(){setTimeout(tick,5000);});}
setTimeout(tick,5000);})();`;

/** The overview: counters, service status, the user search and the last events. */
export function overviewPage(
  f: AdminFrame,
  o: { counts: MetricsSnapshot; status: ServiceStatus; events: readonly SecurityEvent[]; history: HistorySeries; top: UserCensus | null; notice?: Notice },
): string {
  const c = o.counts;
  const body = html`<h1>Overview</h1>
<div class="stats" data-testid="counts">${STATS.map(
    ([key, label]) => html`<div class="stat" data-testid="count-${key}"><b data-stat="${key}">${c[key] as number}</b><span>${label}</span></div>`,
  )}</div>
<div class="card" data-testid="service-status"><b>Service</b>
<p>Up for <span data-stat="uptime" data-testid="uptime">${span(f.now - o.status.startedAt)}</span>, since ${utc(o.status.startedAt)}.</p>
<p>Store <code data-testid="store-url">${o.status.store}</code> <span class="badge${o.status.ready ? '' : ' warn'}" data-testid="store-ready">${o.status.ready ? 'ready' : 'unreachable'}</span></p>
<p class="muted" id="refresh-state">Counters refresh every 5 s while this tab is open.</p></div>
<h2>Over time</h2><p class="muted">From the store, so every instance over it adds in and a restart loses nothing; each instance writes its counts every 10 s.</p>${charts(o.history)}
<div class="card">${searchForm('')}</div>
<h2>Users with most sessions</h2>${o.top === null ? html`<p class="muted" data-testid="top-users-unsupported">This store cannot count sessions per user.</p>` : html`<p class="muted">${o.top.sessions} live signed-in session${o.top.sessions === 1 ? '' : 's'} of ${o.top.userCount} user${o.top.userCount === 1 ? '' : 's'}, every kind.</p>${userRows(o.top, 'top-users')}`}
<h2>Sessions by engine</h2><p class="muted">Each engine of the service writes sessions of its own kind; the counters above marked "every kind" add these rows up (a revocation counts for the engine that made it: <code>/v1</code>'s "log out everywhere" ends token families too). The validations count the <code>/v1</code> API's alone.</p>${kindRows(c.byKind)}
<h2>Rejected /v1 validations by reason</h2>${reasonRows(c.rejectedByReason)}
<h2>Recent security events</h2>${eventTable(o.events, f.now, 'event-feed')}
<p><a href="/admin/events" data-testid="all-events">All security events</a></p>`;
  return page({ title: 'Overview · latchkey admin', brand: BRAND, nav: nav('overview'), aside: aside(f), body, notice: o.notice ?? null, script: OVERVIEW_SCRIPT });
}

/** The full security-event feed. */
export function eventsPage(f: AdminFrame, events: readonly SecurityEvent[]): string {
  const body = html`<h1>Security events</h1><p class="muted">Refresh-token theft, binding mismatches, bursts of invalid tokens, invalid tokens (per client, carrier and reason, once a minute), new devices, session-limit evictions and "log out everywhere", newest first. Kept in memory by this instance since it started, the last 200 at most.</p>${eventTable(events, f.now, 'event-feed')}`;
  return page({ title: 'Security events · latchkey admin', brand: BRAND, nav: nav('events'), aside: aside(f), body });
}

function deviceCell(d: DeviceSession, current: boolean): SafeHtml {
  const badge = current ? html` <span class="badge" data-testid="current-badge">current</span>` : '';
  return html`<span style="white-space:nowrap"><b>${d.device.browser}</b> on ${d.device.os}</span><br><span class="badge">${d.device.type}</span>${badge}<br><code class="muted" title="session handle">${d.handle}</code>`;
}

function userAgentCell(ua: string | null): SafeHtml {
  if (ua === null) return html`<span class="muted">—</span>`;
  const short = ua.length > 160 ? `${ua.slice(0, 160)}…` : ua;
  return html`<code title="${ua}">${short}</code>`;
}

/** A user's devices, with "Revoke" per row and "Revoke all". */
export function userPage(f: AdminFrame, o: { user: string; devices: readonly DeviceSession[]; currentHandle: string | null; notice?: Notice; status?: number }): string {
  const userField = html`<input type="hidden" name="user" value="${o.user}">`;
  const rows = o.devices.map(
    (d) => html`<tr data-testid="device-row" data-handle="${d.handle}" data-current="${d.handle === o.currentHandle ? 'true' : 'false'}">
<td>${deviceCell(d, d.handle === o.currentHandle)}</td><td>${kindBadge(d.kind)}</td>
<td>${d.ip ?? html`<span class="muted">—</span>`}</td><td>${userAgentCell(d.userAgent)}</td>
<td>${when(d.createdAt, f.now)}</td><td>${when(d.lastSeenAt, f.now)}</td><td>${when(d.expiresAt, f.now)}</td>
<td><form class="inline" method="post" action="/admin/sessions/${encodeURIComponent(d.handle)}/revoke">${csrfField(f.csrf)}${userField}<button type="submit" class="danger" data-testid="revoke-session" aria-label="Revoke session ${d.handle}">Revoke</button></form></td></tr>`,
  );
  const table =
    o.devices.length === 0
      ? html`<p class="muted" data-testid="no-sessions">No live session for this user.</p>`
      : html`<div style="overflow-x:auto"><table data-testid="devices"><thead><tr><th>Device</th><th>Kind</th><th>IP</th><th>User agent</th><th>Created</th><th>Last seen</th><th>Expires</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>
<form method="post" action="/admin/users/revoke-all" data-testid="revoke-all-form"><p>${csrfField(f.csrf)}${userField}<button type="submit" class="danger" data-testid="revoke-all">Revoke all (${o.devices.length})</button> <span class="muted">signs the user out on every device, every kind above</span></p></form>`;
  const body = html`<div class="card">${searchForm(o.user)}</div>
<h1>Sessions of <span data-testid="user-id">${o.user}</span></h1>
<p class="muted" data-testid="session-count">${o.devices.length} live session${o.devices.length === 1 ? '' : 's'}, oldest first, of every kind: <code>session</code> and <code>refresh</code> are the application's (<code>/v1</code>), <code>demo</code> the demo site's users of that name, <code>admin</code> this dashboard's.</p>${table}`;
  return page({ title: 'Sessions · latchkey admin', brand: BRAND, nav: nav('users'), aside: aside(f), body, notice: o.notice ?? null });
}

/** Users whose id starts with a prefix. */
export function prefixPage(f: AdminFrame, prefix: string, census: UserCensus | null): string {
  const result =
    census === null
      ? html`<p class="muted" data-testid="top-users-unsupported">This store cannot search users.</p>`
      : html`<p class="muted" data-testid="prefix-count">${census.userCount} user${census.userCount === 1 ? '' : 's'} with live sessions start with <code>${prefix}</code>${census.userCount > census.users.length ? html`; the ${census.users.length} with most sessions below` : ''}.</p>${userRows(census, 'prefix-users')}`;
  const body = html`<div class="card">${searchForm('', prefix)}</div><h1>Users starting with <code data-testid="prefix">${prefix}</code></h1>${result}`;
  return page({ title: 'Users · latchkey admin', brand: BRAND, nav: nav('users'), aside: aside(f), body });
}

/** What a confirmation page asks about: one session, or every session of a user. */
export type ConfirmAction = { readonly kind: 'revoke'; readonly handle: string; readonly user: string; readonly device: DeviceSession | null } | { readonly kind: 'revoke-all'; readonly user: string; readonly count: number };

/**
 * "Are you sure?" before a revocation, as a page (it works without script):
 * the same form again with `confirm=yes`, or back to the user's sessions.
 */
export function confirmPage(f: AdminFrame, a: ConfirmAction): string {
  const back = `/admin/users?user=${encodeURIComponent(a.user)}`;
  const action = a.kind === 'revoke' ? `/admin/sessions/${encodeURIComponent(a.handle)}/revoke` : '/admin/users/revoke-all';
  const what =
    a.kind === 'revoke'
      ? html`Revoke the session <code>${a.handle}</code>${a.device === null ? '' : html` (${a.device.device.browser} on ${a.device.device.os}, ${kindBadge(a.device.kind)})`} of <b>${a.user}</b>? Its next request finds no session.`
      : html`Revoke all ${a.count} live session${a.count === 1 ? '' : 's'} of <b>${a.user}</b>, every kind? The user is signed out on every device.`;
  const body = html`<div class="card narrow" data-testid="confirm"><h1>${a.kind === 'revoke' ? 'Revoke this session?' : 'Revoke every session?'}</h1><p>${what}</p>
<form method="post" action="${action}" data-testid="confirm-form">${csrfField(f.csrf)}<input type="hidden" name="user" value="${a.user}"><input type="hidden" name="confirm" value="yes">
<p><button type="submit" class="danger" data-testid="confirm-submit">${a.kind === 'revoke' ? 'Revoke' : 'Revoke all'}</button> <a class="button secondary" href="${back}" data-testid="confirm-cancel">Cancel</a></p></form></div>`;
  return page({ title: 'Confirm · latchkey admin', brand: BRAND, nav: nav('users'), aside: aside(f), body });
}

/** The search page without a result: an empty or refused user id. */
export function searchPage(f: AdminFrame, user: string, notice: Notice): string {
  const body = html`<div class="card">${searchForm(user)}</div>`;
  return page({ title: 'Sessions · latchkey admin', brand: BRAND, nav: nav('users'), aside: aside(f), body, notice });
}

/** A refusal (403 CSRF, 429 throttled, 503 store) drawn as a page for browsers. */
export function errorPage(status: number, message: string): string {
  const body = html`<div class="card narrow" data-testid="error"><h1>${status === 403 ? 'Request refused' : status === 429 ? 'Too many requests' : status >= 500 ? 'Service unavailable' : 'Error'}</h1><p>${message}</p>${status === 403 ? html`<p class="muted">Reload the page you came from and try again.</p>` : ''}<p><a href="/admin">Back to the dashboard</a></p></div>`;
  return page({ title: 'Error · latchkey admin', brand: BRAND, body });
}
