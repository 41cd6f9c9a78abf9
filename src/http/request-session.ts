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
import { InvalidDataError, LatchkeyTypeError } from '../core/errors.js';
import type { ClientInfo, Session, SessionData } from '../core/model.js';
import { DEVICE_BINDING_KEY } from '../core/model.js';
import type { SessionDataKey, SessionDataValue } from '../core/session-data.js';
import type { BackendRequest, Current, RefusalReason, SessionBackend } from './backend.js';
import type { Carrier, CarrierConfig } from './carriers.js';
import { LEAKY_CARRIER_HEADERS } from './carriers.js';
import type { CookieConfig } from './cookies.js';
import { clearCookieHeader, setCookieHeader } from './cookies.js';
import { NO_STORE } from './credential-headers.js';
import { asksForDeadlines, DEADLINES_HEADER, deadlinesLine } from './deadlines.js';
import type { CsrfConfig } from './csrf.js';
import { csrfTokenFor, csrfTokenMatches } from './csrf.js';
import { HeadersSentError, HttpError } from './errors.js';
import type { HttpRequest } from './request.js';

/** @internal what a request session needs from its HTTP configuration */
export interface SessionContext {
  /** The client's IP: the socket peer, or what trusted proxies say. */
  readonly resolveIp: (remoteAddress: string | undefined, request: HttpRequest) => string | undefined;
  readonly backend: SessionBackend;
  readonly cookie: CookieConfig;
  readonly carriers: CarrierConfig;
  readonly csrf: CsrfConfig | null;
  /** The `Clear-Site-Data` line of a sign-out. */
  readonly clearSiteData: HeaderLine;
  /** The adapter's `onError`: changes that could not reach the client and nobody awaits. */
  readonly report: (error: unknown) => void;
  /** DBSC, when the `dbsc` option turned it on. */
  readonly dbsc: SessionDbsc | null;
}

/** @internal what a request session uses of DBSC (device-binding.ts) */
export interface SessionDbsc {
  /** Whether a request may use a session with this data: a bound one only with a valid bound cookie. */
  admits(request: HttpRequest, data: SessionData): boolean;
  /** Whether the session data holds a device key. */
  isBound(data: SessionData): boolean;
  /** The registration offer of a sign-in answer. */
  registration(handle: string): Promise<HeaderLine>;
  /** The `Set-Cookie` line that drops the bound cookie. */
  clearBoundCookie(): HeaderLine;
}

/**
 * Called once, when a request's session first has something to write (see
 * `HttpSessions.begin()`); `false` means the response already started.
 * It receives the request and the session, so that an adapter can pass one
 * function made once rather than a closure per request.
 */
export type OnDirty<R extends HttpRequest = HttpRequest> = (request: R, session: RequestSession) => boolean | void;

/** Where a request session is in its response: changes are taken while OPEN only. */
const OPEN = 0;
/** `commit()` is under way: only its own changes (a load, the write) are taken. */
const COMMITTING = 1;
/** The response started (headers sent, or the answer handed back): every change is refused. */
const SENT = 2;

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

/** One response header to add: `[lower-case name, value]`. `set-cookie` may appear more than once. */
export type HeaderLine = readonly [string, string];

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
  readonly #ctx: SessionContext;
  readonly #request: HttpRequest;
  #clientInfo: ClientInfo | null = null;
  readonly #presented: string | null;
  readonly #carrier: Carrier | null;
  #onDirty: OnDirty | null;
  #loading: Promise<this> | null = null;
  #loaded = false;
  #current: Current | null = null;
  #backendRequest: BackendRequest | null = null;
  #invalid: RefusalReason | null = null;
  #issued = false;
  #clear = false;
  /** Whether this request signed out (`logout()`, `logoutEverywhere()`) and nothing was issued since. */
  #signedOut = false;
  #dirty = false;
  #phase = OPEN;
  #set: Map<string, unknown> | null = null;
  #unset: Set<string> | null = null;
  /** A DBSC endpoint's request: its session loads without the bound-cookie check (it is there to get one). */
  #boundExempt = false;
  /** Header lines of this response beyond the session's cookies (a DBSC registration offer). */
  #extra: HeaderLine[] | null = null;
  /** A renewed token of a session this request may not use (device-bound, without its bound cookie): sent, not used. */
  #handOn: Current | null = null;
  /** `Set-Cookie` values a migrator asked for (old session cookies cleared), or `null`. */
  #migrationCookies: readonly string[] | null = null;

  /**
   * @internal created by the HTTP layer, never by applications. Takes the
   * request view itself rather than closures over it: the read path makes no
   * function per request.
   */
  constructor(ctx: SessionContext, request: HttpRequest, token: string | null, carrier: Carrier | null, onDirty: OnDirty | null) {
    this.#ctx = ctx;
    this.#request = request;
    this.#presented = token;
    this.#carrier = token === null ? null : carrier;
    this.#onDirty = onDirty;
    // A token that travelled in a URL or form: the response must carry no-referrer and no-store.
    this.#dirty = this.#carrier === 'url' || this.#carrier === 'form';
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
    return (this.#loading ??= this.#load());
  }

  async #load(): Promise<this> {
    if (this.#presented !== null) {
      let result: Awaited<ReturnType<BackendRequest['load']>>;
      try {
        result = await this.#backend().load(this.client, this.#carrier);
      } catch (err) {
        // A store outage must not stick: the next call tries again.
        this.#loading = null;
        throw err;
      }
      const dbsc = this.#ctx.dbsc;
      if (result.ok && dbsc !== null && !this.#boundExempt && !dbsc.admits(this.#request, result.current.session.data)) {
        // A device-bound session without its bound cookie signs no one in. Its cookie is left alone: the
        // browser that holds the key refreshes the bound cookie and comes back; a copy elsewhere cannot.
        this.#invalid = 'bound-cookie-invalid';
        if (result.issue) {
          // Renewed while it was checked: the old token lives only through the renewal overlap. This request
          // may not use the session, but its client must get the new token, or the session ends with the overlap.
          this.#handOn = result.current;
          this.#loadChanged('renewed the session token');
        }
      } else if (result.ok) {
        this.#current = result.current;
        if (result.issue) {
          this.#issued = true;
          this.#loadChanged('renewed the session token');
        }
      } else {
        this.#invalid = result.reason;
        if (this.#carrier === 'cookie') {
          this.#clear = true;
          this.#loadChanged('found the presented token invalid and had to clear its cookie');
        }
      }
    }
    this.#loaded = true;
    // The answer must carry the deadlines the client asked for: the response goes through responseHeaders().
    if (this.#asksDeadlines()) this.#markDirty();
    return this;
  }

  /** @internal a DBSC endpoint's request: its session loads without the bound-cookie check. */
  exemptFromBoundCookie(): void {
    this.#boundExempt = true;
  }

  /**
   * @internal the HTTP layer's migration hook, before anything else uses the
   * session: the stateful session a migrator handed the request's old
   * session over to (its cookie is set on this answer), or none, and the
   * `Set-Cookie` values the migrator asks for (the old cookies cleared).
   */
  adopt(adopted: { readonly token: string; readonly session: Session } | null, setCookies: readonly string[]): void {
    if (adopted !== null) {
      this.#current = { session: adopted.session, secret: adopted.token, token: adopted.token };
      this.#issued = true;
    }
    if (setCookies.length > 0) this.#migrationCookies = setCookies;
    this.#loaded = true;
    this.#loading = Promise.resolve(this);
    if (adopted !== null || setCookies.length > 0) this.#markDirty();
  }

  /** Whether `load()` has completed. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** The public session handle (safe to log and show), or `null` when there is no session. */
  get handle(): string | null {
    return this.#read()?.handle ?? null;
  }

  /** The signed-in user, or `null`. */
  get userId(): string | null {
    return this.#read()?.userId ?? null;
  }

  /** Whether a user is signed in. */
  get isAuthenticated(): boolean {
    return this.userId !== null;
  }

  /** Strength of the last authentication (0 when anonymous). */
  get authLevel(): number {
    return this.#read()?.authLevel ?? 0;
  }

  /** The engine's view of the session (timestamps, deadlines, client), or `null`. Data changes of this request are not reflected. */
  get info(): Session | null {
    return this.#read();
  }

  /**
   * Why the presented token was refused (`'expired-idle'`, `'revoked'`...),
   * or `null` when none was presented or it was valid.
   */
  get invalidReason(): RefusalReason | null {
    this.#read();
    return this.#invalid;
  }

  /** Which carrier the request presented its token in, or `null`. */
  get carrier(): Carrier | null {
    return this.#carrier;
  }

  /**
   * The token the client should hold after this response, for the bearer,
   * URL and form carriers, whose tokens the application hands out itself
   * (cookies are set automatically). A secret: never log it.
   */
  get token(): string | null {
    this.#read();
    return this.#current?.token ?? null;
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
    if (this.#clientInfo === null) {
      const request = this.#request;
      this.#clientInfo = { ip: this.#ctx.resolveIp(request.remoteAddress, request), userAgent: request.header('user-agent') };
    }
    return this.#clientInfo;
  }

  /**
   * The CSRF token to embed in forms (`<input type="hidden" name="_csrf">`)
   * or to send in the CSRF header, or `null` without a session.
   */
  get csrfToken(): string | null {
    this.#read();
    return this.#current === null ? null : csrfTokenFor(this.#current.secret);
  }

  /**
   * @internal whether `presented` is this session's CSRF token (sealed mode,
   * after `load()`; stateful mode checks the token before loading).
   */
  csrfMatches(presented: unknown): boolean {
    const cur = this.#read() === null ? null : this.#current;
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
    const s = this.#read();
    if (this.#unset?.has(key) === true) return undefined;
    if (this.#set?.has(key) === true) return this.#set.get(key) as SessionDataValue<K>;
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
    this.#checkKey(key);
    if (value === undefined) return this.unset(key);
    // Refuse what cannot be stored now, in the handler, rather than at commit time after the response.
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch {
      json = undefined;
    }
    if (json === undefined) throw new InvalidDataError(`session value for "${key.slice(0, 64)}" is not JSON-serialisable`);
    this.#openForChange('set()');
    (this.#set ??= new Map()).set(key, value);
    this.#unset?.delete(key);
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
    this.#checkKey(key);
    this.#openForChange('unset()');
    this.#set?.delete(key);
    (this.#unset ??= new Set()).add(key);
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
    this.#openForChange('login()');
    await this.load();
    const next = await this.#backend().login(this.#current, userId, options.authLevel, this.client);
    const offer = await this.#registrationOffer(next.session);
    this.#stillOpen('login()');
    this.#issue(next);
    if (offer !== null) (this.#extra ??= []).push(offer);
  }

  /**
   * DBSC's `Secure-Session-Registration` for a sign-in, unless the session
   * is bound already (a sign-in keeps its key). Best effort: a store that
   * cannot keep the challenge costs the offer, never the sign-in (the
   * session stays a plain cookie session).
   */
  async #registrationOffer(session: Session): Promise<HeaderLine | null> {
    const dbsc = this.#ctx.dbsc;
    if (dbsc === null || dbsc.isBound(session.data)) return null;
    try {
      return await dbsc.registration(session.handle);
    } catch (err) {
      this.#ctx.report(err);
      return null;
    }
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
    this.#openForChange('logout()');
    await this.load();
    const cur = this.#current;
    if (cur !== null) await this.#backend().logout(cur);
    this.#stillOpen('logout()');
    this.#forget();
    this.#signedOut = true;
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
  async logoutEverywhere(): Promise<number> {
    this.#openForChange('logoutEverywhere()');
    await this.load();
    const cur = this.#current;
    const n = cur === null ? 0 : await this.#backend().logoutEverywhere(cur);
    this.#stillOpen('logoutEverywhere()');
    this.#forget();
    this.#signedOut = true;
    return n;
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
    this.#openForChange('rotate()');
    await this.load();
    const cur = this.#current;
    if (cur === null) return false;
    const next = await this.#backend().rotate(cur, { reauthenticated: options.reauthenticated === true, authLevel: options.authLevel }, this.client);
    this.#stillOpen('rotate()');
    if (next !== null) {
      this.#issue(next);
      return true;
    }
    this.#forget();
    return false;
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
    const s = this.#read();
    return s !== null && this.#ctx.backend.isFresh(s, maxAge);
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
    throw new HttpError(401, 'unauthenticated', { headers: this.#challenge(this.#invalid === null ? null : 'invalid_token') });
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
    throw new HttpError(401, 'reauth-required', { headers: this.#challenge('insufficient_user_authentication') });
  }

  /**
   * Whether the end of the request has anything to write (store or headers).
   * Adapters check it once after `begin()`, then learn of later changes
   * through the `onDirty` callback.
   */
  get dirty(): boolean {
    return this.#dirty;
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
  async commit(): Promise<void> {
    this.#onDirty = null;
    this.#phase = COMMITTING;
    try {
      const set = this.#set;
      const unset = this.#unset;
      if ((set !== null && set.size > 0) || (unset !== null && unset.size > 0)) {
        if (!this.#loaded) await this.load();
        await this.#write(set, unset);
        // Written: the session's own data holds them now (kept until then, so reads never go stale).
        this.#set = null;
        this.#unset = null;
      }
      await this.#backend().prepare(this.#current, this.#issued, this.#clear);
    } finally {
      this.#phase = SENT;
    }
  }

  /**
   * @internal the response has started without a commit (nothing to write):
   * later changes throw {@link HeadersSentError}. Called by the HTTP layer.
   */
  responseStarted(): void {
    this.#onDirty = null;
    this.#phase = SENT;
  }

  async #write(set: Map<string, unknown> | null, unset: Set<string> | null): Promise<void> {
    const setObject = set === null || set.size === 0 ? undefined : Object.fromEntries(set);
    const unsetList = unset === null || unset.size === 0 ? undefined : [...unset];
    const cur = this.#current;
    if (cur === null) {
      if (setObject === undefined) return;
      this.#issue(await this.#backend().create(setObject, this.client));
      return;
    }
    const r = await this.#backend().patch(cur, setObject, unsetList);
    if (r === null) this.#forget(); // revoked meanwhile: nothing to write to
    else if (r.issue) this.#issue(r.current);
    else this.#current = r.current;
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
    const out: HeaderLine[] = [];
    const { carriers, cookie, csrf } = this.#ctx;
    const writer = this.#carrier ?? (carriers.cookie ? 'cookie' : carriers.order[0]);
    if (writer === 'cookie') {
      const handOn = this.#current === null ? this.#handOn : null;
      const cur = this.#current ?? handOn;
      const issued = this.#issued || handOn !== null;
      for (const line of this.#backend().cookies(cur, issued, this.#clear)) out.push(['set-cookie', line]);
      if (csrf?.cookieName != null) {
        if (issued && cur !== null) {
          const maxAge = this.#backend().maxAge(cur);
          out.push(['set-cookie', setCookieHeader({ ...cookie, name: csrf.cookieName }, csrfTokenFor(cur.secret), maxAge, false)]);
        } else if (this.#clear) out.push(['set-cookie', clearCookieHeader({ ...cookie, name: csrf.cookieName }, false)]);
      }
    }
    if (this.#migrationCookies !== null) for (const line of this.#migrationCookies) out.push(['set-cookie', line]);
    if (writer === 'url' || writer === 'form') out.push(...LEAKY_CARRIER_HEADERS);
    // A cached copy of a response that sets a cookie or hands out a token (session.token) would give it to the next reader.
    else if (out.length > 0 || this.#issued || this.#clear || this.#signedOut) out.push(...NO_STORE);
    if (this.#signedOut) {
      out.push(this.#ctx.clearSiteData);
      // The browser's DBSC session then refreshes, finds the session ended, and is told to end too.
      if (this.#ctx.dbsc !== null) out.push(this.#ctx.dbsc.clearBoundCookie());
    }
    if (this.#extra !== null) out.push(...this.#extra);
    if (this.#loaded && this.#asksDeadlines()) {
      // Deadlines go stale: never on a response a cache may keep. By the system clock, as the engine's (its default).
      out.push(deadlinesLine(this.#current?.session ?? null, Date.now()));
      if (!out.some(([name]) => name === 'cache-control')) out.push(...NO_STORE);
    }
    return out;
  }

  /** The backend's view of this request, made on first use: a request that never touches its session costs nothing. */
  #backend(): BackendRequest {
    return (this.#backendRequest ??= this.#ctx.backend.request(this.#presented, this.#request));
  }

  #checkKey(key: string): void {
    checkKey(key);
    if (key === this.#ctx.backend.reservedKey || key === DEVICE_BINDING_KEY) throw new LatchkeyTypeError(`the session data key "${key}" is reserved by latchkey`);
  }

  #read(): Session | null {
    if (!this.#loaded) throw new LatchkeyTypeError('the session is not loaded yet: call `await session.load()` before reading it');
    return this.#current?.session ?? null;
  }

  #issue(next: Current): void {
    this.#current = next;
    this.#handOn = null;
    this.#issued = true;
    this.#clear = false;
    // Signed in again in the same request: clearing the site's data now would take the new sign-in with it.
    this.#signedOut = false;
    this.#invalid = null;
    this.#markDirty();
  }

  #forget(): void {
    this.#current = null;
    this.#handOn = null;
    this.#issued = false;
    this.#set = null;
    this.#unset = null;
    this.#clear = this.#ctx.carriers.cookie;
    this.#markDirty();
  }

  #challenge(error: string | null): Record<string, string> {
    if (!this.#ctx.carriers.bearer || (this.#carrier !== null && this.#carrier !== 'bearer')) return {};
    const realm = `Bearer realm="${this.#ctx.carriers.realm}"`;
    return { 'www-authenticate': error === null ? realm : `${realm}, error="${error}"` };
  }

  /**
   * The session has something to write: the adapter learns it once (node:http
   * then holds the response for the commit). An adapter's `onDirty` answers
   * `false` when the response already went out: nothing can reach it any more.
   */
  /** Whether the request asked for its session's deadlines (`Latchkey-Deadlines: ?1`); read only where it matters, never on the plain read path. */
  #asksDeadlines(): boolean {
    return asksForDeadlines(this.#request.header(DEADLINES_HEADER));
  }

  #markDirty(): void {
    if (this.#dirty) return;
    this.#dirty = true;
    const notify = this.#onDirty;
    this.#onDirty = null;
    if (notify !== null && notify(this.#request, this) === false) this.#phase = SENT;
  }

  /** A writer's first step: refused once the response started (or when marking it dirty shows that it has). */
  #openForChange(operation: string): void {
    if (this.#phase === OPEN) this.#markDirty();
    if (this.#phase !== OPEN) throw new HeadersSentError(operation);
  }

  /** An async writer after its store call: the response may have started meanwhile (a handler that did not await it). */
  #stillOpen(operation: string): void {
    if (this.#phase !== OPEN) {
      throw new HeadersSentError(
        operation,
        `session.${operation} finished after the response headers were sent: its store change is made but its cookie could not reach the client; await it before writeHead()/end()/send() or before returning the response`,
      );
    }
  }

  /** A change made by load() (a renewal, a cookie to clear) after the response went out: nobody awaits it, so it is reported. */
  #loadChanged(what: string): void {
    this.#markDirty();
    if (this.#phase === SENT) {
      this.#ctx.report(
        new HeadersSentError('load()', `session.load() ${what} after the response headers were sent; the cookie could not reach the client. Load the session before writeHead()/end()/send()`),
      );
    }
  }
}

function checkKey(key: unknown): void {
  if (typeof key !== 'string' || key === '' || key.length > 256 || key === '__proto__') {
    throw new LatchkeyTypeError('session data keys must be strings of 1 to 256 characters, not "__proto__"');
  }
}
