/**
 * The demo site of `latchkey serve`, at `/demo`: sign in as a demo user, see
 * "your devices", sign a device out, sign out, sign out everywhere, and a
 * sensitive action ("change your email"). Signing out another device or
 * everywhere, and the sensitive action, need a recent sign-in (ASVS 5.0
 * 7.5.2): an older one is asked for the password again first. Signing out
 * this device never is. Plain server-rendered HTML that works without
 * JavaScript; every form carries the CSRF token.
 *
 * The demo runs on an engine of its own kind, `'demo'`, over the service's
 * store, so the admin dashboard sees and revokes its sessions (labelled
 * `demo`). Demo users are `alice`, `bob` and `carol`, password `demo`, and
 * their user ids are just that: the kind keeps them apart from the
 * application's users. The demo engine honours only demo tokens (and `/v1`
 * never a demo token); the demo lists, counts and signs out only sessions
 * of the demo kind, so a demo visitor can never see, evict or revoke the
 * sessions of a real user named `alice`, and the public password opens
 * nothing but the demo. Each demo user keeps at most 10 sessions (the
 * oldest is signed out), and failed sign-ins are braked per client IP.
 *
 * Stable selectors for end-to-end tests (`[data-testid=...]`):
 *
 * | selector | where | what |
 * |---|---|---|
 * | `login-form` | /demo/login | the sign-in form (POST /demo/login) |
 * | `login-user` | login form | `<select name="user">`: alice, bob, carol |
 * | `login-password` | login form | `<input name="password">` |
 * | `login-submit` | login form | the submit button |
 * | `login-error` | /demo/login | wrong user or password (status 401) |
 * | `notice` | any page | a flash message; `data-kind` is `ok` or `error`, `data-notice` its code (`signed-out`, `signed-out-everywhere`, `device-revoked`, `email-changed`, `reauthenticated`, or why a session ended: `revoked`, `expired-idle`, `expired-absolute`...) |
 * | `user-name` | /demo | the signed-in user's name (`alice`) |
 * | `devices-table` | /demo | the "Your devices" table |
 * | `device-row` | devices table | one `<tr>` per session; `data-handle` (the public session handle) and `data-current` (`"true"` on this browser's session, else `"false"`) |
 * | `current-badge` | current device row | the "this device" badge |
 * | `device-revoke` | other device rows | "Sign out" button of that device (POST /demo/devices/:handle/revoke) |
 * | `sign-out` | /demo | "Sign out" button (POST /demo/logout) |
 * | `sign-out-everywhere` | /demo | "Sign out everywhere" button (POST /demo/logout-everywhere): every session of the user, this one included |
 * | `sensitive-link` | /demo | link to /demo/sensitive |
 * | `reauth-heading` | /demo/sensitive, or a POST of `device-revoke` (another device) or `sign-out-everywhere`, when not fresh (the POSTs answer 401) | "Confirm it's you" |
 * | `reauth-action` | same | what needs the confirmation ("change your email", "sign out another device", "sign out everywhere") |
 * | `reauth-form` | same | the password form (POST /demo/reauth, hidden `return`: back to the page the action was on) |
 * | `reauth-password` | reauth form | `<input name="password">` |
 * | `reauth-submit` | reauth form | the submit button |
 * | `reauth-error` | reauth page | wrong password (status 401) |
 * | `sensitive-heading` | /demo/sensitive when fresh | "Change your email" |
 * | `current-email` | sensitive page | the email kept in the session data |
 * | `sensitive-form` | sensitive page | the form (POST /demo/sensitive) |
 * | `sensitive-email` | sensitive form | `<input name="email">` |
 * | `sensitive-submit` | sensitive form | the submit button |
 * | `sensitive-error` | sensitive page | not an email address (status 400) |
 * | `sensitive-confirmation` | /demo/sensitive after a change | "Your email is now …" |
 *
 * The single-page section (`/demo/app`, `demo/spa.ts`) runs `latchkey/browser`
 * in token mode; its selectors: `app-loading`, `app-signed-out`,
 * `app-signed-in` (the two views, one shown at a time), `app-login-form`,
 * `app-login-user`, `app-login-password`, `app-login-submit`,
 * `app-login-error`, `app-notice` (why the last session ended,
 * `data-reason`), `app-user`, `app-idle` and `app-absolute` (time left, m:ss),
 * `app-expiring` (the expiry warning) with `app-countdown` and `app-stay`
 * ("Stay signed in"), `app-call` and `app-result` (an API call),
 * `app-sign-out`, `app-sign-out-everywhere`.
 *
 * The pages themselves are drawn by `demo/views.ts`. Redirects are `303 See Other`. A signed-out visitor, or one whose session
 * was revoked elsewhere (the dashboard), is sent to `/demo/login` (with
 * `?reason=revoked` and the like when a session cookie was refused).
 *
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { latchkey } from '../adapters/fastify.js';
import type { Duration } from '../core/duration.js';
import { durationOption } from '../core/duration.js';
import type { RequestSession } from '../http/request-session.js';
import type { ServiceContext } from './context.js';
import { SERVICE_KINDS } from './context.js';
import { loginThrottle } from './login-throttle.js';
import { retryAfter } from '../http/errors.js';
import { DEMO_PASSWORD, DEMO_USERS, MAX_EMAIL, actionOf, homePage, loginPage, notFoundPage, reauthPage, sensitivePage, type Notice } from './demo/views.js';
import { registerDemoApp, type DemoAppOptions } from './demo/spa.js';
import { htmlHeaders } from './html.js';

/** Options of {@link registerDemo}. */
export interface DemoOptions {
  /**
   * How recent the last authentication must be for the sensitive action and
   * for signing out another device or everywhere; older sign-ins are asked
   * for the password again.
   * @default '5m'
   */
  freshFor?: Duration;
  /** The deadlines of the single-page section (`/demo/app`). @default { idleTimeout: '2m', absoluteTimeout: '15m', accessTtl: '1m', warnBefore: '1m' } */
  app?: DemoAppOptions;
  /**
   * The key of the demo's DBSC bound cookies (32+ bytes, the same on every
   * instance): with it, a DBSC-capable browser binds its demo session to a
   * device key, and a copied demo cookie alone signs no one in.
   * @default off
   */
  dbscSecret?: string | Uint8Array;
}

/** The demo's session cookie; `__Host-` so a sibling subdomain cannot plant it. */
const COOKIE_NAME = '__Host-demo';
/** The demo's calls by user reach demo sessions only: its `alice` is not the application's. */
const DEMO_ONLY = { kinds: [SERVICE_KINDS.demo, SERVICE_KINDS.demoApp] };

/** Flash messages, chosen by a fixed code in the query string: nothing from the URL is echoed. */
const NOTICES: Readonly<Record<string, { readonly kind: 'ok' | 'error'; readonly text: string }>> = {
  'signed-out': { kind: 'ok', text: 'You are signed out. This session was revoked on the server at once.' },
  'signed-out-everywhere': { kind: 'ok', text: 'You are signed out on every device, this one included.' },
  'device-revoked': { kind: 'ok', text: 'That device is signed out: its next request will find no session.' },
  'email-changed': { kind: 'ok', text: 'Your email was changed.' },
  reauthenticated: { kind: 'ok', text: "Thanks, that's you. Your sign-in is fresh again: the session token was rotated." },
  revoked: { kind: 'error', text: 'Your session was ended elsewhere (another device or an administrator). Please sign in again.' },
  'expired-idle': { kind: 'error', text: 'Your session timed out after a while without activity. Please sign in again.' },
  'expired-absolute': { kind: 'error', text: 'Your session reached its maximum lifetime. Please sign in again.' },
  'binding-mismatch': { kind: 'error', text: 'Your session no longer matched this browser and was ended. Please sign in again.' },
};

/** Paths a re-authentication may return to: under /demo, same origin, no `..`, no `//`. */
const RETURN_PATH = /^\/demo(?:\/[A-Za-z0-9_-]{1,64}){0,4}$/;
const DEFAULT_RETURN = '/demo';

/**
 * Registers the demo site under `/demo`, in an encapsulated scope with its
 * own latchkey cookie (`__Host-demo`) and engine over the service's store.
 *
 * @param app the service's Fastify instance.
 * @param ctx the service context: `engine()`, `config.idleTimeout`, `config.absoluteTimeout` and `config.trustProxy` are used.
 * @param options `freshFor`: how recent a sign-in the sensitive action and signing out other devices need (@default '5m').
 * @throws {ConfigError} when `freshFor` is not a duration.
 * @example
 * ```ts
 * await registerDemo(app, ctx, { freshFor: '5m' });
 * ```
 */
export async function registerDemo(app: FastifyInstance, ctx: ServiceContext, options: DemoOptions = {}): Promise<void> {
  const freshForMs = durationOption('demo freshFor', options.freshFor ?? '5m', { min: 1 });
  const sessions = ctx.engine({
    kind: SERVICE_KINDS.demo,
    idleTimeout: ctx.config.idleTimeout,
    absoluteTimeout: ctx.config.absoluteTimeout,
    // The password is public: bound what one visitor can pile up (the limit counts demo sessions only).
    maxSessionsPerUser: { limit: 10 },
  });
  const throttle = loginThrottle({ limit: 20, windowMs: 60_000, store: ctx.store, name: 'demo-sign-in', onError: (err) => ctx.log.warn({ err: { message: (err as Error)?.message } }, 'sign-in brake: store channel error') });
  app.addHook('onClose', () => throttle.close());
  await app.register(
    async (scope: FastifyInstance) => {
      // The latchkey plugin skips encapsulation: registered here, it applies to this scope only.
      const dbsc =
        options.dbscSecret === undefined
          ? false
          : {
              secret: options.dbscSecret,
              registrationPath: '/demo/dbsc/register',
              refreshPath: '/demo/dbsc/refresh',
              cookie: { name: '__Host-demo-bound' },
              // The bound cookie covers the origin (a __Host- cookie): the service's own pages need not wait for its refresh.
              scope: { exclude: ['/v1', '/admin', '/healthz', '/readyz', '/metrics', '/.well-known', '/favicon.ico'] },
            };
      await scope.register(latchkey, { sessions, cookie: { name: COOKIE_NAME }, trustProxy: ctx.config.trustProxy, dbsc });

      scope.get('/', async (request, reply) => {
        const s = await request.session.load();
        const user = demoUser(s);
        if (user === null) return toLogin(reply, s);
        const devices = await sessions.list(user, DEMO_ONLY);
        return send(reply, 200, homePage(s, user, devices, noticeOf(request)));
      });

      scope.get('/login', async (request, reply) => {
        // Loading clears a refused cookie, so that the next POST carries none.
        const s = await request.session.load();
        if (demoUser(s) !== null) return reply.redirect('/demo', 303);
        return send(reply, 200, loginPage(s, { notice: noticeOf(request) }));
      });

      scope.post('/login', async (request, reply) => {
        const s = await request.session.load();
        const user = formField(request, 'user');
        const password = formField(request, 'password');
        // The IP the latchkey plugin resolved (through trustProxy) for this request.
        const ip = s.client.ip ?? 'unknown';
        const wait = throttle.retryAfter(ip, Date.now());
        if (wait > 0) {
          reply.header('retry-after', retryAfter(wait));
          return send(reply, 429, loginPage(s, { error: true, user }));
        }
        if (user === undefined || !DEMO_USERS.includes(user) || !passwordMatches(password)) {
          await throttle.failed(ip, Date.now());
          return send(reply, 401, loginPage(s, { error: true, user }));
        }
        // login() always issues a new token and kills the presented one: no fixation.
        await s.login(user, { authLevel: 1 });
        return reply.redirect('/demo', 303);
      });

      scope.post('/logout', async (request, reply) => {
        const s = await request.session.load();
        await s.logout();
        return reply.redirect('/demo/login?done=signed-out', 303);
      });

      scope.post('/logout-everywhere', async (request, reply) => {
        const s = await request.session.load();
        const user = demoUser(s);
        if (user === null) return toLogin(reply, s);
        // It ends other devices' sessions too: only after a recent sign-in (ASVS 5.0 7.5.2).
        if (!s.isFresh(freshForMs)) return send(reply, 401, reauthPage(s, user, DEFAULT_RETURN, 'everywhere', false));
        // Every demo session of the user, this one included; never the application's sessions of the same name.
        await sessions.revokeUser(user, DEMO_ONLY);
        await s.logout();
        return reply.redirect('/demo/login?done=signed-out-everywhere', 303);
      });

      scope.post<{ Params: { handle: string } }>('/devices/:handle/revoke', async (request, reply) => {
        const s = await request.session.load();
        const user = demoUser(s);
        if (user === null) return toLogin(reply, s);
        const handle = request.params.handle;
        // Only the user's own sessions: a handle is public, so it proves nothing by itself.
        const own = (await sessions.list(user, DEMO_ONLY)).some((d) => d.handle === handle);
        if (!own) return send(reply, 404, notFoundPage(s, user));
        if (handle === s.handle) {
          await s.logout();
          return reply.redirect('/demo/login?done=signed-out', 303);
        }
        // Another device's session: only after a recent sign-in (ASVS 5.0 7.5.2).
        if (!s.isFresh(freshForMs)) return send(reply, 401, reauthPage(s, user, DEFAULT_RETURN, 'device', false));
        await sessions.revoke(handle);
        return reply.redirect('/demo?done=device-revoked', 303);
      });

      scope.get('/sensitive', async (request, reply) => {
        const s = await request.session.load();
        const user = demoUser(s);
        if (user === null) return toLogin(reply, s);
        if (!s.isFresh(freshForMs)) return send(reply, 200, reauthPage(s, user, '/demo/sensitive', 'email', false));
        return send(reply, 200, sensitivePage(s, user, { notice: noticeOf(request) }));
      });

      scope.post('/sensitive', async (request, reply) => {
        const s = await request.session.load();
        const user = demoUser(s);
        if (user === null) return toLogin(reply, s);
        // The POST needs freshness too: the form may have been left open past the window.
        if (!s.isFresh(freshForMs)) return send(reply, 401, reauthPage(s, user, '/demo/sensitive', 'email', false));
        const email = formField(request, 'email')?.trim();
        if (email === undefined || !isEmail(email)) return send(reply, 400, sensitivePage(s, user, { error: true }));
        s.set('email', email);
        return reply.redirect('/demo/sensitive?done=email-changed', 303);
      });

      scope.post('/reauth', async (request, reply) => {
        const s = await request.session.load();
        const user = demoUser(s);
        if (user === null) return toLogin(reply, s);
        const back = safeReturn(formField(request, 'return'));
        if (!passwordMatches(formField(request, 'password'))) return send(reply, 401, reauthPage(s, user, back, actionOf(formField(request, 'action')), true));
        // A step-up: a new token (the old one dies) with the authentication time set to now.
        if (!(await s.rotate({ reauthenticated: true }))) return toLogin(reply, s);
        return reply.redirect(`${back}?done=reauthenticated`, 303);
      });
    },
    { prefix: '/demo' },
  );
  await registerDemoApp(app, ctx, passwordMatches, options.app);
}

// ---------------------------------------------------------------------------
// Request helpers

/** The demo user of a loaded session (the engine honours demo sessions only), or `null` when signed out. */
function demoUser(s: RequestSession): string | null {
  const id = s.userId;
  return id !== null && DEMO_USERS.includes(id) ? id : null;
}

function toLogin(reply: FastifyReply, s: RequestSession): FastifyReply {
  const reason = s.invalidReason;
  return reply.redirect(reason !== null && reason in NOTICES ? `/demo/login?reason=${reason}` : '/demo/login', 303);
}

function send(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).headers(htmlHeaders()).send(body);
}

function formField(request: FastifyRequest, name: string): string | undefined {
  const body = request.body;
  if (body === null || typeof body !== 'object' || !Object.hasOwn(body, name)) return undefined;
  const v = (body as Record<string, unknown>)[name];
  return typeof v === 'string' && v.length <= 1024 ? v : undefined;
}

function noticeOf(request: FastifyRequest): Notice | null {
  const q = request.query as Record<string, unknown> | undefined;
  const code = typeof q?.done === 'string' ? q.done : typeof q?.reason === 'string' ? q.reason : null;
  if (code === null || !Object.hasOwn(NOTICES, code)) return null;
  const n = NOTICES[code] as { kind: 'ok' | 'error'; text: string };
  return { code, ...n };
}

const PASSWORD_DIGEST = createHash('sha256').update(DEMO_PASSWORD).digest();

/** Compares in constant time, as a real password check would. */
function passwordMatches(password: string | undefined): boolean {
  if (password === undefined) return false;
  return timingSafeEqual(createHash('sha256').update(password).digest(), PASSWORD_DIGEST);
}

function safeReturn(path: string | undefined): string {
  return path !== undefined && RETURN_PATH.test(path) ? path : DEFAULT_RETURN;
}

function isEmail(email: string): boolean {
  return email.length <= MAX_EMAIL && /^[^\s@]+@[^\s@]+$/.test(email);
}
