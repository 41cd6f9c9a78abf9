/**
 * The third backend of the HTTP layer: stateful sessions kept by the session
 * service (`latchkey serve`) and reached through a `LatchkeyClient`
 * (`latchkey/client`), for runtimes that cannot reach a store themselves
 * (Next.js edge, Cloudflare Workers). The token, its cookie and the CSRF
 * secret are those of the stateful engine; every session operation is one
 * call of the service's `/v1` API.
 *
 * A service that cannot be reached, answers late (the client's `timeout`) or
 * answers 5xx is a 503 `store-unavailable`, as a store outage is for the
 * engine; the client's errors hold neither the API key nor a token. Input
 * the service refuses as invalid (400, 413) is the application's: the typed
 * error the engine throws for it (`InvalidDataError` for session data,
 * `LatchkeyTypeError` otherwise), with the engine's status.
 *
 * @module
 */
import type { LatchkeyApiError } from '../client/errors.js';
import type { LatchkeyClient, Session as ServiceSession } from '../client/types.js';
import { authLevelArg, userIdArg } from '../core/arguments.js';
import { durationOption } from '../core/duration.js';
import { InvalidDataError, LatchkeyError, LatchkeyTypeError } from '../core/errors.js';
import type { ClientInfo, Session } from '../core/model.js';
import { isFresh } from '../core/policy.js';
import { parseToken } from '../core/token.js';
import { maxAgeOf, tokenCookies, tokenCurrent, type BackendRequest, type Current, type Loaded, type SessionBackend } from './backend.js';
import type { Carrier } from './carriers.js';
import type { CookieConfig } from './cookies.js';
import { HttpError, storeUnavailable, throttled } from './errors.js';

/** How often a rotation that lost a race to another request is tried again, as the engine's backend does. */
const ROTATE_ATTEMPTS = 3;

/** What the remote backend needs to know of a `LatchkeyClient`, checked once at construction. */
const CLIENT_METHODS = ['createSession', 'validateSession', 'rotateSession', 'patchSessionData', 'revokeSession', 'revokeUserSessions'] as const;

/** @internal whether `value` looks like what `createClient()` returns (the methods this backend calls). */
export function isLatchkeyClient(value: unknown): value is LatchkeyClient {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return CLIENT_METHODS.every((m) => typeof v[m] === 'function');
}

/** A failed call of the client, narrowed by its stable code (`http/` imports the client as types only). */
function asServiceError(err: unknown): LatchkeyApiError | null {
  return err instanceof LatchkeyError && err.code === 'ERR_SERVICE' ? (err as LatchkeyApiError) : null;
}

/**
 * Whose input a call carries, for what the service's refusal of it (400, 413) is: `data`, the session data of a
 * write; `input`, the application's arguments (`login()`'s user id and level, `rotate()`'s level); `none`, only
 * what this backend made or bounded itself (a token of latchkey's shape, a handle, the client), whose refusal says
 * the service and this library disagree: a configuration to mend, not an input.
 */
type Carries = 'data' | 'input' | 'none';

/**
 * What a failed service call becomes in the HTTP layer. `report` hears the
 * failures an operator must fix (a wrong API key, a service that is not
 * latchkey), which a visitor only sees as a 503.
 */
function toHttpFailure(err: unknown, report: (error: unknown) => void, carries: Carries): never {
  const e = asServiceError(err);
  if (e === null) throw err;
  switch (e.reason) {
    case 'throttled':
      throw throttled(e.retryAfter ?? 1);
    case 'session-limit':
      throw new HttpError(409, 'session-limit', { cause: e });
    case 'bad-request':
    case 'payload-too-large':
      // What the service refuses of the application's input is the typed error the engine throws for it, never a 503
      // that a retry cannot mend: of a write, the session data (over its maxDataBytes, say), as the engine's
      // InvalidDataError; of a sign-in or step-up, its arguments, as the engine's LatchkeyTypeError.
      if (carries === 'data') throw new InvalidDataError(`the session service refused the session data (${e.message})`);
      if (carries === 'input') throw new LatchkeyTypeError(`the session service refused the input (${e.message})`, { cause: e });
      break;
    case 'network':
    case 'timeout':
    case 'store-unavailable':
      throw storeUnavailable(e);
  }
  // Anything else (a 5xx, an answer that is not latchkey's, a refused API key): the session authority is not usable now.
  // An answer below 500 says the configuration is wrong (the API key, baseUrl), which no retry mends: the operator hears of it.
  if (e.status > 0 && e.status < 500) report(e);
  throw storeUnavailable(e);
}

/** The engine keeps this much of a `User-Agent`; the service's schema takes up to 1024 characters. */
const MAX_USER_AGENT = 512;
/** Longer than any IP address: the service's schema refuses it, and the engine would record no IP. */
const MAX_IP = 64;

/** The end user's client as the service's schema takes it: bounded as the engine bounds it, so that no header of a visitor turns a call into a 400. */
function wire(client: ClientInfo): ClientInfo {
  const { ip, userAgent } = client;
  return {
    ...(typeof ip === 'string' && ip.length <= MAX_IP ? { ip } : {}),
    ...(typeof userAgent === 'string' ? { userAgent: userAgent.length > MAX_USER_AGENT ? userAgent.slice(0, MAX_USER_AGENT) : userAgent } : {}),
  };
}

const current = tokenCurrent;
/** The service's Session is the engine's Session, carried as JSON. */
const asSession = (s: ServiceSession): Session => s;

/**
 * @internal sessions checked and changed through the session service: the
 * engine's tokens and cookies, the engine's answers, one `/v1` call each.
 */
export function remoteBackend(client: LatchkeyClient, cookie: CookieConfig, report: (error: unknown) => void): SessionBackend {
  // Made once per backend, not per request: what a failed call becomes (data writes: the engine's InvalidDataError for a refusal).
  const failures: Failures = {
    fail: (err) => toHttpFailure(err, report, 'none'),
    failInput: (err) => toHttpFailure(err, report, 'input'),
    failData: (err) => toHttpFailure(err, report, 'data'),
  };
  return {
    mode: 'remote',
    reservedKey: null,
    // By the system clock, as the service's engine (its default clock).
    isFresh: (s, maxAge) => isFresh(s, durationOption('maxAge', maxAge), Date.now()),
    now: () => Date.now(),
    // The service throttles invalid tokens per client.ip itself, at validation: a 429 of load().
    throttled: () => 0,
    request: (presented) => new RemoteRequest(client, cookie, presented, failures),
  };
}

interface Failures {
  readonly fail: (err: unknown) => never;
  readonly failInput: (err: unknown) => never;
  readonly failData: (err: unknown) => never;
}

/** One request's operations, as calls of the service. */
class RemoteRequest implements BackendRequest {
  readonly #client: LatchkeyClient;
  readonly #cookie: CookieConfig;
  readonly #presented: string | null;
  readonly #fail: (err: unknown) => never;
  readonly #failInput: (err: unknown) => never;
  readonly #failData: (err: unknown) => never;

  constructor(client: LatchkeyClient, cookie: CookieConfig, presented: string | null, failures: Failures) {
    this.#client = client;
    this.#cookie = cookie;
    this.#presented = presented;
    this.#fail = failures.fail;
    this.#failInput = failures.failInput;
    this.#failData = failures.failData;
  }

  async load(client: ClientInfo, _carrier: Carrier | null): Promise<Loaded> {
    const presented = this.#presented as string;
    // Not a latchkey token at all: refused here, as the engine refuses it before any store read, without a call.
    if (parseToken(presented) === null) return { ok: false, reason: 'malformed' };
    const r = await this.#client.validateSession(presented, { client: wire(client) }).catch(this.#fail);
    if (!r.valid) return { ok: false, reason: r.reason };
    // The service's engine renews no token: the presented one stays the client's.
    return { ok: true, current: current(presented, asSession(r.session)), issue: false };
  }

  async create(data: Record<string, unknown>, client: ClientInfo): Promise<Current> {
    const created = await this.#client.createSession({ data, client: wire(client) }).catch(this.#failData);
    return current(created.token, asSession(created.session));
  }

  async patch(cur: Current, set: Record<string, unknown> | undefined, unset: string[] | undefined): Promise<{ current: Current; issue: boolean } | null> {
    let session: ServiceSession;
    try {
      session = await this.#client.patchSessionData(cur.session.handle, { ...(set === undefined ? {} : { set }), ...(unset === undefined ? {} : { unset }) });
    } catch (err) {
      // Revoked meanwhile: nothing to write to, as the engine's patch answers.
      if (asServiceError(err)?.reason === 'not-found') return null;
      return this.#failData(err);
    }
    return { current: { ...cur, session: { ...cur.session, data: session.data, version: session.version } }, issue: false };
  }

  async login(cur: Current | null, userId: string, authLevel: number | undefined, client: ClientInfo): Promise<Current> {
    // Checked here as the engine checks them: the application's bad input is its typed error, not a service 400 turned 503.
    userIdArg(userId);
    if (authLevel !== undefined) authLevelArg(authLevel);
    if (cur !== null) {
      // Rotation: a new token, the old one dead, the anonymous session's data kept (fixation defence).
      const next = await this.#rotate(cur.secret, { userId, ...(authLevel === undefined ? {} : { authLevel }), client: wire(client) });
      if (next !== null) return next;
    }
    const created = await this.#client.createSession({ userId, ...(authLevel === undefined ? {} : { authLevel }), client: wire(client) }).catch(this.#failInput);
    return current(created.token, asSession(created.session));
  }

  async logout(cur: Current): Promise<void> {
    await this.#client.revokeSession(cur.session.handle).catch(this.#fail);
  }

  async logoutEverywhere(cur: Current): Promise<number> {
    const s = cur.session;
    if (s.userId !== null) return (await this.#client.revokeUserSessions(s.userId).catch(this.#fail)).length;
    return (await this.#client.revokeSession(s.handle).catch(this.#fail)) ? 1 : 0;
  }

  rotate(cur: Current, options: { reauthenticated: boolean; authLevel: number | undefined }, client: ClientInfo): Promise<Current | null> {
    if (options.authLevel !== undefined) authLevelArg(options.authLevel);
    return this.#rotate(cur.secret, { authenticated: options.reauthenticated, ...(options.authLevel === undefined ? {} : { authLevel: options.authLevel }), client: wire(client) });
  }

  /** `POST /v1/sessions/rotate`; `null` when the session is no longer valid (revoked, expired, or lost every race). */
  async #rotate(token: string, options: { userId?: string; authenticated?: boolean; authLevel?: number; client: ClientInfo }): Promise<Current | null> {
    for (let attempt = 0; attempt < ROTATE_ATTEMPTS; attempt++) {
      try {
        const r = await this.#client.rotateSession(token, options);
        return current(r.token, asSession(r.session));
      } catch (err) {
        const reason = asServiceError(err)?.reason;
        if (reason === 'session-invalid') return null;
        if (reason !== 'conflict') return this.#failInput(err);
      }
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
