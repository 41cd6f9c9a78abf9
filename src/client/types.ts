/**
 * The shapes of the session service's JSON API, as the client sends and
 * receives them. Timestamps are milliseconds since the epoch.
 *
 * @module
 */
import type { JSONWebKeySet } from 'jose';
import type { ClientInfo, DeviceSession, Session } from '../core/model.js';
import type { InvalidReason } from '../core/sessions.js';
import type { SecurityEvent } from './events.js';

export type { ClientInfo, ClientRecord, Device, DeviceSession, Session, SessionData } from '../core/model.js';
export type { InvalidReason } from '../core/sessions.js';
export type { RefreshFailure } from '../tokens/refresh.js';

/**
 * Options every call accepts.
 *
 * @example
 * ```ts
 * await latchkey.listUserSessions('alice', { timeout: '1s', signal: request.signal });
 * ```
 */
export interface CallOptions {
  /** Aborts the call; it then rejects with the reason `aborted`. */
  signal?: AbortSignal;
  /** Overrides the client's `timeout` for this call (a duration such as `'2s'`, or milliseconds). */
  timeout?: string | number;
}

/**
 * Input of {@link LatchkeyClient.createSession}.
 *
 * @example
 * ```ts
 * const input: CreateSessionInput = { userId: 'alice', data: { theme: 'dark' }, client: { ip, userAgent }, authLevel: 1 };
 * ```
 */
export interface CreateSessionInput extends CallOptions {
  /** The signed-in user: 1 to 256 characters. Without it, an anonymous session (a visitor's cart, say), signed in later with `rotateSession(token, { userId })`. */
  userId?: string;
  /** Initial session data (a JSON object). */
  data?: Record<string, unknown>;
  /** The end user's client: its IP and `User-Agent`, for the device list and binding. */
  client?: ClientInfo;
  /** Application-defined strength of the sign-in (0 = none). @default 0 */
  authLevel?: number;
}

/**
 * A new session and its token: send `token` to the end user (a cookie) and keep nothing else.
 *
 * @example
 * ```ts
 * const { token, session }: SessionWithToken = await latchkey.createSession({ userId: 'alice' });
 * ```
 */
export interface SessionWithToken {
  readonly token: string;
  readonly session: Session;
}

/**
 * Options of {@link LatchkeyClient.validateSession}.
 *
 * @example
 * ```ts
 * await latchkey.validateSession(token, { client: { ip: '203.0.113.7', userAgent: req.headers['user-agent'] } });
 * ```
 */
export interface ValidateSessionOptions extends CallOptions {
  /** The end user's client, checked against the session's binding. */
  client?: ClientInfo;
}

/**
 * Answer of {@link LatchkeyClient.validateSession}: a refused token is a value, not an error.
 *
 * @example
 * ```ts
 * const result: ValidateSessionResult = await latchkey.validateSession(token);
 * if (result.valid) use(result.session);
 * else log(result.reason); // 'malformed' | 'unknown' | 'expired-idle' | 'expired-absolute' | 'revoked' | 'binding-mismatch'
 * ```
 */
export type ValidateSessionResult =
  | { readonly valid: true; readonly session: Session }
  | { readonly valid: false; readonly reason: InvalidReason };

/**
 * Options of {@link LatchkeyClient.rotateSession}.
 *
 * @example
 * ```ts
 * await latchkey.rotateSession(anonymousToken, { userId: 'alice', authLevel: 1 }); // sign-in of an anonymous session
 * ```
 */
export interface RotateSessionOptions extends CallOptions {
  /** The end user's client, for the new-device check and binding of the new token. */
  client?: ClientInfo;
  /** Sign in (or switch) to this user: the new token belongs to `userId`. */
  userId?: string;
  /** Record a (re-)authentication now, without changing the user. */
  authenticated?: boolean;
  /** New application-defined authentication level (0 to 1000). */
  authLevel?: number;
}

/**
 * Changes of {@link LatchkeyClient.patchSessionData}: only these keys are touched.
 *
 * @example
 * ```ts
 * const patch: DataPatchInput = { set: { step: 2 }, unset: ['draft'] };
 * ```
 */
export interface DataPatchInput extends CallOptions {
  /** Keys to set (JSON values). */
  set?: Record<string, unknown>;
  /** Keys to remove. */
  unset?: string[];
}

/** Options of `listSecurityEvents()`. */
export interface ListSecurityEventsOptions extends CallOptions {
  /** How many events at most, 1 to 200. @default 50 */
  readonly limit?: number;
}

/**
 * Options of {@link LatchkeyClient.revokeUserSessions}.
 *
 * @example
 * ```ts
 * await latchkey.revokeUserSessions('alice', { except: currentHandle });
 * ```
 */
export interface RevokeUserSessionsOptions extends CallOptions {
  /** Keep this session (the caller's own, on "sign out everywhere else"). */
  except?: string;
}

/**
 * Input of {@link LatchkeyClient.issueTokens}.
 *
 * @example
 * ```ts
 * const input: IssueTokensInput = { userId: 'alice', scope: 'read write', client: { ip, userAgent } };
 * ```
 */
export interface IssueTokensInput extends CallOptions {
  /** The signed-in user (same rules as for sessions). */
  userId: string;
  /** The access token's `scope` claim, space-separated. */
  scope?: string;
  /** Data of the token family's session. */
  data?: Record<string, unknown>;
  /** The end user's client. */
  client?: ClientInfo;
  /** The end user's DPoP proof (RFC 9449), forwarded: the pair is then bound to its key. */
  dpop?: ForwardedDpopProof;
}

/**
 * A client's DPoP proof (RFC 9449) as it reached your backend, for the
 * service to check and bind tokens to: the `DPoP` header, and the method and
 * absolute URL of the request it came with.
 *
 * @example
 * ```ts
 * const dpop: ForwardedDpopProof = { proof: req.headers.dpop, method: req.method, url: `https://app.example.com${req.url}` };
 * ```
 */
export interface ForwardedDpopProof {
  proof: string;
  method: string;
  url: string;
}

/**
 * A token pair, as the token endpoints answer it.
 *
 * @example
 * ```ts
 * const { accessToken, refreshToken, expiresIn }: TokenPairResult = await latchkey.issueTokens({ userId: 'alice' });
 * ```
 */
export interface TokenPairResult {
  /** A signed JWT; verify it locally against {@link LatchkeyClient.jwks}. */
  readonly accessToken: string;
  /** Opaque and single-use: every refresh returns a new one. */
  readonly refreshToken: string;
  /** `'DPoP'` when the pair is bound to the key of a forwarded proof. */
  readonly tokenType: 'Bearer' | 'DPoP';
  /** Access-token lifetime, in seconds. */
  readonly expiresIn: number;
  /**
   * With DPoP nonces on at the service (`--dpop-nonce-secret`): the nonce the end user's client must put in its next
   * proofs (RFC 9449 section 8). Hand it on as your answer's `DPoP-Nonce` header.
   */
  readonly dpopNonce?: string;
}

/**
 * Options of {@link LatchkeyClient.refreshTokens}.
 *
 * @example
 * ```ts
 * await latchkey.refreshTokens(refreshToken, { client: { ip, userAgent } });
 * ```
 */
export interface RefreshTokensOptions extends CallOptions {
  /** The end user's client. */
  client?: ClientInfo;
  /** The end user's DPoP proof: required for a family bound to a key (without it, or with another key, the family is revoked). */
  dpop?: ForwardedDpopProof;
}

/**
 * Options of {@link LatchkeyClient.introspectToken}.
 *
 * @example
 * ```ts
 * await latchkey.introspectToken(accessToken, { dpop: { proof, method: 'GET', url } });
 * ```
 */
export interface IntrospectTokenOptions extends CallOptions {
  /** The DPoP proof the access token came with: a DPoP-bound token is active only with a valid proof of its key. */
  dpop?: ForwardedDpopProof;
}

/**
 * What {@link LatchkeyClient.introspectToken} answers (RFC 7662 names): an
 * inactive token says nothing more; an active one gives its claims, times in
 * seconds since the Unix epoch.
 *
 * @example
 * ```ts
 * const t: TokenIntrospection = await latchkey.introspectToken(accessToken);
 * if (t.active) console.log(t.sub, t.scope);
 * ```
 */
export type TokenIntrospection =
  | { readonly active: false }
  | {
      readonly active: true;
      /** `'DPoP'` for a token bound to a key (active only when introspected with a proof of it). */
      readonly tokenType: 'Bearer' | 'DPoP';
      /** The key a DPoP-bound token is bound to. */
      readonly cnf?: { readonly jkt: string };
      /** The user. */
      readonly sub: string;
      /** The session (token family) the token was issued for: `revokeSession(sid)` ends it. */
      readonly sid: string;
      readonly iss: string;
      readonly aud: string | readonly string[];
      readonly iat: number;
      readonly nbf?: number;
      readonly exp: number;
      /** Space-separated scopes. */
      readonly scope?: string;
      /** When the user last authenticated. */
      readonly authTime?: number;
      /**
       * With DPoP nonces on at the service: a fresh nonce, when the proof's was due to rotate (RFC 9449 section 8.2).
       * Hand it on as your answer's `DPoP-Nonce` header, as a resource guarded by `tokenGuard()` does.
       */
      readonly dpopNonce?: string;
    };

/**
 * A JSON Web Key Set (RFC 7517): the public keys that verify access tokens,
 * ready for `jose`'s `createLocalJWKSet()`.
 *
 * @example
 * ```ts
 * const { keys } = await latchkey.jwks();
 * console.log(keys.map((k) => k.kid));
 * ```
 */
export type JwksDocument = JSONWebKeySet;

/**
 * The session service's API, as {@link createClient} returns it. Every method
 * rejects with a {@link LatchkeyApiError} when the call fails (and with a
 * `LatchkeyTypeError`, a `TypeError`, before sending anything, for arguments
 * of the wrong type).
 *
 * @example
 * ```ts
 * const latchkey: LatchkeyClient = createClient({ baseUrl, apiKey });
 * ```
 */
export interface LatchkeyClient {
  /** The service's base URL, without a trailing slash. */
  readonly baseUrl: string;
  /**
   * `POST /v1/sessions`: a new session with a fresh token (sign-in; without
   * `userId`, an anonymous session). The token is shown once: hand it to the
   * end user and keep no copy. Rejects with `bad-request` (e.g. an empty
   * `userId`) or `session-limit`.
   *
   * @example
   * ```ts
   * const { token, session } = await latchkey.createSession({
   *   userId: user.id,
   *   client: { ip: req.socket.remoteAddress, userAgent: req.headers['user-agent'] },
   * });
   * res.setHeader('set-cookie', `__Host-session=${token}; Path=/; Secure; HttpOnly; SameSite=Lax`);
   * ```
   */
  createSession(input: CreateSessionInput): Promise<SessionWithToken>;
  /**
   * `POST /v1/sessions/validate`: checks a token. A refused token resolves
   * `{ valid: false, reason }`; only a failed call rejects.
   *
   * @example
   * ```ts
   * const result = await latchkey.validateSession(tokenFromCookie, { client: { ip, userAgent } });
   * if (!result.valid) return redirect('/sign-in');
   * console.log(result.session.userId, result.session.data);
   * ```
   */
  validateSession(token: string, options?: ValidateSessionOptions): Promise<ValidateSessionResult>;
  /**
   * `POST /v1/sessions/rotate`: a new token for the session; the old one dies
   * at once (after sign-in, a privilege change or re-authentication). Rejects
   * with `session-invalid` (see `detail`) or `conflict` (a concurrent rotation won).
   *
   * @example
   * ```ts
   * // the user just confirmed their password: a fresh token, a fresh authTime
   * const { token } = await latchkey.rotateSession(tokenFromCookie, { authenticated: true });
   * ```
   */
  rotateSession(token: string, options?: RotateSessionOptions): Promise<SessionWithToken>;
  /**
   * `PATCH /v1/sessions/{handle}/data`: sets and removes data keys, leaving
   * the others as they are in the store; resolves the updated session.
   * Rejects with `not_found` when the session is gone.
   *
   * @example
   * ```ts
   * const session = await latchkey.patchSessionData(handle, { set: { cart: ['sku-1'] }, unset: ['coupon'] });
   * ```
   */
  patchSessionData(handle: string, patch: DataPatchInput): Promise<Session>;
  /**
   * `DELETE /v1/sessions/{handle}`: signs a session out at once: a session
   * of `createSession()`, or a token family by any handle it had (an access
   * token's `sid`), whose access tokens then stop being active. Resolves
   * `false` when there was no such live session (already signed out).
   *
   * @example
   * ```ts
   * await latchkey.revokeSession(result.session.handle); // sign-out
   * ```
   */
  revokeSession(handle: string, options?: CallOptions): Promise<boolean>;
  /**
   * `GET /v1/users/{userId}/sessions`: a user's live sessions and token
   * families, oldest first, for a "your devices" page; `kind` tells them
   * apart (`'session'`, `'refresh'`).
   *
   * @example
   * ```ts
   * for (const d of await latchkey.listUserSessions('alice')) {
   *   console.log(d.device.browser, d.device.os, d.ip, new Date(d.lastSeenAt));
   * }
   * ```
   */
  listUserSessions(userId: string, options?: CallOptions): Promise<DeviceSession[]>;
  /**
   * `DELETE /v1/users/{userId}/sessions`: "sign out everywhere" (but
   * `except`): every session and token family of the user; resolves the
   * revoked handles.
   *
   * @example
   * ```ts
   * // after a password change: every other device is signed out
   * await latchkey.revokeUserSessions(user.id, { except: currentSession.handle });
   * ```
   */
  revokeUserSessions(userId: string, options?: RevokeUserSessionsOptions): Promise<string[]>;
  /**
   * `GET /v1/events`: the security-event feed, newest first; on a Redis or
   * PostgreSQL store, every instance's events and the CLI's.
   *
   * @example
   * ```ts
   * const thefts = (await latchkey.listSecurityEvents({ limit: 200 })).filter((e) => e.kind === 'token-theft');
   * ```
   */
  listSecurityEvents(options?: ListSecurityEventsOptions): Promise<SecurityEvent[]>;
  /**
   * `POST /v1/tokens`: token-mode sign-in, a short-lived access JWT and a
   * rotating refresh token.
   *
   * @example
   * ```ts
   * const { accessToken, refreshToken, expiresIn } = await latchkey.issueTokens({ userId: 'alice', scope: 'read write' });
   * ```
   */
  issueTokens(input: IssueTokensInput): Promise<TokenPairResult>;
  /**
   * `POST /v1/tokens/refresh`: rotates the refresh token and issues a new
   * access token. Rejects with `invalid_grant` and a `detail`; `'reused'`
   * means an old refresh token came back (theft) and its family was revoked.
   *
   * @example
   * ```ts
   * try {
   *   const pair = await latchkey.refreshTokens(refreshToken);
   * } catch (err) {
   *   if (err instanceof LatchkeyApiError && err.reason === 'invalid_grant') return signInAgain();
   *   throw err;
   * }
   * ```
   */
  refreshTokens(refreshToken: string, options?: RefreshTokensOptions): Promise<TokenPairResult>;
  /**
   * `POST /v1/tokens/revoke`: token-mode sign-out, revoking the refresh
   * token's family. Resolves whether it was live.
   *
   * @example
   * ```ts
   * await latchkey.revokeRefreshToken(refreshToken);
   * ```
   */
  revokeRefreshToken(refreshToken: string, options?: CallOptions): Promise<boolean>;
  /**
   * `POST /v1/tokens/introspect`: whether an access token is active (valid
   * signature and times, and its session not ended: signed out, revoked,
   * "log out everywhere", theft), with its claims. For backends that do not
   * verify JWTs themselves; an inactive token resolves `{ active: false }`.
   *
   * @example
   * ```ts
   * const t = await latchkey.introspectToken(bearerToken);
   * if (!t.active) return res.status(401).end();
   * console.log(t.sub, t.scope);
   * ```
   */
  introspectToken(token: string, options?: IntrospectTokenOptions): Promise<TokenIntrospection>;
  /**
   * `GET /.well-known/jwks.json`: the public keys that verify access tokens.
   *
   * @example
   * ```ts
   * import { createLocalJWKSet, jwtVerify } from 'jose';
   *
   * const keys = createLocalJWKSet(await latchkey.jwks());
   * const { payload } = await jwtVerify(accessToken, keys, { issuer: 'latchkey', audience: 'latchkey' });
   * ```
   */
  jwks(options?: CallOptions): Promise<JwksDocument>;
  /**
   * `GET /healthz`: whether the service process answers; `false` on a 5xx
   * answer, rejects when the service cannot be reached.
   *
   * @example
   * ```ts
   * if (!(await latchkey.health())) console.warn('latchkey is unhealthy');
   * ```
   */
  health(options?: CallOptions): Promise<boolean>;
  /**
   * `GET /readyz`: whether the service can reach its store; `false` on 503,
   * rejects when the service cannot be reached.
   *
   * @example
   * ```ts
   * await waitUntil(() => latchkey.ready());
   * ```
   */
  ready(options?: CallOptions): Promise<boolean>;
}
