/**
 * Where the request session keeps its sessions: the stateful engine (a
 * token in the carrier, the session in the store), sealed mode (the whole
 * session encrypted in the cookie), or the session service through
 * `latchkey/client` (backend-remote.ts). {@link RequestSession} holds the
 * request's state and delegates every session operation to a per-request
 * {@link BackendRequest}, so the request API is the same in every mode.
 *
 * @module
 */
import { clockOf, systemClock } from '../core/clock.js';
import type { Duration } from '../core/duration.js';
import { engineInternals } from '../core/engine-internals.js';
import { LatchkeyTypeError, StoreUnavailableError } from '../core/errors.js';
import type { ClientInfo, Session, SessionData } from '../core/model.js';
import type { InvalidReason, Sessions, ValidateOptions } from '../core/sessions.js';
import { randomString } from '../core/token.js';
import type { SealedSession } from '../sealed/payload.js';
import type { CookieWrite } from '../sealed/chunks.js';
import type { OpenFailure, SealedSessions } from '../sealed/sealed-sessions.js';
import type { Carrier } from './carriers.js';
import type { CookieConfig } from './cookies.js';
import { clearCookieHeader, readCookie, setCookieHeader } from './cookies.js';
import { storeUnavailable } from './errors.js';
import type { HttpRequest } from './request.js';

/**
 * Why a presented session was refused, in either mode. `'bound-cookie-invalid'`:
 * the session is device-bound (DBSC) and the request lacks a valid bound
 * cookie; its cookie is kept, since the browser with the key refreshes.
 */
export type RefusalReason = InvalidReason | OpenFailure | 'bound-cookie-invalid';

/** @internal the session of a request, as a backend hands it out */
export interface Current {
  /** The public view of the session (sealed mode: without the CSRF secret in its data). */
  readonly session: Session;
  /**
   * The secret the CSRF token is derived from: the session token in stateful
   * mode, a random value kept inside the sealed payload in sealed mode.
   */
  readonly secret: string;
  /** The token the client holds, for carriers other than the cookie (stateful mode only). */
  readonly token: string | null;
}

/** @internal */
export type Loaded =
  | {
      readonly ok: true;
      readonly current: Current;
      readonly issue: boolean;
      /** The token was due for renewal and left as it is (a load with `renew` false): a second load with it renews. */
      readonly renewalDue?: true;
    }
  | { readonly ok: false; readonly reason: RefusalReason };

/** @internal A condition on the session's data for a due token's renewal (see {@link BackendRequest.load}). */
export type RenewIf = (data: Readonly<Record<string, unknown>>) => boolean;

/** @internal one request's session operations */
export interface BackendRequest {
  /**
   * Validates the presented token; `carrier` is where it travelled (for the
   * engine's `invalid-token` reports). `renew` false: a token due for renewal
   * is kept and reported (`renewalDue`), for a request that may not be
   * allowed to use the session (DBSC, before the bound check); a function:
   * renewed only if it admits the session's data as the store holds it at
   * the renewal (DBSC: the request may use the session as it is then).
   * Stateful mode only, the other modes renew nothing at load that a second
   * load could.
   */
  load(client: ClientInfo, carrier: Carrier | null, renew: boolean | RenewIf): Promise<Loaded>;
  create(data: Record<string, unknown>, client: ClientInfo): Promise<Current>;
  /** Applies a data patch; `issue` when the client's cookie must change. `null`: the session is gone. */
  patch(current: Current, set: Record<string, unknown> | undefined, unset: string[] | undefined): Promise<{ current: Current; issue: boolean } | null>;
  login(current: Current | null, userId: string, authLevel: number | undefined, client: ClientInfo): Promise<Current>;
  logout(current: Current): Promise<void>;
  logoutEverywhere(current: Current): Promise<number>;
  rotate(current: Current, options: { reauthenticated: boolean; authLevel: number | undefined }, client: ClientInfo): Promise<Current | null>;
  /** Runs before {@link cookies}, in `commit()`: sealed mode seals here. */
  prepare(current: Current | null, issued: boolean, clear: boolean): Promise<void>;
  /** The session's `Set-Cookie` values for this response. */
  cookies(current: Current | null, issued: boolean, clear: boolean): string[];
  /** Seconds a persistent session cookie issued on this response lives: the CSRF cookie lives as long. */
  maxAge(current: Current): number;
}

/** @internal */
export interface SessionBackend {
  readonly mode: 'stateful' | 'sealed' | 'remote';
  /** A data key the backend keeps for itself, refused by `set()`/`unset()`, or `null`. */
  readonly reservedKey: string | null;
  /** Starts a request; `presented` is the token (stateful mode; sealed mode reads its cookie parts from the request). */
  request(presented: string | null, request: HttpRequest): BackendRequest;
  isFresh(session: Session, maxAge: Duration): boolean;
  /** Now, by the clock the sessions' deadlines are kept by (the engine's or sealed mode's `clock` option). */
  now(): number;
  /** Seconds a client IP must wait (the invalid-token throttle; stateful mode only). */
  throttled(ip: string): number;
}

/** Engine calls through the web layer: a store outage becomes a 503 {@link HttpError}. */
export function guard<T>(p: Promise<T>): Promise<T> {
  // One derived promise and a function made once, rather than an async function's frame per call.
  return p.catch(toHttpFailure);
}

function toHttpFailure(err: unknown): never {
  if (err instanceof StoreUnavailableError) throw storeUnavailable(err);
  throw err;
}

/** @internal seconds a session's persistent cookie lives: to its absolute deadline */
export function maxAgeOf(s: Session): number {
  return Math.ceil((s.absoluteExpiresAt - s.issuedAt) / 1000);
}

/** @internal the session of a token kept elsewhere (the engine's store, the session service): the token is the CSRF secret */
export const tokenCurrent = (token: string, session: Session): Current => ({ session, secret: token, token });

/** @internal the `Set-Cookie` values of a backend whose cookie holds the session token (the engine's, the service's) */
export function tokenCookies(cookie: CookieConfig, cur: Current | null, issued: boolean, clear: boolean): string[] {
  if (issued && cur !== null) return [setCookieHeader(cookie, cur.secret, maxAgeOf(cur.session))];
  return clear ? [clearCookieHeader(cookie)] : [];
}

/** @internal the engine: a token in the carrier, the session in the store */
export function statefulBackend(engine: Sessions, cookie: CookieConfig): SessionBackend {
  const engineClock = engineInternals(engine)?.clock ?? systemClock;
  return {
    mode: 'stateful',
    reservedKey: null,
    isFresh: (s, maxAge) => engine.isFresh(s, maxAge),
    now: () => engineClock.now(),
    throttled: (ip) => engine.throttled(ip),
    request: (presented, request) => new StatefulRequest(engine, cookie, presented, request.readOnly === true),
  };
}

const current = tokenCurrent;

/**
 * One request's operations on the engine. A class: a request that loads its
 * session makes one small object here, not one function per operation.
 */
class StatefulRequest implements BackendRequest {
  readonly #engine: Sessions;
  readonly #cookie: CookieConfig;
  readonly #presented: string | null;
  /** The response cannot carry a renewed token: validation must not renew. */
  readonly #readOnly: boolean;

  constructor(engine: Sessions, cookie: CookieConfig, presented: string | null, readOnly: boolean) {
    this.#engine = engine;
    this.#cookie = cookie;
    this.#presented = presented;
    this.#readOnly = readOnly;
  }

  async load(client: ClientInfo, carrier: Carrier | null, renew: boolean | RenewIf): Promise<Loaded> {
    const presented = this.#presented as string;
    const options: ValidateOptions = carrier === null ? { client } : { client, carrier };
    if (this.#readOnly || renew === false) options.renew = false;
    else if (typeof renew === 'function') options.renew = (session) => renew(session.data);
    const result = await guard(this.#engine.validate(presented, options));
    if (!result.ok) return { ok: false, reason: result.reason };
    if (result.renewed !== undefined) return { ok: true, current: current(result.renewed.token, result.session), issue: true };
    // A read-only request can never send a new token: nothing is due for it.
    if (result.renewalDue === true && !this.#readOnly) return { ok: true, current: current(presented, result.session), issue: false, renewalDue: true };
    return { ok: true, current: current(presented, result.session), issue: false };
  }

  async create(data: Record<string, unknown>, client: ClientInfo): Promise<Current> {
    const created = await guard(this.#engine.create({ data, client }));
    return current(created.token, created.session);
  }

  async patch(cur: Current, set: Record<string, unknown> | undefined, unset: string[] | undefined): Promise<{ current: Current; issue: boolean } | null> {
    const r = await guard(this.#engine.patch(cur.session.handle, { set, unset }));
    // Not ok: revoked meanwhile, nothing to write to.
    return r.ok ? { current: { ...cur, session: { ...cur.session, data: r.data, version: r.version } }, issue: false } : null;
  }

  async login(cur: Current | null, userId: string, authLevel: number | undefined, client: ClientInfo): Promise<Current> {
    if (cur !== null) {
      for (let attempt = 0; attempt < 3; attempt++) {
        const r = await guard(this.#engine.rotate(cur.secret, { userId, authLevel, client }));
        if (r.ok) return current(r.token, r.session);
        if (r.reason !== 'conflict') break;
      }
    }
    const created = await guard(this.#engine.create({ userId, authLevel, client }));
    return current(created.token, created.session);
  }

  async logout(cur: Current): Promise<void> {
    await guard(this.#engine.revoke(cur.session.handle));
  }

  async logoutEverywhere(cur: Current): Promise<number> {
    const s = cur.session;
    if (s.userId !== null) return (await guard(this.#engine.revokeUser(s.userId))).length;
    return (await guard(this.#engine.revoke(s.handle))) ? 1 : 0;
  }

  async rotate(cur: Current, options: { reauthenticated: boolean; authLevel: number | undefined }, client: ClientInfo): Promise<Current | null> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const r = await guard(this.#engine.rotate(cur.secret, { authenticated: options.reauthenticated, authLevel: options.authLevel, client }));
      if (r.ok) return current(r.token, r.session);
      if (r.reason !== 'conflict') break;
    }
    return null;
  }

  async prepare(): Promise<void> {}

  cookies(cur: Current | null, issued: boolean, clear: boolean): string[] {
    return tokenCookies(this.#cookie, cur, issued, clear);
  }

  maxAge(cur: Current): number {
    return maxAgeOf(cur.session);
  }
}

/** The data key sealed mode keeps the CSRF secret in; hidden from the request API. */
export const CSRF_KEY = '__latchkey_csrf';

const newSecret = (): string => randomString(32);

/** @internal sealed mode: the session in the cookie, revocation records (and spills) in the store */
export function sealedBackend(sealed: SealedSessions, cookie: CookieConfig): SessionBackend {
  const sealedClock = clockOf(sealed);
  function view(full: SealedSession): Current {
    const { [CSRF_KEY]: secret, ...data } = full.data;
    return { session: { ...full, data: data as SessionData }, secret: typeof secret === 'string' ? secret : '', token: null };
  }
  function withSecret(full: SealedSession): SealedSession {
    return sealed.update(full, { set: { [CSRF_KEY]: newSecret() } });
  }
  return {
    mode: 'sealed',
    reservedKey: CSRF_KEY,
    isFresh: (s, maxAge) => sealed.isFresh(s, maxAge),
    now: () => sealedClock.now(),
    throttled: () => 0,
    request(_presented, request) {
      // The full session of this request (with its CSRF secret), the cookie parts it came in, and the writes of this response.
      let full: SealedSession | null = null;
      let chunks = 0;
      let writes: CookieWrite[] = [];
      const adopt = (s: SealedSession): Current => {
        full = s;
        return view(s);
      };
      const own = (cur: Current): SealedSession => {
        if (full === null || full.handle !== cur.session.handle) throw new LatchkeyTypeError('latchkey: a sealed session of another request was used in this one');
        return full;
      };
      return {
        async load() {
          const header = request.header('cookie');
          const opened = await guard(sealed.open((name) => readCookie(header, name) ?? undefined));
          chunks = opened.chunks;
          if (!opened.ok) return { ok: false, reason: opened.reason };
          let s = opened.session;
          let issue = opened.reseal !== null;
          if (typeof s.data[CSRF_KEY] !== 'string') {
            // Sealed by the sealed API directly: give it a CSRF secret now.
            s = withSecret(s);
            issue = true;
          }
          return { ok: true, current: adopt(s), issue };
        },
        async create(data) {
          return adopt(await guard(sealed.create({ data: { ...data, [CSRF_KEY]: newSecret() } })));
        },
        async patch(cur, set, unset) {
          // set()/unset() refuse CSRF_KEY (reservedKey), so the secret survives every patch.
          return { current: adopt(sealed.update(own(cur), { set, unset })), issue: true };
        },
        async login(cur, userId, authLevel) {
          const old = cur === null ? null : own(cur);
          // A fresh payload: a new id, a new CSRF secret and no data of the session before (fixation defence).
          const next = withSecret(await guard(sealed.login(old, userId, { authLevel })));
          if (old !== null && sealed.revocable) await guard(sealed.revoke(old));
          return adopt(next);
        },
        async logout(cur) {
          const old = own(cur);
          full = null;
          if (sealed.revocable) await guard(sealed.revoke(old));
        },
        async logoutEverywhere(cur) {
          const old = own(cur);
          full = null;
          // The number of the user's other sessions is not known without server state: 1 for this one.
          if (old.userId !== null) await guard(sealed.revokeUser(old.userId));
          else if (sealed.revocable) await guard(sealed.revoke(old));
          return 1;
        },
        async rotate(cur, options) {
          const old = own(cur);
          // A new id; the data, the lifetime and (unless re-authenticated) the authentication time are kept.
          const fresh = await guard(sealed.login(old, old.userId, { authLevel: options.authLevel ?? old.authLevel }));
          const next: SealedSession = withSecret({
            ...fresh,
            data: old.data,
            createdAt: old.createdAt,
            absoluteExpiresAt: old.absoluteExpiresAt,
            idleExpiresAt: Math.min(fresh.idleExpiresAt, old.absoluteExpiresAt),
            authTime: options.reauthenticated && old.userId !== null ? fresh.authTime : old.authTime,
          });
          if (sealed.revocable) await guard(sealed.revoke(old));
          return adopt(next);
        },
        async prepare(cur, issued, clear) {
          if (issued && cur !== null) {
            writes = await guard(sealed.seal(own(cur), { previousChunks: chunks }));
            chunks = writes.filter((w) => w.maxAge > 0).length;
          } else if (clear) {
            writes = sealed.clear(Math.max(1, chunks));
            chunks = 0;
          } else writes = [];
        },
        cookies() {
          return writes.map((w) => (w.maxAge > 0 ? setCookieHeader({ ...cookie, name: w.name }, w.value, w.maxAge) : clearCookieHeader({ ...cookie, name: w.name })));
        },
        // What seal() gave the parts: the time left to the absolute deadline, by the sealed sessions' clock.
        maxAge: () => writes[0]?.maxAge ?? 0,
      };
    },
  };
}
