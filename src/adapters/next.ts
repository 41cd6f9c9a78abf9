/**
 * Next.js App Router adapter (Next 15 and 16): the session in server
 * components (read-only, through `cookies()`), server actions (read and
 * write, cookies set through the cookie store), route handlers, `proxy.js`
 * and edge `middleware.js` (read and write, through the Fetch API's
 * `Request` → `Response`, as `latchkey/fetch`). One HTTP layer underneath,
 * the same as every other adapter: the same cookies, CSRF checks and errors.
 *
 * It loads on the Node.js and on the edge runtime (nothing it imports needs
 * a `node:` module). Stateful sessions need their store reachable from the
 * runtime the code runs on (Node.js: server components, server actions,
 * route handlers and `proxy.js`, which Next 16 runs on Node), or the session
 * service through `remote` (everywhere, the edge included); sealed sessions
 * and access-token verification need no store.
 *
 * @module
 */
import { parseSetCookie } from 'cookie';
import { cookies, headers } from 'next/headers.js';
import type { HttpSessionsOptions } from '../http/http-sessions.js';
import { createHttpSessions } from '../http/http-sessions.js';
import { serveFetch, FetchRequestView } from '../http/fetch.js';
import { commitFailure } from '../http/exchange.js';
import type { HttpRequest } from '../http/request.js';
import type { RequestSession } from '../http/request-session.js';

/** A route handler or `proxy` function that also receives the request's session; `rest` is what Next.js passes (the route's `{ params }`). */
export type NextSessionHandler<A extends unknown[]> = (request: Request, session: RequestSession, ...rest: A) => Response | Promise<Response>;

/** Options of {@link nextSessions}: those of the HTTP layer (`sessions`, `sealed` or `remote`, `cookie`, `csrf`...). */
export interface NextSessionsOptions extends HttpSessionsOptions {
  /**
   * The client's address, which Next.js does not hand to route handlers,
   * server components or actions: read it from a header your own proxy
   * sets, e.g. `(h) => h.get('x-real-ip') ?? undefined` (only behind a proxy
   * that overwrites it). Used for binding by IP and throttling.
   * @default none (no IP)
   */
  remoteAddress?: (headers: Headers) => string | undefined;
}

/** The session functions of a Next.js app, made once by {@link nextSessions} (e.g. in `lib/session.ts`). */
export interface NextSessions {
  /**
   * The session in a server component (or anywhere `cookies()` is readable),
   * loaded and read-only: a server component cannot set cookies, so the
   * session takes no change (a `HeadersSentError`), a token due for renewal
   * is not renewed here, and an invalid cookie is not cleared here (a later
   * action, route handler or `proxy` does both). Stateful sessions still
   * slide their idle deadline in the store (a touch, at most once per
   * `touchInterval`); a sealed session's idle deadline lives in its cookie
   * and slides only where the cookie can be rewritten.
   *
   * @throws {HttpError} 503 `store-unavailable` when the store fails.
   */
  read(): Promise<RequestSession>;
  /**
   * Runs `fn` with the session inside a server action, then commits it and
   * sets its cookies through the cookie store of `cookies()`. Next.js checks
   * a server action's `Origin` against its host; latchkey's own Fetch
   * Metadata / Origin check runs too.
   *
   * @throws {HttpError} a CSRF refusal (403), a store outage (503), or
   *   whatever `fn` throws: the session is then not committed, unless it is
   *   Next.js's `redirect()` or `notFound()` (committed, then rethrown).
   */
  action<T>(fn: (session: RequestSession) => T | Promise<T>): Promise<T>;
  /**
   * Wraps a route handler (Node.js or edge runtime), the `proxy` function
   * of `proxy.js` or the `middleware` function of an edge `middleware.js`:
   * the handler receives the session; its cookies are added to the `Response`.
   * latchkey's CSRF defence applies to unsafe methods, as in every adapter.
   */
  route<A extends unknown[]>(handler: NextSessionHandler<A>): (request: Request, ...rest: A) => Promise<Response>;
}

/**
 * Creates the session functions of a Next.js App Router app.
 *
 * @throws {ConfigError} for a weakening configuration.
 * @example
 * ```ts
 * // lib/session.ts
 * import { createSessions } from 'latchkey';
 * import { memoryStore } from 'latchkey/stores/memory';
 * import { nextSessions } from 'latchkey/next';
 *
 * export const session = nextSessions({ sessions: createSessions({ store: memoryStore() }) });
 *
 * // app/page.tsx (server component)
 * const s = await session.read();
 * if (!s.isAuthenticated) redirect('/login');
 *
 * // app/actions.ts
 * 'use server';
 * export async function signIn(form: FormData) {
 *   await session.action((s) => s.login(String(form.get('username'))));
 *   redirect('/');
 * }
 *
 * // app/api/me/route.ts
 * export const GET = session.route(async (request, s) => {
 *   await s.load();
 *   return Response.json({ user: s.userId });
 * });
 * ```
 */
export function nextSessions(options: NextSessionsOptions): NextSessions {
  const { remoteAddress, ...rest } = options;
  if (remoteAddress !== undefined && typeof remoteAddress !== 'function') throw new TypeError('nextSessions: remoteAddress must be a function');
  const http = createHttpSessions(rest);
  const address = (h: Headers): string | undefined => remoteAddress?.(h);

  async function read(): Promise<RequestSession> {
    const view = new HeadersView('GET', await headers(), address, true);
    const begun = await http.begin(view);
    if (!begun.ok) throw begun.error;
    const session = await begun.session.load();
    // Nothing this request could write reaches the client: refuse changes rather than lose them.
    session.responseStarted();
    return session;
  }

  async function action<T>(fn: (session: RequestSession) => T | Promise<T>): Promise<T> {
    const [h, jar] = await Promise.all([headers(), cookies()]);
    const begun = await http.begin(new HeadersView('POST', h, address, false));
    if (!begun.ok) throw begun.error;
    const session = begun.session;
    let out: T;
    try {
      out = await fn(session);
    } catch (err) {
      // redirect() and notFound() end an action by throwing: what the action did to the session still counts.
      if (isNavigation(err)) await save(session, jar);
      throw err;
    }
    await save(session, jar);
    return out;
  }

  async function save(session: RequestSession, jar: CookieJar): Promise<void> {
    if (!session.dirty) {
      session.responseStarted();
      return;
    }
    try {
      await session.commit();
    } catch (err) {
      throw commitFailure(err, http.reportError);
    }
    // Only cookies reach the client from an action: Next.js renders the answer itself (and never caches it).
    for (const [name, value] of session.responseHeaders()) {
      if (name !== 'set-cookie') continue;
      // latchkey's own Set-Cookie line, as Next.js's cookie store takes it (the same attribute names).
      const { name: cookieName, value: cookieValue, ...attributes } = parseSetCookie(value);
      jar.set(cookieName, cookieValue ?? '', attributes);
    }
  }

  function route<A extends unknown[]>(handler: NextSessionHandler<A>): (request: Request, ...rest: A) => Promise<Response> {
    if (typeof handler !== 'function') throw new TypeError('nextSessions(options).route(handler) needs a handler function');
    const run = (session: RequestSession, request: Request, args: A): Response | Promise<Response> => handler(request, session, ...args);
    return (request: Request, ...args: A): Promise<Response> =>
      serveFetch(http, new FetchRequestView(request, address(request.headers), null), request, args, run);
  }

  return { read, action, route };
}

/** The cookie store of `cookies()` in a server action. */
type CookieJar = Awaited<ReturnType<typeof cookies>>;

/**
 * Whether `err` is how Next.js ends a request early: `redirect()`,
 * `permanentRedirect()`, `notFound()`, `forbidden()`, `unauthorized()` throw
 * an error whose `digest` starts with `NEXT_REDIRECT` or
 * `NEXT_HTTP_ERROR_FALLBACK` (Next 15 and 16).
 */
function isNavigation(err: unknown): boolean {
  const digest = typeof err === 'object' && err !== null ? (err as { digest?: unknown }).digest : undefined;
  return typeof digest === 'string' && /^NEXT_(REDIRECT|HTTP_ERROR_FALLBACK|NOT_FOUND)(;|$)/.test(digest);
}

/** The read-only `Headers` Next.js hands to server components and actions. */
interface HeaderSource {
  get(name: string): string | null;
}

/** The {@link HttpRequest} view of a server component's or action's headers: no URL, no body. */
class HeadersView implements HttpRequest {
  readonly method: string;
  readonly url = '/';
  readonly remoteAddress: string | undefined;
  readonly readOnly: boolean;
  readonly #headers: HeaderSource;

  constructor(method: string, h: HeaderSource, address: (h: Headers) => string | undefined, readOnly: boolean) {
    this.method = method;
    this.#headers = h;
    this.remoteAddress = address(h as Headers);
    this.readOnly = readOnly;
  }

  header(name: string): string | undefined {
    return this.#headers.get(name) ?? undefined;
  }
}
