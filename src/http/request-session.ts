/**
 * The request-scoped session object every adapter hands to handlers. It
 * loads lazily (a request that never calls `load()` costs no store access),
 * buffers data changes, and is committed once at the end of the request as a
 * patch of the keys that changed. Nothing changed means no store write and no
 * `Set-Cookie`.
 *
 * @module
 */
import type { Duration } from '../core/duration.js';
import { LatchkeyTypeError } from '../core/errors.js';
import type { ClientInfo, Session } from '../core/model.js';
import type { SessionDataKey, SessionDataValue } from '../core/session-data.js';
import type { RefusalReason, RenewIf } from './backend.js';
import type { Carrier } from './carriers.js';
import { csrfTokenFor, csrfTokenMatches } from './csrf.js';
import { HttpError } from './errors.js';
import type { HttpRequest } from './request.js';
import { bearerChallenge, sessionResponseHeaders } from './request-session-headers.js';
import { rotateSession, signIn, signOut } from './request-session-signin.js';
import type { HeaderLine, SessionContext } from './request-session-state.js';
import { SessionState } from './request-session-state.js';

export type { HeaderLine, SessionContext, SessionDbsc } from './request-session-state.js';

/**
 * Called once, when a request's session first has something to write (see
 * `HttpSessions.begin()`); `false` means the response already started.
 * It receives the request and the session, so that an adapter can pass one
 * function made once rather than a closure per request.
 */
export type OnDirty<R extends HttpRequest = HttpRequest> = (request: R, session: RequestSession) => boolean | void;

/** Options of {@link RequestSession.login}. */
export interface LoginOptions {
  /** Strength of the authentication (e.g. 1 password, 2 with a second factor). @default 0 */
  authLevel?: number;
}

/** Options of {@link RequestSession.rotate}. */
export interface SessionRotateOptions {
  /** Record a re-authentication now (step-up), making the session fresh. @default false */
  reauthenticated?: boolean;
  /** New authentication level. */
  authLevel?: number;
}

/**
 * The session of one request. Identical in every adapter: Express and
 * Fastify put it on `req.session`, Hono on `c.var.session`, the Fetch and
 * node:http adapters pass it to the handler.
 *
 * Readers (`handle`, `userId`, `get()`...) need `await session.load()` first
 * and always see the request's own changes; writers may be called until the
 * response starts and are committed then. A change after that (the headers
 * sent, the answer returned) throws a {@link HeadersSentError} rather than
 * being lost.
 *
 * @example
 * ```ts
 * app.get('/', async (req, res) => {
 *   const session = await req.session.load();
 *   if (!session.isAuthenticated) return res.redirect('/login');
 *   session.set('visits', Number(session.get('visits') ?? 0) + 1);
 *   res.send(`hello ${session.userId}`);
 * });
 * ```
 */
export class RequestSession {
  readonly #state: SessionState<RequestSession>;

  /**
   * @internal created by the HTTP layer, never by applications. Takes the
   * request view itself rather than closures over it: the read path makes no
   * function per request.
   */
  constructor(ctx: SessionContext, request: HttpRequest, token: string | null, carrier: Carrier | null, onDirty: OnDirty | null) {
    this.#state = new SessionState<RequestSession>(this, ctx, request, token, carrier, onDirty);
  }

  /**
   * Validates the presented token (once; later calls return the same
   * promise). An unknown, expired or revoked token leaves an anonymous
   * session and expires the cookie; it is never adopted.
   *
   * @throws {HttpError} 503 `store-unavailable` when the store fails.
   * @example
   * ```ts
   * const session = await req.session.load();
   * ```
   */
  load(): Promise<this> {
    return this.#state.load() as Promise<this>;
  }

  /** @internal a DBSC endpoint's request: its session loads without the bound-cookie check. */
  exemptFromBoundCookie(): void {
    this.#state.boundExempt = true;
  }

  /** @internal a DBSC endpoint's request proved that it may use its session as `proved` admits it: a renewal its load left due happens now, if the session still is so. */
  renewIfDue(proved: RenewIf): Promise<void> {
    return this.#state.renewIfDue(proved);
  }

  /**
   * @internal the HTTP layer's migration hook, before anything else uses the
   * session: the stateful session a migrator handed the request's old
   * session over to (its cookie is set on this answer), or none, and the
   * `Set-Cookie` values the migrator asks for (the old cookies cleared).
   */
  adopt(adopted: { readonly token: string; readonly session: Session } | null, setCookies: readonly string[]): void {
    this.#state.adopt(adopted, setCookies);
  }

  /** Whether `load()` has completed. */
  get loaded(): boolean {
    return this.#state.loaded;
  }

  /** The public session handle (safe to log and show), or `null` when there is no session. */
  get handle(): string | null {
    return this.#state.read()?.handle ?? null;
  }

  /** The signed-in user, or `null`. */
  get userId(): string | null {
    return this.#state.read()?.userId ?? null;
  }

  /** Whether a user is signed in. */
  get isAuthenticated(): boolean {
    return this.userId !== null;
  }

  /** Strength of the last authentication (0 when anonymous). */
  get authLevel(): number {
    return this.#state.read()?.authLevel ?? 0;
  }

  /** The engine's view of the session (timestamps, deadlines, client), or `null`. Data changes of this request are not reflected. */
  get info(): Session | null {
    return this.#state.read();
  }

  /**
   * Why the presented token was refused (`'expired-idle'`, `'revoked'`...),
   * or `null` when none was presented or it was valid.
   */
  get invalidReason(): RefusalReason | null {
    this.#state.read();
    return this.#state.invalid;
  }

  /** Which carrier the request presented its token in, or `null`. */
  get carrier(): Carrier | null {
    return this.#state.carrier;
  }

  /**
   * The token the client should hold after this response, for the bearer,
   * URL and form carriers, whose tokens the application hands out itself
   * (cookies are set automatically). A secret: never log it.
   */
  get token(): string | null {
    this.#state.read();
    return this.#state.current?.token ?? null;
  }

  /**
   * The client of this request as latchkey sees it: the IP address resolved
   * through `trustProxy`, and the user agent. Readable before `load()`.
   *
   * @example
   * ```ts
   * if (throttle.retryAfter(req.session.client.ip ?? 'unknown', Date.now()) > 0) return res.status(429).end();
   * ```
   */
  get client(): ClientInfo {
    return this.#state.client();
  }

  /**
   * The CSRF token to embed in forms (`<input type="hidden" name="_csrf">`)
   * or to send in the CSRF header, or `null` without a session.
   */
  get csrfToken(): string | null {
    const state = this.#state;
    state.read();
    return state.current === null ? null : csrfTokenFor(state.current.secret);
  }

  /**
   * @internal whether `presented` is this session's CSRF token (sealed mode,
   * after `load()`; stateful mode checks the token before loading).
   */
  csrfMatches(presented: unknown): boolean {
    const state = this.#state;
    const cur = state.read() === null ? null : state.current;
    return cur !== null && cur.secret !== '' && csrfTokenMatches(presented, cur.secret);
  }

  /**
   * A data value, including changes made earlier in this request (also while
   * and after they are committed). Typed by the application's
   * `SessionDataTypes` declaration (module augmentation of `'latchkey'`).
   *
   * @example
   * ```ts
   * const cart = session.get('cart') ?? [];
   * ```
   */
  get<K extends SessionDataKey>(key: K): SessionDataValue<K> | undefined {
    const state = this.#state;
    const s = state.read();
    if (state.unset?.has(key) === true) return undefined;
    if (state.set?.has(key) === true) return state.set.get(key) as SessionDataValue<K>;
    return s === null || !Object.hasOwn(s.data, key) ? undefined : (s.data[key] as SessionDataValue<K>);
  }

  /**
   * Sets a data key to a JSON value (else throws `InvalidDataError` at once).
   * Only the keys changed are written, so concurrent
   * requests changing other keys lose nothing. Creates an anonymous session
   * when there is none. Throws a {@link HeadersSentError} once the response
   * has started.
   *
   * @example
   * ```ts
   * session.set('theme', 'dark');
   * ```
   */
  set<K extends SessionDataKey>(key: K, value: SessionDataValue<K>): this {
    this.#state.checkKey(key);
    if (value === undefined) return this.unset(key);
    this.#state.setValue(key, value);
    return this;
  }

  /**
   * Removes a data key.
   *
   * @example
   * ```ts
   * session.unset('cart');
   * ```
   */
  unset(key: SessionDataKey): this {
    const state = this.#state;
    state.checkKey(key);
    state.openForChange('unset()');
    state.set?.delete(key);
    (state.unset ??= new Set()).add(key);
    return this;
  }

  /**
   * Signs `userId` in. Always issues a new token and kills the old one
   * (fixation defence). Stateful mode keeps the data of an anonymous
   * session; sealed mode starts from a fresh payload (nothing of the
   * anonymous session is carried: copy what you need with `get()` before
   * and `set()` after).
   *
   * @example
   * ```ts
   * if (await passwordOk(form)) await session.login(user.id, { authLevel: 1 });
   * ```
   */
  async login(userId: string, options: LoginOptions = {}): Promise<void> {
    if (typeof userId !== 'string' || userId === '') throw new LatchkeyTypeError('login() needs a userId string');
    return signIn(this.#state, userId, options.authLevel);
  }

  /**
   * Signs out: revokes the session in the store at once, expires the
   * cookie and asks the browser to forget (`Clear-Site-Data`). Pending data
   * changes are dropped.
   *
   * @example
   * ```ts
   * await session.logout();
   * ```
   */
  async logout(): Promise<void> {
    await signOut(this.#state, false);
  }

  /**
   * "Sign out everywhere": revokes every session of the user, this one
   * included, expires the cookie and asks the browser to forget
   * (`Clear-Site-Data`). Resolves how many were revoked.
   *
   * @example
   * ```ts
   * const n = await session.logoutEverywhere();
   * ```
   */
  logoutEverywhere(): Promise<number> {
    return signOut(this.#state, true);
  }

  /**
   * Issues a new token for this session (after a privilege change, or with
   * `reauthenticated: true` after a step-up). Resolves `false` when there is
   * no session to rotate.
   *
   * @example
   * ```ts
   * await session.rotate({ reauthenticated: true });
   * ```
   */
  async rotate(options: SessionRotateOptions = {}): Promise<boolean> {
    return rotateSession(this.#state, options.reauthenticated === true, options.authLevel);
  }

  /**
   * Whether the user authenticated within `maxAge`, for sensitive routes.
   *
   * @example
   * ```ts
   * if (!session.isFresh('10m')) return res.redirect('/reauth');
   * ```
   */
  isFresh(maxAge: Duration): boolean {
    const s = this.#state.read();
    return s !== null && this.#state.ctx.backend.isFresh(s, maxAge);
  }

  /**
   * Guard: throws a 401 `unauthenticated` {@link HttpError} unless a user is
   * signed in (with `WWW-Authenticate` for the bearer carrier).
   *
   * @example
   * ```ts
   * session.requireUser();
   * ```
   */
  requireUser(): void {
    if (this.isAuthenticated) return;
    const state = this.#state;
    throw new HttpError(401, 'unauthenticated', { headers: bearerChallenge(state, state.invalid === null ? null : 'invalid_token') });
  }

  /**
   * Guard for sensitive routes: throws 401 `unauthenticated` without a user,
   * and 401 `reauth-required` ("re-authentication required") when the last
   * authentication is older than `maxAge`.
   *
   * @example
   * ```ts
   * session.requireFresh('5m'); // before changing the password
   * ```
   */
  requireFresh(maxAge: Duration): void {
    this.requireUser();
    if (this.isFresh(maxAge)) return;
    throw new HttpError(401, 'reauth-required', { headers: bearerChallenge(this.#state, 'insufficient_user_authentication') });
  }

  /**
   * Whether the end of the request has anything to write (store or headers).
   * Adapters check it once after `begin()`, then learn of later changes
   * through the `onDirty` callback.
   */
  get dirty(): boolean {
    return this.#state.dirty;
  }

  /**
   * Writes the data changes of this request as one patch of the changed keys
   * (creating an anonymous session if needed). Called once by adapters when
   * the response is about to be sent; from then on the session takes no
   * change (a {@link HeadersSentError}), and reads keep seeing this request's
   * changes, during the write and after it.
   *
   * @throws {HttpError} 503 `store-unavailable` when the store fails;
   *   `InvalidDataError` for data the session cannot hold (over
   *   `maxDataBytes`, or over the cookie budget in sealed mode).
   */
  commit(): Promise<void> {
    return this.#state.commit();
  }

  /**
   * @internal the response has started without a commit (nothing to write):
   * later changes throw {@link HeadersSentError}. Called by the HTTP layer.
   */
  responseStarted(): void {
    this.#state.responseStarted();
  }

  /**
   * The headers the response must carry: `Set-Cookie` for a new or expired
   * token (and the CSRF cookie), `Cache-Control: no-store` whenever a
   * credential is set, cleared or handed out, `Clear-Site-Data` after a
   * sign-out, no-referrer for the URL and form carriers, and
   * `Latchkey-Deadlines` (with `no-store`) when the request asked for it
   * and loaded its session. Used by adapters after {@link commit}.
   */
  responseHeaders(): HeaderLine[] {
    return sessionResponseHeaders(this.#state);
  }
}
