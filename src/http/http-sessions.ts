/**
 * The framework-neutral request pipeline every adapter runs: find the token
 * in its carrier, check CSRF and the invalid-token throttle, and hand out a
 * lazily loaded {@link RequestSession}. Options are validated once, here.
 *
 * @module
 */
import { ConfigError, ConfigWarning } from '../core/errors.js';
import { checkOptionKeys } from '../core/option-keys.js';
import type { Sessions } from '../core/sessions.js';
import type { SealedSessions } from '../sealed/sealed-sessions.js';
import type { LatchkeyClient } from '../client/types.js';
import type { SessionBackend } from './backend.js';
import { sealedBackend, statefulBackend } from './backend.js';
import { chooseMode } from './backend-choice.js';
import { remoteBackend } from './backend-remote.js';
import type { Carrier, CarrierOptions } from './carriers.js';
import { carrierConfig, readBearer, readQueryParameter } from './carriers.js';
import type { TrustProxyOptions } from './client.js';
import { clientIpResolver } from './client.js';
import type { CookieOptions } from './cookies.js';
import { cookieConfig, readCookie } from './cookies.js';
import type { ClearSiteDataOptions } from './credential-headers.js';
import { clearSiteDataLine } from './credential-headers.js';
import type { CsrfOptions } from './csrf.js';
import { checkOrigin, csrfConfig, csrfTokenMatches, isSafeMethod } from './csrf.js';
import type { DbscEndpoint, DeviceBinding, HttpAnswer, HttpDbscOptions } from './device-binding.js';
import { deviceBinding } from './device-binding.js';
import { HttpError, throttled, toHttpError } from './errors.js';
import type { SessionMigrator } from './migration.js';
import { migrationsConfig } from './migration.js';
import type { HttpRequest } from './request.js';
import type { OnDirty, SessionContext } from './request-session.js';
import { RequestSession } from './request-session.js';

export type { HttpRequest } from './request.js';
export type { OnDirty } from './request-session.js';
export type { HttpAnswer, HttpDbscOptions } from './device-binding.js';

/** Options shared by every adapter. Exactly one of `sessions`, `sealed` and `remote` is required. */
export interface HttpSessionsOptions extends CarrierOptions, TrustProxyOptions {
  /** The engine, from `createSessions()`: sessions kept in a store, a token in the carrier. */
  sessions?: Sessions;
  /**
   * Sealed mode instead, from `createSealedSessions()` (`latchkey/sealed`):
   * the whole session encrypted in the cookie. Cookie carrier only; the
   * cookie's name is `sealed.cookieName`. See docs/sealed.md.
   */
  sealed?: SealedSessions;
  /**
   * Stateful sessions kept by the session service (`latchkey serve`)
   * instead, through a client from `createClient({ baseUrl, apiKey })`
   * (`latchkey/client`): for runtimes that cannot reach a store (Next.js
   * edge, Cloudflare Workers). Same tokens, cookies, CSRF and errors as
   * `sessions`; each session operation is one call of the service, and a
   * service that cannot be reached or answers late (the client's `timeout`)
   * is a 503 `store-unavailable`. Not with `dbsc` nor `migrate`. See
   * docs/service.md.
   * @example
   * ```ts
   * import { createClient } from 'latchkey/client';
   *
   * latchkey({ remote: createClient({ baseUrl: env.LATCHKEY_URL, apiKey: env.LATCHKEY_API_KEY, timeout: '2s' }) })
   * ```
   */
  remote?: LatchkeyClient;
  /** The session cookie: `__Host-session`, a browser-session cookie unless `persistent`. */
  cookie?: CookieOptions;
  /**
   * What `logout()` and `logoutEverywhere()` ask the browser to clear with
   * `Clear-Site-Data`: `"cache"` always, `"storage"` and `"cookies"` (every
   * cookie of the site) on request.
   * @default { storage: false, cookies: false }: `Clear-Site-Data: "cache"`
   */
  clearSiteData?: ClearSiteDataOptions;
  /**
   * CSRF defence for cookie-carried sessions. `false` turns it off (only
   * sound when no browser sends the cookie, e.g. a bearer-only API).
   * @default on: Fetch Metadata, Origin, then the token
   */
  csrf?: CsrfOptions | false;
  /**
   * Allows `cookie.secure: false` and cookie names without the `__Host-` /
   * `__Secure-` prefix, for plain-HTTP local development only.
   * @default false
   */
  development?: boolean;
  /**
   * Device Bound Session Credentials (DBSC, W3C draft): a browser that
   * supports it keeps a key for the session in hardware, and the session
   * then needs, beside its cookie, a short-lived bound cookie the browser
   * can only renew by signing a challenge with that key. A copied cookie
   * jar is worth the bound cookie's minutes, not the session. Sign-ins offer
   * registration (`Secure-Session-Registration`); `POST registrationPath`
   * and `POST refreshPath` are answered by latchkey before your routes.
   * Stateful mode only. See docs/device-bound.md.
   * @default off
   * @example
   * ```ts
   * latchkey({ sessions, dbsc: { secret: process.env.DBSC_SECRET! } })
   * ```
   */
  dbsc?: HttpDbscOptions | false;
  /**
   * Called with errors latchkey cannot answer itself or that nobody awaits:
   * the cause of a failed end-of-request save (answered 500
   * `session-not-saved`), a session change that could not reach the client
   * because the response had started (`HeadersSentError`), a handler's
   * unknown error in the node:http adapter; and once, at construction, with a
   * {@link ConfigWarning} when sealed sessions are not revocable
   * (`revocable: false`). Never receives a token.
   * @default console.error (console.warn for the warning)
   */
  onError?: (error: unknown) => void;
  /**
   * Sessions of the library this application used before latchkey, handed
   * over once each: a request that carries one of their cookies and no
   * latchkey credential gets a latchkey session with the old session's user
   * and data, and the old cookie is cleared (see `latchkey/migrate` and
   * docs/migrating.md). Stateful mode and the cookie carrier only; an
   * unsafe request is handed over only when it passes the CSRF checks
   * without a token.
   * @default none
   */
  migrate?: readonly SessionMigrator[];
}

/**
 * What {@link HttpSessions.begin} decided: go on with the session, answer
 * the refusal `error`, or (a DBSC endpoint, with the `dbsc` option) send
 * `answer`, which the HTTP layer made by itself: `error` is then `null`.
 */
export type BeginResult =
  | { readonly ok: true; readonly session: RequestSession }
  | { readonly ok: false; readonly error: HttpError; readonly answer?: undefined }
  | { readonly ok: false; readonly error: null; readonly answer: HttpAnswer };

/** The neutral HTTP layer returned by {@link createHttpSessions}. */
export interface HttpSessions {
  /**
   * Starts a request: finds the token, checks CSRF and throttling, and
   * returns the (not yet loaded) session, or the error to answer with.
   * Synchronous unless a form body must be read. `onDirty` is called once,
   * with the request and its session, when the session first has something
   * to write (node:http holds the response then); it returns `false` when
   * the response already started, so that the change is refused with a
   * `HeadersSentError` instead of lost.
   */
  begin<R extends HttpRequest>(request: R, onDirty?: OnDirty<R>): BeginResult | Promise<BeginResult>;
  /** The engine, or `null` in sealed mode. */
  readonly sessions: Sessions | null;
  /** The sealed sessions in sealed mode, else `null`. */
  readonly sealed: SealedSessions | null;
  /** The session service's client when sessions are kept there (`remote`), else `null`. */
  readonly remote: LatchkeyClient | null;
  /** The configured `onError`. */
  readonly reportError: (error: unknown) => void;
  /** The DBSC endpoints' paths when the `dbsc` option is on, else `null` (Fastify routes them). */
  readonly dbsc: { readonly registrationPath: string; readonly refreshPath: string } | null;
}

/**
 * Every key the HTTP options take. The adapters hand their options here
 * whole, so their own keys are known too: `remoteAddress` (Fetch, Hono), and
 * the register options Fastify passes to every plugin (`prefix`, `logLevel`,
 * `logSerializers`), which do nothing for this plugin.
 */
const HTTP_OPTIONS = [
  'sessions',
  'sealed',
  'remote',
  'cookie',
  'clearSiteData',
  'csrf',
  'development',
  'onError',
  'dbsc',
  'migrate',
  'carriers',
  'urlParameter',
  'formField',
  'realm',
  'trustProxy',
  'proxyHeader',
  // Adapters' own keys; they would better strip them before calling.
  'remoteAddress',
  'prefix',
  'logLevel',
  'logSerializers',
];

/**
 * Creates the framework-neutral HTTP layer. Adapters call it for you; use it
 * directly to write an adapter of your own.
 *
 * @throws {ConfigError} for a weakening configuration, with how to fix it.
 * @example
 * ```ts
 * import { createSessions } from 'latchkey';
 * import { createHttpSessions } from 'latchkey/http';
 *
 * const http = createHttpSessions({ sessions: createSessions({ store }), trustProxy: ['10.0.0.0/8'] });
 * const begun = await http.begin({ method, url, header: (n) => headers[n], remoteAddress });
 * ```
 */
export function createHttpSessions(options: HttpSessionsOptions): HttpSessions {
  checkOptionKeys(options, 'latchkey()', HTTP_OPTIONS);
  const { engine, sealed, remote } = chooseMode(options);
  const development = options.development ?? false;
  if (typeof development !== 'boolean') throw new ConfigError('development must be a boolean');
  if (sealed !== null) {
    if (options.carriers !== undefined && (options.carriers.length !== 1 || options.carriers[0] !== 'cookie')) {
      throw new ConfigError("sealed mode carries the session in its cookie only: remove carriers, or set carriers: ['cookie']");
    }
    if (options.cookie?.name !== undefined && options.cookie.name !== sealed.cookieName) {
      throw new ConfigError(
        `in sealed mode the cookie name is bound into the sealed blob: set cookieName in createSealedSessions() (now ${JSON.stringify(sealed.cookieName)}) and remove cookie.name`,
      );
    }
  }
  const cookie =
    sealed === null
      ? cookieConfig(options.cookie, development)
      : cookieConfig({ ...options.cookie, name: sealed.cookieName }, development, 'cookie', { nameLabel: 'the sealed cookieName (createSealedSessions({ cookieName }))' });
  const carriers = carrierConfig(options);
  const csrf = carriers.cookie ? csrfConfig(options.csrf, cookie, development) : null;
  const clearSiteData = clearSiteDataLine(options.clearSiteData);
  const resolveIp = clientIpResolver(options);
  const onError = options.onError ?? ((error: unknown) => console.error('latchkey:', error));
  if (typeof onError !== 'function') throw new ConfigError('onError must be a function');
  const backend: SessionBackend =
    sealed !== null ? sealedBackend(sealed, cookie) : remote !== null ? remoteBackend(remote, cookie, onError) : statefulBackend(engine as Sessions, cookie);
  const migrations = migrationsConfig(options.migrate, { stateful: sealed === null, cookieCarrier: carriers.cookie, cookieName: cookie.name });
  const dbsc = deviceBinding(options.dbsc, engine, sealed !== null);
  if (dbsc !== null && !carriers.cookie) throw new ConfigError("dbsc binds cookie sessions: keep 'cookie' among carriers, or remove dbsc");
  const ctx: SessionContext = { backend, cookie, carriers, csrf, clearSiteData, report: onError, resolveIp, dbsc };
  // Sealed mode: the CSRF token comes from a secret inside the sealed session, so the session is opened first.
  const csrfAfterLoad = sealed !== null;
  const syncCarriers = carriers.order.filter((c) => c !== 'form');

  function begin(req: HttpRequest, onDirty?: OnDirty): BeginResult | Promise<BeginResult> {
    const endpoint = dbsc === null ? null : dbsc.endpoint(req);
    return endpoint === null ? beginRequest(req, onDirty) : serveDbsc(dbsc as DeviceBinding, endpoint, req);
  }

  /** A DBSC endpoint: answered here, after the same CSRF and throttle checks as any request; no route runs. */
  async function serveDbsc(d: DeviceBinding, endpoint: DbscEndpoint, req: HttpRequest): Promise<BeginResult> {
    // No onDirty: nothing holds the adapter's response, the answer carries the session's headers itself.
    const started = beginRequest(req, undefined);
    const begun = started instanceof Promise ? await started : started;
    if (!begun.ok) return begun;
    try {
      return { ok: false, error: null, answer: await d.serve(endpoint, req, begun.session) };
    } catch (err) {
      const known = toHttpError(err);
      if (known === null) throw err;
      return refuse(known);
    }
  }

  function beginRequest(req: HttpRequest, onDirty?: OnDirty): BeginResult | Promise<BeginResult> {
    let token: string | null = null;
    let carrier: Carrier | null = null;
    for (const c of syncCarriers) {
      const found =
        c === 'cookie'
          ? readCookie(req.header('cookie'), cookie.name)
          : c === 'bearer'
            ? readBearer(req.header('authorization'))
            : readQueryParameter(req.url, carriers.urlParameter);
      if (found !== null && found !== '') {
        token = found;
        carrier = c;
        break;
      }
    }
    const unsafe = !isSafeMethod(req.method);
    // An old session cookie with no latchkey credential: a session to hand over (a string search when there is none).
    let migrator = token === null && migrations !== null ? migrations.find(req.header('cookie')) : null;
    let needsToken = false;
    if (csrf !== null && unsafe && (carrier === null || carrier === 'cookie')) {
      const verdict = checkOrigin(csrf, { secFetchSite: req.header('sec-fetch-site'), origin: req.header('origin'), host: req.header('host') });
      if (verdict === 'csrf-cross-site' || verdict === 'csrf-origin-mismatch') return refuse(new HttpError(403, verdict));
      // Without a session cookie there is nothing to forge a request with.
      needsToken = verdict === 'needs-token' && carrier === 'cookie';
      // The old cookie is a credential too, and no CSRF token of its session exists yet: only a request that passes without one is handed over.
      if (verdict !== 'pass') migrator = null;
    }
    const headerToken = needsToken ? req.header(csrf!.header) : undefined;
    const wantsFormCarrier = carriers.form && token === null && unsafe && req.formField !== undefined;
    const wantsFormCsrf = needsToken && headerToken === undefined && req.formField !== undefined;
    if (needsToken && csrfAfterLoad) return checkAfterLoad(req, token, carrier, onDirty, headerToken);
    if (!wantsFormCarrier && !wantsFormCsrf) {
      if (needsToken && !csrfTokenMatches(headerToken, token!)) {
        return refuse(new HttpError(403, headerToken === undefined ? 'csrf-token-missing' : 'csrf-token-invalid'));
      }
      return token === null && migrator !== null ? handOver(req, onDirty, migrator) : finish(req, token, carrier, onDirty);
    }
    return (async (): Promise<BeginResult> => {
      if (wantsFormCarrier) {
        const found = await requestField(req, 'formField', carriers.formField);
        if (found !== undefined && found !== '') {
          token = found;
          carrier = 'form';
        }
      }
      if (wantsFormCsrf) {
        const field = await requestField(req, 'formField', csrf!.field);
        if (!csrfTokenMatches(field, token!)) return refuse(new HttpError(403, field === undefined ? 'csrf-token-missing' : 'csrf-token-invalid'));
      }
      return token === null && migrator !== null ? handOver(req, onDirty, migrator) : finish(req, token, carrier, onDirty);
    })();
  }

  /** A request with an old session cookie and no latchkey credential: the migrator hands the old session over before the handler runs. */
  async function handOver(req: HttpRequest, onDirty: OnDirty | undefined, migrator: SessionMigrator): Promise<BeginResult> {
    // As in checkAfterLoad(): what the hand-over changes is seen through `session.dirty` once begin() resolves.
    let armed = false;
    const begun = finish(req, null, null, (r, s) => (armed ? onDirty?.(r, s) : undefined));
    if (!begun.ok) return begun;
    try {
      const claim = await migrator.claim(req, { sessions: engine as Sessions, client: begun.session.client });
      begun.session.adopt(claim.adopted, claim.setCookies);
    } catch (err) {
      // A store outage (the old store or latchkey's) is a 503, and nothing was handed over.
      const known = toHttpError(err);
      if (known !== null) return refuse(known);
      throw err;
    } finally {
      armed = true;
    }
    return begun;
  }

  /**
   * Sealed mode's synchronizer-token check: open the session, then compare
   * with the token derived from its secret. A cookie that does not open is
   * no session to forge a request with: the request goes on anonymous.
   */
  async function checkAfterLoad(
    req: HttpRequest,
    token: string | null,
    carrier: Carrier | null,
    onDirty: OnDirty | undefined,
    headerToken: string | undefined,
  ): Promise<BeginResult> {
    // Changes made while loading here are seen through `session.dirty` once begin() resolves, as the adapters' contract says.
    let armed = false;
    const begun = finish(req, token, carrier, (r, s) => (armed ? onDirty?.(r, s) : undefined));
    if (!begun.ok) return begun;
    try {
      await begun.session.load();
    } catch (err) {
      if (err instanceof HttpError) return refuse(err);
      throw err;
    } finally {
      armed = true;
    }
    if (begun.session.handle === null) return begun;
    const presented = headerToken !== undefined || req.formField === undefined ? headerToken : await requestField(req, 'formField', csrf!.field);
    if (!begun.session.csrfMatches(presented)) return refuse(new HttpError(403, presented === undefined ? 'csrf-token-missing' : 'csrf-token-invalid'));
    return begun;
  }

  function finish(req: HttpRequest, token: string | null, carrier: Carrier | null, onDirty: OnDirty | undefined): BeginResult {
    const session = new RequestSession(ctx, req, token, carrier, onDirty ?? null);
    if (token !== null) {
      const ip = session.client.ip;
      const wait = ip === undefined ? 0 : backend.throttled(ip);
      if (wait > 0) return refuse(throttled(wait));
    }
    return { ok: true, session };
  }

  if (sealed !== null && !sealed.revocable) {
    // Said once, at startup: the application chose this explicitly, a line per request would drown the logs.
    const warning = new ConfigWarning(
      'sealed sessions are not revocable (revocable: false): sign-out only deletes the cookie in this browser, and a copy of it keeps working until its idle or absolute deadline; give createSealedSessions() a store to make sign-out final',
    );
    if (options.onError !== undefined) options.onError(warning);
    else console.warn(`latchkey: ${warning.message}`);
  }
  // begin() hands onDirty back the request it was given, so OnDirty<R> holds for the caller's R.
  return {
    begin: begin as HttpSessions['begin'],
    sessions: engine,
    sealed,
    remote,
    reportError: onError,
    dbsc: dbsc === null ? null : { registrationPath: dbsc.registrationPath, refreshPath: dbsc.refreshPath },
  };
}

function refuse(error: HttpError): BeginResult {
  return { ok: false, error };
}

/** Longest token-carrying field read from a body (a session token, a CSRF or refresh token is far shorter). */
const MAX_FIELD_CHARS = 4096;

/**
 * @internal A form field (`formField`) or a form-or-JSON field (`bodyField`)
 * of the request, or `undefined`: absent, not a string, oversized, or the
 * body could not be read. Never throws.
 */
export async function requestField(req: HttpRequest, from: 'formField' | 'bodyField', name: string): Promise<string | undefined> {
  try {
    // Called as a method: adapters' views rely on `this`.
    const v = await req[from]?.(name);
    return typeof v === 'string' && v.length <= MAX_FIELD_CHARS ? v : undefined;
  } catch {
    return undefined;
  }
}
