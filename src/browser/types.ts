/**
 * The public types of `latchkey/browser`: options, the observable session
 * state, the typed events, the interceptor and the request hooks.
 *
 * @module
 */

/**
 * How the application's server carries the session:
 * - `'bearer'`: token mode with the bearer carrier. The access and refresh
 *   tokens live in this module's memory only (shared between the tabs of
 *   the origin over `BroadcastChannel`), and requests carry
 *   `Authorization: Bearer`.
 * - `'cookie'`: token mode with the cookie carrier. The tokens live in the
 *   `__Host-access` and `__Secure-refresh` HttpOnly cookies, which scripts
 *   never see; this module only knows when they expire.
 * - `'session'`: latchkey's cookie sessions (`latchkey({ sessions })`): the
 *   `__Host-session` cookie, the CSRF header on unsafe requests, and the
 *   deadlines asked for with `Latchkey-Deadlines: ?1`.
 */
export type SessionMode = 'bearer' | 'cookie' | 'session';

/** Why a session ended, as {@link SessionState.reason} and the `signed-out` event say. */
export type SignOutReason =
  /** `signOut()` in some tab. */
  | 'signed-out'
  /** `signOutEverywhere()` in some tab. */
  | 'signed-out-everywhere'
  /** The idle or absolute deadline passed (see the `expired` event). */
  | 'expired'
  /** The server refused the refresh: the family was revoked (sign-out elsewhere, an administrator, "log out everywhere"). */
  | 'revoked'
  /** The server saw a refresh token used twice and revoked the family (theft detection). */
  | 'reused'
  /** The server no longer knows the session (expired, unknown, or no refresh cookie left). */
  | 'ended';

/** The observable session state: one frozen object per change. */
export interface SessionState {
  /** `'unknown'` until the module has asked the other tabs (and, if need be, the server). */
  readonly status: 'unknown' | 'signed-in' | 'signed-out';
  /** What the application said about the user (`signIn(…, user)`, `setUser()`, the session URL's `user`), or `null`. */
  readonly user: unknown;
  /** When the session ends if nothing happens, by this device's clock (ms since the epoch), or `null`. */
  readonly idleDeadline: number | null;
  /** When the session ends whatever happens (ms since the epoch), or `null`. */
  readonly absoluteDeadline: number | null;
  /** Why the last session ended, once signed out; `null` otherwise. */
  readonly reason: SignOutReason | null;
}

/** The `expiring` event: the session ends in `remaining` ms unless extended. */
export interface ExpiringEvent {
  /** Which deadline comes first: `'idle'` (`extend()` helps) or `'absolute'` (only a new sign-in helps). */
  readonly kind: 'idle' | 'absolute';
  /** The deadline, ms since the epoch. */
  readonly deadline: number;
  /** Milliseconds left when the event fired. */
  readonly remaining: number;
}

/** The `expired` event: a deadline passed and this tab signed out. */
export interface ExpiredEvent {
  readonly kind: 'idle' | 'absolute';
  readonly deadline: number;
}

/** The `signed-out` event. */
export interface SignedOutEvent {
  readonly reason: SignOutReason;
  /** Whether this tab made it happen (its `signOut()`, its refresh, its timer), or learned it from another tab or the server. */
  readonly here: boolean;
}

/** Every event and its payload: `session.on('expiring', (e) => …)`. */
export interface BrowserSessionEvents {
  /** The state changed (any field). */
  change: SessionState;
  /** Signed in: a sign-in here or in another tab, or a session found at start. */
  'signed-in': SessionState;
  /** Signed out, for any {@link SignOutReason}. */
  'signed-out': SignedOutEvent;
  /** `warnBefore` ms (or less) before the earlier deadline: time to ask "stay signed in?". */
  expiring: ExpiringEvent;
  /** A deadline passed: the session is over (a `signed-out` event with reason `'expired'` follows). */
  expired: ExpiredEvent;
}

/** Reads a response header: a `Headers`, anything with `get(name)`, or a plain object (axios' `response.headers`). */
export type HeaderSource = { get(name: string): string | null | undefined } | Readonly<Record<string, unknown>>;

/** A request as the interceptor needs to know it: axios' request config fits, so does `{ url, method }`. */
export interface InterceptedRequest {
  readonly url?: string | undefined;
  /** Resolved against the page's address first, then `url` against it (axios' `baseURL`). */
  readonly baseURL?: string | undefined;
  /** @default 'GET' */
  readonly method?: string | undefined;
}

/**
 * The request pipeline for any HTTP client. Call `headers()` before sending
 * a request and add what it returns; call `answer()` with the response (or
 * the error's response), and send the request once more, with new
 * `headers()`, when it resolves `true`. Pass the same request object to both
 * (axios' config object does it).
 */
export interface Interceptor {
  /**
   * The headers to add: the access token (bearer), the CSRF header (cookie
   * sessions, unsafe methods) and the ask for deadlines, and the request
   * hooks' headers. Only for the page's origin and `origins`; nothing for
   * any other. Waits for a fresh access token first when the one held has
   * expired (one refresh across every tab).
   *
   * @throws {BrowserSessionError} `reason: 'refresh-failed'` when the refresh could not complete (network, 5xx).
   */
  headers(request: InterceptedRequest): Promise<Record<string, string>>;
  /**
   * Learns from an answer (deadlines, a sign-out, a refused access token)
   * and resolves whether to send the request again: once at most, after a
   * 401 `invalid_token` that a refresh cured, or when a hook asks.
   */
  answer(request: InterceptedRequest, response: { readonly status: number; readonly headers: HeaderSource }): Promise<boolean>;
}

/** A request, as request hooks see it. */
export interface HookRequest {
  readonly method: string;
  /** Absolute URL. */
  readonly url: string;
  /** The access token the request carries (bearer mode), or `null`: for a proof bound to it (DPoP's `ath`). */
  readonly accessToken: string | null;
  /** What the request is for: the application's API, or this module's own calls (sign-in, refresh, sign-out). */
  readonly purpose: 'api' | 'sign-in' | 'refresh' | 'sign-out';
}

/**
 * A step of the request pipeline the module leaves open: a per-request proof
 * header (DPoP, RFC 9449) plugs in here, as the application's own headers may.
 * Runs for every request to the page's origin and `origins`, the token
 * endpoints included.
 *
 * @example
 * ```ts
 * const trace: RequestHook = { headers: () => ({ 'x-request-id': crypto.randomUUID() }) };
 * ```
 */
export interface RequestHook {
  /** Headers to add to this request. */
  headers?(request: HookRequest): Record<string, string> | undefined | Promise<Record<string, string> | undefined>;
  /**
   * Sees every answer (status and headers, never the body); resolve `true`
   * to have the request sent once more with fresh headers (a server nonce
   * challenge such as `DPoP-Nonce` with `use_dpop_nonce`).
   */
  response?(response: { readonly status: number; readonly headers: HeaderSource }, request: HookRequest): boolean | Promise<boolean>;
}

/** Options of `createBrowserSession()`. Only `mode` is required (and `sessionUrl`, `logoutUrl` for cookie sessions). */
export interface BrowserSessionOptions {
  /** How the server carries the session. */
  mode: SessionMode;
  /**
   * Token modes: the refresh endpoint (`tokenRefresh`).
   * @default '/auth/refresh'
   */
  refreshUrl?: string;
  /**
   * The sign-out endpoint: `tokenLogout` in token modes, a route calling
   * `session.logout()` with cookie sessions (required there).
   * @default '/auth/refresh/logout' (token modes)
   */
  logoutUrl?: string;
  /** A route that ends every session of the user (`tokens.revokeUser()`, `session.logoutEverywhere()`), for `signOutEverywhere()`. @default none */
  logoutEverywhereUrl?: string;
  /**
   * Cookie sessions (required there): a `GET` route that loads the session
   * and answers JSON `{ user }`; asked at start and by `extend()`.
   */
  sessionUrl?: string;
  /**
   * Cookie sessions: the CSRF header the server expects (its `csrf.header`)
   * and where the token comes from: the script-readable cookie of
   * `csrf: { cookie: true }` on the server, or a function of yours (e.g.
   * reading a `<meta>` the page was rendered with).
   * @default { header: 'x-csrf-token', cookie: '__Host-csrf' }
   */
  csrf?: { header?: string; cookie?: string; token?: () => string | null | undefined };
  /** Other origins the credentials may go to (an API on another host); the page's own origin always. @default [] */
  origins?: readonly string[];
  /** How long before the earlier deadline `expiring` fires, in ms. @default 60000 */
  warnBefore?: number;
  /** Names the channel and the locks: two sessions of one origin (two apps) need two names. @default 'latchkey' */
  name?: string;
  /** The `fetch` to call. @default globalThis.fetch, as it is when the session is created */
  fetch?: (input: Request | string, init?: RequestInit) => Promise<Response>;
  /** Further steps of the request pipeline (a DPoP proof, for one). @default [] */
  hooks?: readonly RequestHook[];
}
