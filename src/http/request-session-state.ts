/**
 * What one request's session holds behind the public `RequestSession`
 * (request-session.ts): the token the request presented, the session it
 * holds now, the data changes waiting for the commit, what the end of the
 * request must write, and where the request is in its response. The load,
 * the commit and the rule that no change is taken once the response started
 * live here; the public class reads as its API and delegates.
 *
 * The fields are plain: the state is reachable only through the public
 * class's private field, so neither the token nor its secret shows when an
 * application logs its session.
 *
 * @module
 */
import { InvalidDataError, LatchkeyTypeError } from '../core/errors.js';
import type { ClientInfo, Session, SessionData } from '../core/model.js';
import { DEVICE_BINDING_KEY } from '../core/model.js';
import type { BackendRequest, Current, Loaded, RefusalReason, RenewIf, SessionBackend } from './backend.js';
import type { Carrier, CarrierConfig } from './carriers.js';
import type { CookieConfig } from './cookies.js';
import type { CsrfConfig } from './csrf.js';
import { asksForDeadlines, DEADLINES_HEADER } from './deadlines.js';
import { HeadersSentError } from './errors.js';
import type { HttpRequest } from './request.js';

/** One response header to add: `[lower-case name, value]`. `set-cookie` may appear more than once. */
export type HeaderLine = readonly [string, string];

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

/** Where a request session is in its response: changes are taken while OPEN only. */
const OPEN = 0;
/** `commit()` is under way: only its own changes (a load, the write) are taken. */
const COMMITTING = 1;
/** The response started (headers sent, or the answer handed back): every change is refused. */
const SENT = 2;

/**
 * @internal the state of one request's session. `S` is the public session
 * object it sits behind, handed to `onDirty` (typed here by a parameter, so
 * that this file does not import the public class that imports it).
 */
export class SessionState<S> {
  readonly ctx: SessionContext;
  readonly request: HttpRequest;
  /** The public session this state sits behind: what `load()` resolves and `onDirty` receives. */
  readonly owner: S;
  readonly presented: string | null;
  readonly carrier: Carrier | null;
  onDirty: ((request: HttpRequest, session: S) => boolean | void) | null;
  clientInfo: ClientInfo | null = null;
  loading: Promise<S> | null = null;
  loaded = false;
  current: Current | null = null;
  backendRequest: BackendRequest | null = null;
  invalid: RefusalReason | null = null;
  issued = false;
  clear = false;
  /** Whether this request signed out (`logout()`, `logoutEverywhere()`) and nothing was issued since. */
  signedOut = false;
  dirty = false;
  phase = OPEN;
  set: Map<string, unknown> | null = null;
  unset: Set<string> | null = null;
  /** A DBSC endpoint's request: its session loads without the bound-cookie check (it is there to get one). */
  boundExempt = false;
  /** Header lines of this response beyond the session's cookies (a DBSC registration offer). */
  extra: HeaderLine[] | null = null;
  /** The token is due for renewal and the load left it (a DBSC endpoint's request, before its proof): see `renewIfDue()`. */
  renewalDue = false;
  /** `Set-Cookie` values a migrator asked for (old session cookies cleared), or `null`. */
  migrationCookies: readonly string[] | null = null;

  constructor(
    owner: S,
    ctx: SessionContext,
    request: HttpRequest,
    token: string | null,
    carrier: Carrier | null,
    onDirty: ((request: HttpRequest, session: S) => boolean | void) | null,
  ) {
    this.owner = owner;
    this.ctx = ctx;
    this.request = request;
    this.presented = token;
    this.carrier = token === null ? null : carrier;
    this.onDirty = onDirty;
    // A token that travelled in a URL or form: the response must carry no-referrer and no-store.
    this.dirty = this.carrier === 'url' || this.carrier === 'form';
  }

  /** Validates the presented token, once: later calls return the same promise (until a store failure). */
  load(): Promise<S> {
    return (this.loading ??= this.#load());
  }

  async #load(): Promise<S> {
    if (this.presented !== null) {
      const dbsc = this.ctx.dbsc;
      let result: Loaded;
      let admitted = true;
      try {
        // With DBSC a due token is renewed only for a request that may use the session: a copy of the session
        // cookie without the bound cookie must neither get the new token nor end the browser's with the overlap.
        result = await this.backend().load(this.client(), this.carrier, dbsc === null);
        if (result.ok && dbsc !== null && !this.boundExempt) {
          admitted = dbsc.admits(this.request, result.current.session.data);
          if (admitted && result.renewalDue === true) {
            // Asked again of the copy the renewal replaces: a binding written since the check above (a
            // registration racing a copy of the cookie) is the one that decides, for the renewal and the request.
            result = await this.backend().load(this.client(), this.carrier, (data) => dbsc.admits(this.request, data));
            admitted = !result.ok || dbsc.admits(this.request, result.current.session.data);
          }
        }
      } catch (err) {
        // A store outage must not stick: the next call tries again.
        this.loading = null;
        throw err;
      }
      this.#loaded(result, admitted);
    }
    this.loaded = true;
    // The answer must carry the deadlines the client asked for: the response goes through responseHeaders().
    if (this.asksDeadlines()) this.markDirty();
    return this.owner;
  }

  /**
   * A DBSC endpoint's request proved that it may use its session (a refresh
   * signed with the device key, or a registration of a session not bound at
   * load): a renewal its load left due happens now, and the answer carries
   * the new token. Does nothing when none is due.
   */
  async renewIfDue(proved: RenewIf): Promise<void> {
    if (!this.renewalDue) return;
    this.renewalDue = false;
    // `proved` is asked of the copy the renewal replaces: a binding written since the proof was checked decides.
    const result = await this.backend().load(this.client(), this.carrier, proved);
    // Not renewed (the binding changed since the proof): the request keeps what its load found.
    if (!result.ok || proved(result.current.session.data)) this.#loaded(result, true);
  }

  /** Takes what a load found; `admitted`: the request may use the session (DBSC's bound check passed, or did not apply). */
  #loaded(result: Loaded, admitted: boolean): void {
    if (result.ok && !admitted) {
      // A device-bound session without its bound cookie signs no one in. Its cookie is left alone: the
      // browser that holds the key refreshes the bound cookie and comes back; a copy elsewhere cannot.
      this.invalid = 'bound-cookie-invalid';
    } else if (result.ok) {
      this.current = result.current;
      // Left due only at a DBSC endpoint (the bound check skipped): renewed there once the request proves the key.
      this.renewalDue = result.renewalDue === true;
      if (result.issue) {
        this.issued = true;
        this.#loadChanged('renewed the session token');
      }
    } else {
      this.current = null;
      this.invalid = result.reason;
      if (this.carrier === 'cookie') {
        this.clear = true;
        this.#loadChanged('found the presented token invalid and had to clear its cookie');
      }
    }
  }

  /** The migration hook's outcome (see `RequestSession.adopt()`), in place of a load. */
  adopt(adopted: { readonly token: string; readonly session: Session } | null, setCookies: readonly string[]): void {
    if (adopted !== null) {
      this.current = { session: adopted.session, secret: adopted.token, token: adopted.token };
      this.issued = true;
    }
    if (setCookies.length > 0) this.migrationCookies = setCookies;
    this.loaded = true;
    this.loading = Promise.resolve(this.owner);
    if (adopted !== null || setCookies.length > 0) this.markDirty();
  }

  /** The client as latchkey sees it, resolved on first use. */
  client(): ClientInfo {
    if (this.clientInfo === null) {
      const request = this.request;
      this.clientInfo = { ip: this.ctx.resolveIp(request.remoteAddress, request), userAgent: request.header('user-agent') };
    }
    return this.clientInfo;
  }

  /** The backend's view of this request, made on first use: a request that never touches its session costs nothing. */
  backend(): BackendRequest {
    return (this.backendRequest ??= this.ctx.backend.request(this.presented, this.request));
  }

  /** The session for a reader: refused before `load()`. */
  read(): Session | null {
    if (!this.loaded) throw new LatchkeyTypeError('the session is not loaded yet: call `await session.load()` before reading it');
    return this.current?.session ?? null;
  }

  /** A data key's check: a key the application may write. */
  checkKey(key: string): void {
    if (typeof key !== 'string' || key === '' || key.length > 256 || key === '__proto__') {
      throw new LatchkeyTypeError('session data keys must be strings of 1 to 256 characters, not "__proto__"');
    }
    if (key === this.ctx.backend.reservedKey || key === DEVICE_BINDING_KEY) throw new LatchkeyTypeError(`the session data key "${key}" is reserved by latchkey`);
  }

  /** A new token (a sign-in, a rotation, a renewal at write time): the response sets it. */
  issue(next: Current): void {
    this.current = next;
    this.renewalDue = false;
    this.issued = true;
    this.clear = false;
    // Signed in again in the same request: clearing the site's data now would take the new sign-in with it.
    this.signedOut = false;
    this.invalid = null;
    this.markDirty();
  }

  /** No session any more: pending changes are dropped and the cookie is expired. */
  forget(): void {
    this.current = null;
    this.renewalDue = false;
    this.issued = false;
    this.set = null;
    this.unset = null;
    this.clear = this.ctx.carriers.cookie;
    this.markDirty();
  }

  /** Whether the request asked for its session's deadlines (`Latchkey-Deadlines: ?1`); read only where it matters, never on the plain read path. */
  asksDeadlines(): boolean {
    return asksForDeadlines(this.request.header(DEADLINES_HEADER));
  }

  /**
   * The session has something to write: the adapter learns it once (node:http
   * then holds the response for the commit). An adapter's `onDirty` answers
   * `false` when the response already went out: nothing can reach it any more.
   */
  markDirty(): void {
    if (this.dirty) return;
    this.dirty = true;
    const notify = this.onDirty;
    this.onDirty = null;
    if (notify !== null && notify(this.request, this.owner) === false) this.phase = SENT;
  }

  /** A writer's first step: refused once the response started (or when marking it dirty shows that it has). */
  openForChange(operation: string): void {
    if (this.phase === OPEN) this.markDirty();
    if (this.phase !== OPEN) throw new HeadersSentError(operation);
  }

  /** An async writer after its store call: the response may have started meanwhile (a handler that did not await it). */
  stillOpen(operation: string): void {
    if (this.phase !== OPEN) {
      throw new HeadersSentError(
        operation,
        `session.${operation} finished after the response headers were sent: its store change is made but its cookie could not reach the client; await it before writeHead()/end()/send() or before returning the response`,
      );
    }
  }

  /** A change made by load() (a renewal, a cookie to clear) after the response went out: nobody awaits it, so it is reported. */
  #loadChanged(what: string): void {
    this.markDirty();
    if (this.phase === SENT) {
      this.ctx.report(
        new HeadersSentError('load()', `session.load() ${what} after the response headers were sent; the cookie could not reach the client. Load the session before writeHead()/end()/send()`),
      );
    }
  }

  /** Buffers a data change, or throws at once for a value that cannot be stored (rather than at commit time, after the response). */
  setValue(key: string, value: unknown): void {
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch {
      json = undefined;
    }
    if (json === undefined) throw new InvalidDataError(`session value for "${key.slice(0, 64)}" is not JSON-serialisable`);
    this.openForChange('set()');
    (this.set ??= new Map()).set(key, value);
    this.unset?.delete(key);
  }

  /** Writes the buffered data changes as one patch, then lets the backend prepare the response (see `RequestSession.commit()`). */
  async commit(): Promise<void> {
    this.onDirty = null;
    this.phase = COMMITTING;
    try {
      const set = this.set;
      const unset = this.unset;
      if ((set !== null && set.size > 0) || (unset !== null && unset.size > 0)) {
        if (!this.loaded) await this.load();
        await this.#write(set, unset);
        // Written: the session's own data holds them now (kept until then, so reads never go stale).
        this.set = null;
        this.unset = null;
      }
      await this.backend().prepare(this.current, this.issued, this.clear);
    } finally {
      this.phase = SENT;
    }
  }

  /** The response has started without a commit (nothing to write): later changes are refused. */
  responseStarted(): void {
    this.onDirty = null;
    this.phase = SENT;
  }

  async #write(set: Map<string, unknown> | null, unset: Set<string> | null): Promise<void> {
    const setObject = set === null || set.size === 0 ? undefined : Object.fromEntries(set);
    const unsetList = unset === null || unset.size === 0 ? undefined : [...unset];
    const cur = this.current;
    if (cur === null) {
      if (setObject === undefined) return;
      this.issue(await this.backend().create(setObject, this.client()));
      return;
    }
    const r = await this.backend().patch(cur, setObject, unsetList);
    if (r === null) this.forget(); // revoked meanwhile: nothing to write to
    else if (r.issue) this.issue(r.current);
    else this.current = r.current;
  }
}
