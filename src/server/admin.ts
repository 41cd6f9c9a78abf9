/**
 * The admin dashboard of `latchkey serve`, at `/admin`: sign-in with the
 * admin credential, live counters, a user's devices with "Revoke" and
 * "Revoke all", and the security-event feed. Server-rendered HTML that works
 * without script (a small inline script refreshes the counters).
 *
 * The dashboard eats its own cooking: its sign-in is a latchkey cookie
 * session (`__Host-admin`, Secure, HttpOnly, SameSite=Lax) on an
 * engine of its own over the shared store (30 min idle, 8 h absolute, bound
 * to the user agent), with latchkey's CSRF defence on every POST (Fetch
 * Metadata / Origin, then the `_csrf` form field that every form carries).
 * The plugin is registered inside an encapsulated scope, so it touches
 * neither `/v1` nor the demo site.
 *
 * Stable selectors, for end-to-end tests:
 *
 * | page | selector | what |
 * |---|---|---|
 * | /admin/login | `[data-testid=login-form]` | the form (POST /admin/login) |
 * | | `[data-testid=login-username]`, `[data-testid=login-password]`, `[data-testid=login-submit]` | its fields and button (ids `#username`, `#password`) |
 * | | `[data-testid=login-error]` | the error of a refused sign-in (401 wrong credential, 429 throttled) |
 * | every signed-in page | `[data-testid=signed-in-as]`, `[data-testid=logout]` (in `[data-testid=logout-form]`) | header: who, and "Sign out" |
 * | | `.notice.ok`, `.notice.error` | the flash message after an action (role=status) |
 * | /admin | `[data-testid=counts]` | the counter grid; one `[data-testid=count-<key>]` per counter, its number in `[data-stat=<key>]`; keys: sessionsCreated, validations, rejected, revoked, rotated, invalidTokens, tokensIssued, tokenRefreshes, storeErrors, requests |
 * | | `[data-testid=uptime]`, `[data-testid=store-url]`, `[data-testid=store-ready]` | service status (`ready` / `unreachable`) |
 * | | `[data-testid=rejected-by-reason]` (or `[data-testid=rejected-none]`) | rejected validations, rows `tr[data-reason=<reason>]` |
 * | /admin | `[data-testid=charts]`, `[data-testid=chart-live]`, `[data-testid=chart-validations]`, `[data-testid=chart-rejections]`, `[data-testid=chart-new-devices]` | the charts (see admin/charts.ts for their inner selectors) |
 * | /admin | `[data-testid=top-users]` (or `-empty`, `top-users-unsupported`), rows `tr[data-testid=user-row][data-user=<id>]` with `[data-testid=user-sessions]` | users with most sessions |
 * | /admin, /admin/users | `[data-testid=user-search-form]`, `[data-testid=user-search]` (`#user`), `[data-testid=user-search-submit]` | "sessions of user" (GET /admin/users?user=) |
 * | | `[data-testid=prefix-search-form]`, `[data-testid=prefix-search]` (`#prefix`), `[data-testid=prefix-search-submit]` | users by id prefix (GET /admin/users?prefix=), rows as above in `[data-testid=prefix-users]` |
 * | confirmation | `[data-testid=confirm]`, `[data-testid=confirm-submit]`, `[data-testid=confirm-cancel]` | "Revoke this session?" / "Revoke every session?": a revoke POST without `confirm=yes` answers this page and changes nothing |
 * | /admin, /admin/events | `[data-testid=event-feed]` (or `[data-testid=event-feed-empty]`) | the feed, rows `[data-testid=event][data-kind=<kind>][data-event-id=<n>]`; the dashboard's own actions are its audit trail: kinds `admin-sign-in`, `admin-sign-in-failed`, `admin-sign-out`, `admin-revoke`, `admin-revoke-all` (who in the detail, from where in the IP column) |
 * | /admin/users | `[data-testid=user-id]`, `[data-testid=session-count]` | whose sessions, how many |
 * | | `[data-testid=devices]` (or `[data-testid=no-sessions]`) | the devices table |
 * | | `tr[data-testid=device-row][data-handle=<handle>]` | one session; `data-current` is `true` (with `[data-testid=current-badge]`) on the admin's own, else `false` |
 * | | `[data-testid=revoke-session]` (inside a row), `[data-testid=revoke-all]` | the revoke buttons |
 * | any refusal page | `[data-testid=error]` | 403 (CSRF), 429, 503 drawn as HTML for browsers |
 *
 * Routes: GET /admin, GET|POST /admin/login, POST /admin/logout, GET
 * /admin/users?user= (or ?prefix=), POST /admin/sessions/:handle/revoke, POST
 * /admin/users/revoke-all (both: a confirmation page first, then the same
 * form with `confirm=yes`), GET /admin/events, GET /admin/stats.json.
 *
 * The page works on a phone (390 px wide: no horizontal page overflow, every
 * button at least 44 px high).
 *
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { latchkey } from '../adapters/fastify.js';
import { MAX_USER_ID } from '../core/arguments.js';
import type { RequestSession } from '../http/request-session.js';
import { loginThrottle } from './login-throttle.js';
import type { AdminFrame } from './admin/views.js';
import { confirmPage, errorPage, eventsPage, loginPage, OVERVIEW_SCRIPT, overviewPage, prefixPage, searchPage, span, userPage } from './admin/views.js';
import type { SecurityEventKind } from './feed.js';
import type { ServiceContext } from './context.js';
import { SERVICE_KINDS } from './context.js';
import { htmlHeaders } from './html.js';
import type { MetricsSnapshot } from './metrics.js';
import { redactStoreUrl } from '../stores/url.js';
import { storeReady } from './readiness.js';
import { retryAfter } from '../http/errors.js';

/** The dashboard's session cookie. The demo site uses another. */
export const ADMIN_COOKIE = '__Host-admin';

/**
 * The kind of the dashboard's sessions: its engine honours no other, and
 * `/v1` never answers for one, so its admin needs no reserved user id.
 */
export const ADMIN_KIND = SERVICE_KINDS.admin;


/** The flash messages that redirects may ask for: constant text only, never text from the URL. */
const NOTICES = {
  'signed-out': { kind: 'ok', text: 'Signed out.' },
  revoked: { kind: 'ok', text: 'Session revoked.' },
  'not-found': { kind: 'error', text: 'That session no longer exists: it was revoked or has expired.' },
} as const;

type NoticeCode = keyof typeof NOTICES | 'revoked-all';

/**
 * Registers the dashboard under `/admin`, in an encapsulated scope with its
 * own latchkey plugin, engine and cookie.
 *
 * @example
 * ```ts
 * const app = Fastify();
 * await registerAdmin(app, ctx); // GET /admin/login, GET /admin, ...
 * ```
 */
export async function registerAdmin(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  await app.register(
    async (scope) => {
      // Its own kind: another engine's token in this cookie is unknown here, and left untouched.
      const engine = ctx.engine({ kind: ADMIN_KIND, idleTimeout: '30m', absoluteTimeout: '8h', binding: { userAgent: true } });
      const adminUser = ctx.admin.username;
      await scope.register(latchkey, {
        sessions: engine,
        cookie: { name: ADMIN_COOKIE },
        trustProxy: ctx.config.trustProxy,
        onError: (err: unknown) => ctx.log.error({ err: { message: (err as Error)?.message, type: (err as Error)?.name } }, 'admin dashboard: session error'),
      });

      // The IP the latchkey plugin resolved (through trustProxy) for this request.
      const clientIp = (request: FastifyRequest): string => request.session.client.ip ?? 'unknown';
      const throttle = loginThrottle({ limit: 10, windowMs: 60_000 });
      /** One line of the audit trail in the security feed: who (the admin, or who tried), what, when, from where. */
      const audit = (request: FastifyRequest, kind: SecurityEventKind, what: { userId?: string | null; sessionKind?: string | null; handle?: string | null; detail: string }): void => {
        ctx.feed.push({ at: Date.now(), kind, userId: what.userId ?? null, sessionKind: what.sessionKind ?? null, handle: what.handle ?? null, ip: clientIp(request), detail: what.detail });
      };

      /** The admin's loaded session, or `null` (no session, or one of someone else's planted in the cookie). */
      const adminSession = async (request: FastifyRequest): Promise<RequestSession | null> => {
        const session = await request.session.load();
        return session.userId === adminUser ? session : null;
      };
      const frame = (session: RequestSession): AdminFrame => ({ csrf: session.csrfToken ?? '', username: ctx.admin.username, now: Date.now() });
      const toLogin = (reply: FastifyReply): FastifyReply => redirect(reply, '/admin/login');

      // latchkey's refusals (403 CSRF, 429, 503) are JSON; a browser gets them as a page.
      scope.addHook('onSend', async (request, reply, payload) => {
        if (reply.statusCode < 400 || typeof payload !== 'string' || !wantsHtml(request)) return payload;
        if (!String(reply.getHeader('content-type') ?? '').startsWith('application/json')) return payload;
        let message = 'The request was refused.';
        try {
          // latchkey's `{ error, message }` or the service's `{ error: { code, message } }`
          const body = JSON.parse(payload) as { message?: unknown; error?: { message?: unknown } };
          const text = body.message ?? body.error?.message;
          if (typeof text === 'string') message = text;
        } catch {
          // keep the generic message
        }
        reply.headers(htmlHeaders());
        reply.removeHeader('content-length');
        return errorPage(reply.statusCode, message);
      });

      scope.get('/login', async (request, reply) => {
        const session = await request.session.load();
        if (session.userId === adminUser) return redirect(reply, '/admin');
        const code = queryString(request, 'notice');
        const notice = code === 'signed-out' ? NOTICES['signed-out'] : null;
        return html(reply, 200, loginPage({ error: null, username: '', csrf: session.csrfToken, notice }));
      });

      scope.post('/login', async (request, reply) => {
        const session = await request.session.load();
        const ip = clientIp(request);
        const username = bodyString(request.body, 'username').slice(0, MAX_USER_ID);
        const wait = throttle.retryAfter(ip, Date.now());
        if (wait > 0) {
          ctx.log.warn({ ip }, 'admin sign-in refused: too many failures');
          reply.header('retry-after', retryAfter(wait));
          return html(reply, 429, loginPage({ error: `Too many failed sign-ins from your address: try again in ${wait} s.`, username, csrf: session.csrfToken }));
        }
        if (!ctx.admin.verify(username, bodyString(request.body, 'password'))) {
          throttle.failed(ip, Date.now());
          ctx.log.warn({ ip }, 'admin sign-in failed');
          // The name tried is not shown: a password typed into the name field must not reach the feed.
          audit(request, 'admin-sign-in-failed', { detail: `dashboard sign-in refused${username === adminUser ? ` for ${adminUser}` : ' (unknown user name)'}` });
          return html(reply, 401, loginPage({ error: 'Wrong user name or password.', username, csrf: session.csrfToken }));
        }
        throttle.succeeded(ip);
        await session.login(adminUser, { authLevel: 1 });
        ctx.log.info({ ip, handle: session.handle }, 'admin signed in');
        audit(request, 'admin-sign-in', { userId: adminUser, sessionKind: ADMIN_KIND, handle: session.handle, detail: `${adminUser} signed in to the dashboard` });
        return redirect(reply, '/admin');
      });

      scope.post('/logout', async (request, reply) => {
        const session = await adminSession(request);
        if (session !== null) {
          ctx.log.info({ handle: session.handle }, 'admin signed out');
          audit(request, 'admin-sign-out', { userId: adminUser, sessionKind: ADMIN_KIND, handle: session.handle, detail: `${adminUser} signed out of the dashboard` });
          await session.logout();
        }
        return redirect(reply, '/admin/login?notice=signed-out');
      });

      scope.get('/', async (request, reply) => {
        const session = await adminSession(request);
        if (session === null) return toLogin(reply);
        const ready = await storeReady(ctx.store);
        const f = frame(session);
        const [history, top] = await Promise.all([ctx.history.read(f.now), ctx.store.census === undefined ? null : ctx.store.census(f.now, '', 10)]);
        const page = overviewPage(f, {
          counts: ctx.metrics.snapshot(),
          status: { startedAt: ctx.startedAt, store: redactStoreUrl(ctx.config.store), ready },
          events: ctx.feed.recent(20),
          history,
          top,
        });
        return html(reply, 200, page, OVERVIEW_SCRIPT);
      });

      scope.get('/stats.json', async (request, reply) => {
        const session = await adminSession(request);
        if (session === null) return reply.code(401).header('cache-control', 'no-store').send({ error: 'unauthenticated', message: 'sign-in required' });
        const counts: MetricsSnapshot = ctx.metrics.snapshot();
        return reply.header('cache-control', 'no-store').send({ counts, uptime: span(Date.now() - ctx.startedAt), ready: await storeReady(ctx.store) });
      });

      scope.get('/events', async (request, reply) => {
        const session = await adminSession(request);
        if (session === null) return toLogin(reply);
        return html(reply, 200, eventsPage(frame(session), ctx.feed.recent(200)));
      });

      scope.get('/users', async (request, reply) => {
        const session = await adminSession(request);
        if (session === null) return toLogin(reply);
        const f = frame(session);
        const user = queryString(request, 'user');
        const prefix = queryString(request, 'prefix');
        if (user === '' && prefix !== '') {
          const refusal = refuseUser(prefix);
          if (refusal !== null) return html(reply, 400, searchPage(f, '', { kind: 'error', text: refusal }));
          return html(reply, 200, prefixPage(f, prefix, ctx.store.census === undefined ? null : await ctx.store.census(f.now, prefix, 50)));
        }
        if (user === '') return html(reply, 200, searchPage(f, '', null));
        const refusal = refuseUser(user);
        if (refusal !== null) return html(reply, 400, searchPage(f, user.slice(0, MAX_USER_ID), { kind: 'error', text: refusal }));
        const devices = await ctx.sessions.list(user);
        const code = queryString(request, 'notice') as NoticeCode | '';
        let notice: { kind: 'ok' | 'error'; text: string } | null = null;
        if (code === 'revoked-all') {
          const n = Number.parseInt(queryString(request, 'n'), 10);
          notice = { kind: 'ok', text: Number.isSafeInteger(n) && n >= 0 ? `Revoked ${n} session${n === 1 ? '' : 's'}.` : 'Sessions revoked.' };
        } else if (code !== '' && Object.hasOwn(NOTICES, code)) notice = NOTICES[code];
        return html(reply, 200, userPage(f, { user, devices, currentHandle: session.handle, notice }));
      });

      scope.post<{ Params: { handle: string } }>('/sessions/:handle/revoke', async (request, reply) => {
        const session = await adminSession(request);
        if (session === null) return toLogin(reply);
        const formUser = bodyString(request.body, 'user');
        const back = (user: string, notice: NoticeCode): string =>
          user === '' || refuseUser(user) !== null ? '/admin' : `/admin/users?user=${encodeURIComponent(user)}&notice=${notice}`;
        const handle = request.params.handle;
        // A session of any kind (an API session, a token family, a demo or dashboard session); null for anything else.
        const target = await ctx.sessions.get(handle);
        if (target === null) return redirect(reply, back(formUser, 'not-found'));
        const owner = target.userId ?? formUser;
        if (bodyString(request.body, 'confirm') !== 'yes') {
          // Nothing happens before the admin confirms, on a page of its own (no script needed).
          const device = owner === '' ? null : ((await ctx.sessions.list(owner)).find((d) => d.handle === handle) ?? null);
          return html(reply, 200, confirmPage(frame(session), { kind: 'revoke', handle, user: owner, device }));
        }
        ctx.log.info({ handle, userId: target.userId }, 'admin revoked a session');
        audit(request, 'admin-revoke', { userId: target.userId, sessionKind: target.kind, handle, detail: `${adminUser} revoked this session from the dashboard` });
        if (handle === session.handle) {
          // Revoking one's own session is signing out.
          await session.logout();
          return redirect(reply, '/admin/login?notice=signed-out');
        }
        await ctx.sessions.revoke(handle);
        return redirect(reply, back(target.userId ?? formUser, 'revoked'));
      });

      scope.post('/users/revoke-all', async (request, reply) => {
        const session = await adminSession(request);
        if (session === null) return toLogin(reply);
        const user = bodyString(request.body, 'user');
        const refusal = user === '' ? 'Which user? Give a user id.' : refuseUser(user);
        if (refusal !== null) return html(reply, 400, searchPage(frame(session), user.slice(0, MAX_USER_ID), { kind: 'error', text: refusal }));
        if (bodyString(request.body, 'confirm') !== 'yes') {
          const count = (await ctx.sessions.list(user)).length;
          return html(reply, 200, confirmPage(frame(session), { kind: 'revoke-all', user, count }));
        }
        const revoked = await ctx.sessions.revokeUser(user);
        ctx.log.info({ userId: user, count: revoked.length }, 'admin revoked every session of a user');
        audit(request, 'admin-revoke-all', { userId: user, detail: `${adminUser} revoked ${revoked.length} session${revoked.length === 1 ? '' : 's'} from the dashboard` });
        if (session.handle !== null && revoked.includes(session.handle)) {
          await session.logout();
          return redirect(reply, '/admin/login?notice=signed-out');
        }
        return redirect(reply, `/admin/users?user=${encodeURIComponent(user)}&notice=revoked-all&n=${revoked.length}`);
      });
    },
    { prefix: '/admin' },
  );
}

/** Why a user id cannot be looked up here, or `null`. */
function refuseUser(user: string): string | null {
  if (user.length > MAX_USER_ID) return `User ids are at most ${MAX_USER_ID} characters.`;
  return null;
}

function html(reply: FastifyReply, status: number, body: string, script?: string): FastifyReply {
  return reply.code(status).headers(htmlHeaders(script)).send(body);
}

function redirect(reply: FastifyReply, location: string): FastifyReply {
  return reply.code(303).header('location', location).header('cache-control', 'no-store').send();
}

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return v === undefined || typeof v === 'string' ? v : v.join(', ');
}

function wantsHtml(request: FastifyRequest): boolean {
  return (headerValue(request, 'accept') ?? '').includes('text/html');
}

function queryString(request: FastifyRequest, name: string): string {
  const query = request.query as Record<string, unknown> | null;
  const v = query !== null && typeof query === 'object' && Object.hasOwn(query, name) ? query[name] : undefined;
  return typeof v === 'string' ? v : '';
}

function bodyString(body: unknown, name: string): string {
  if (body === null || typeof body !== 'object' || !Object.hasOwn(body, name)) return '';
  const v = (body as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : '';
}
