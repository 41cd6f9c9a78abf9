/**
 * `latchkey/client`: a typed client of the `latchkey serve` JSON API, for
 * Node.js backends (and any runtime with `fetch`). One call per endpoint;
 * a refused session token is a value (`validateSession`), every other failure
 * rejects with a {@link LatchkeyApiError} that never holds a secret.
 *
 * @example
 * ```ts
 * import { createClient } from 'latchkey/client';
 *
 * const latchkey = createClient({ baseUrl: 'http://127.0.0.1:4000', apiKey: process.env.LATCHKEY_API_KEY! });
 * const { token } = await latchkey.createSession({ userId: 'alice', client: { ip, userAgent } });
 * const result = await latchkey.validateSession(token, { client: { ip, userAgent } });
 * if (result.valid) console.log(result.session.userId); // 'alice'
 * ```
 *
 * @module
 */
import type { Duration } from '../core/duration.js';
import { ConfigError, LatchkeyTypeError } from '../core/errors.js';
import { checkOptionKeys } from '../core/option-keys.js';
import { checkBaseUrl, checkTimeout, isNumber, isObject, isString, requireObject, requireString } from './checks.js';
import { LatchkeyApiError } from './errors.js';
import { networkCause, sanitizeCause, scrub } from './network.js';
import type { SecurityEvent } from './events.js';
import type {
  CallOptions,
  DeviceSession,
  InvalidReason,
  JwksDocument,
  LatchkeyClient,
  Session,
  SessionWithToken,
  TokenPairResult,
} from './types.js';

export { LatchkeyApiError } from './errors.js';
export type { LatchkeyApiErrorInit, LatchkeyApiErrorReason, ServiceErrorCode } from './errors.js';
export type {
  CallOptions,
  ClientInfo,
  ClientRecord,
  CreateSessionInput,
  DataPatchInput,
  Device,
  DeviceSession,
  ForwardedDpopProof,
  IntrospectTokenOptions,
  InvalidReason,
  IssueTokensInput,
  JwksDocument,
  LatchkeyClient,
  ListSecurityEventsOptions,
  RefreshFailure,
  RefreshTokensOptions,
  RevokeUserSessionsOptions,
  RotateSessionOptions,
  Session,
  SessionData,
  SessionWithToken,
  TokenIntrospection,
  TokenPairResult,
  ValidateSessionOptions,
  ValidateSessionResult,
} from './types.js';
export type { SecurityEvent } from './events.js';
export type { Duration } from '../core/duration.js';

/**
 * Options of {@link createClient}.
 *
 * @example
 * ```ts
 * const options: ClientOptions = { baseUrl: 'https://sessions.internal', apiKey: process.env.LATCHKEY_API_KEY!, timeout: '2s' };
 * ```
 */
export interface ClientOptions {
  /** Where the service listens, `http:` or `https:`, optionally with a path prefix: `'https://sessions.internal/latchkey'`. */
  baseUrl: string;
  /** An API key of the service (`latchkey apikeys create`), sent as `Authorization: Bearer`. */
  apiKey: string;
  /**
   * How long a call may take, from sending to the last byte of the answer;
   * then it rejects with the reason `timeout`.
   * @default '5s'
   */
  timeout?: Duration;
  /** The `fetch` to use (a mock, or one with a custom dispatcher). @default globalThis.fetch */
  fetch?: typeof fetch;
  /** The `User-Agent` header. @default 'latchkey-client' */
  userAgent?: string;
}

/** What an error `code` or `reason` of the service looks like. */
const SLUG = /^[a-z][a-z0-9_-]{0,63}$/;
/** A `DPoP-Nonce` (RFC 9449 section 8.1: 1*NQCHAR), bounded. */
const DPOP_NONCE = /^[\x21\x23-\x5B\x5D-\x7E]{1,512}$/;
/** Longest service message kept in an error, in characters. */
const MAX_MESSAGE = 300;
/** A header value must not carry control characters (header injection), nor be empty. */
const HEADER_SAFE = /^[\x21-\x7e][\x20-\x7e]*$/;

/** The `Retry-After` of an answer in whole seconds (RFC 9110's delay-seconds form; a date is not what the service sends), or `undefined`. */
function retryAfterOf(response: Response): number | undefined {
  const value = response.headers.get('retry-after');
  return value !== null && /^\d{1,9}$/.test(value) ? Number(value) : undefined;
}

/**
 * Creates a client of the session service. Options are checked here, once:
 * a mistake throws a `ConfigError` (whose message never shows the API key).
 *
 * @throws {ConfigError} when `baseUrl` is not an `http(s)` URL without
 *   credentials, `apiKey` is not a non-empty printable string, `timeout` is
 *   not a positive duration, `fetch` is not a function, or an option is
 *   unknown.
 * @example
 * ```ts
 * import { createClient, LatchkeyApiError } from 'latchkey/client';
 *
 * const latchkey = createClient({
 *   baseUrl: process.env.LATCHKEY_URL ?? 'http://127.0.0.1:4000',
 *   apiKey: process.env.LATCHKEY_API_KEY!,
 *   timeout: '2s',
 * });
 *
 * // sign-in, after checking the password
 * const { token, session } = await latchkey.createSession({ userId: 'alice', data: { theme: 'dark' } });
 * // every request
 * const result = await latchkey.validateSession(token);
 * if (!result.valid) console.log(result.reason); // 'expired-idle', 'revoked', ...
 * // sign-out
 * await latchkey.revokeSession(session.handle);
 * ```
 */
export function createClient(options: ClientOptions): LatchkeyClient {
  checkOptionKeys(options, 'createClient()', ['baseUrl', 'apiKey', 'timeout', 'fetch', 'userAgent']);
  const baseUrl = checkBaseUrl(options.baseUrl);
  const apiKey: unknown = options.apiKey;
  if (typeof apiKey !== 'string' || !HEADER_SAFE.test(apiKey) || /\s/.test(apiKey)) {
    throw new ConfigError('apiKey must be a non-empty string of printable characters without spaces (value not shown)');
  }
  const defaultTimeout = checkTimeout('timeout', options.timeout ?? '5s');
  const doFetch = options.fetch ?? globalThis.fetch;
  if (typeof doFetch !== 'function') throw new ConfigError('fetch must be a function (or leave it out to use globalThis.fetch)');
  const userAgent = options.userAgent ?? 'latchkey-client';
  if (typeof userAgent !== 'string' || !HEADER_SAFE.test(userAgent)) throw new ConfigError('userAgent must be a non-empty string of printable characters');
  const authorization = `Bearer ${apiKey}`;

  interface Answer {
    status: number;
    body: Record<string, unknown>;
    /** The answer's `DPoP-Nonce`, when it has one of RFC 9449's shape. */
    dpopNonce?: string;
    operation: string;
  }

  interface Call {
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
    path: string;
    query?: Record<string, string | undefined>;
    body?: unknown;
    /** Values to scrub from any text that ends up in an error (tokens sent in this call). */
    secrets?: ReadonlyArray<string | undefined>;
    /** Failure statuses answered as a value rather than thrown (`health` and `ready` on 503). */
    accept?: readonly number[];
    /** Answers without a body (204). */
    empty?: boolean;
    options: CallOptions | undefined;
  }

  async function call(c: Call): Promise<Answer> {
    const operation = `${c.method} ${c.path}`;
    const secrets = [apiKey as string, ...(c.secrets ?? [])].filter((s): s is string => typeof s === 'string' && s.length >= 8);
    const fail = (status: number, reason: string, message: string, extra: { detail?: string; cause?: unknown; retryAfter?: number; dpopNonce?: string } = {}): LatchkeyApiError =>
      new LatchkeyApiError({
        status,
        reason,
        message: scrub(`latchkey ${operation}: ${message}`, secrets),
        detail: extra.detail,
        operation,
        cause: extra.cause,
        retryAfter: extra.retryAfter,
        dpopNonce: extra.dpopNonce,
      });

    const timeoutMs = c.options?.timeout === undefined ? defaultTimeout : checkTimeout('timeout', c.options.timeout, 'argument');
    // A timer cleared once the answer is read, not AbortSignal.timeout(): that one lives (with its signal) for the
    // whole timeout after a call that took a millisecond, and under load thousands of them survive into the old heap.
    const timeout = new AbortController();
    const timeoutSignal = timeout.signal;
    const callerSignal = c.options?.signal;
    const signal = callerSignal === undefined ? timeoutSignal : AbortSignal.any([timeoutSignal, callerSignal]);
    const whyAborted = (err: unknown): LatchkeyApiError | null => {
      if (callerSignal?.aborted === true) return fail(0, 'aborted', 'aborted by the caller', { cause: err });
      if (timeoutSignal.aborted) return fail(0, 'timeout', `no answer within ${timeoutMs} ms`);
      return null;
    };

    let url = baseUrl + c.path;
    if (c.query !== undefined) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(c.query)) if (v !== undefined) q.set(k, v);
      const text = q.toString();
      if (text !== '') url += `?${text}`;
    }
    const headers: Record<string, string> = { authorization, accept: 'application/json', 'user-agent': userAgent };
    let payload: string | undefined;
    if (c.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(c.body);
    }

    let response: Response;
    let text: string;
    const timer = setTimeout(() => timeout.abort(), timeoutMs);
    // Never what keeps a process alive (Node, Bun); Workers' timers are numbers without unref().
    (timer as { unref?: () => void }).unref?.();
    try {
      // A redirect is never followed (the API key stays with baseUrl) and never taken for an answer.
      // 'manual', not 'error': Workers refuse `redirect: 'error'`, and every runtime has 'manual'.
      response = await doFetch(url, { method: c.method, headers, body: payload, signal, redirect: 'manual' });
      text = await response.text();
    } catch (err) {
      throw whyAborted(err) ?? fail(0, 'network', `the service could not be reached (${networkCause(err)})`, { cause: sanitizeCause(err, secrets) });
    } finally {
      clearTimeout(timer);
    }
    // Browsers answer a manual redirect as an opaque response of status 0; the others with the 3xx itself.
    if (response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)) {
      throw fail(response.status, 'bad-response', `HTTP ${response.status}: a redirect, which the latchkey API never answers; not followed, so that the API key goes only to baseUrl`);
    }

    const status = response.status;
    const nonce = response.headers.get('dpop-nonce');
    const dpopNonce = nonce !== null && DPOP_NONCE.test(nonce) ? { dpopNonce: nonce } : {};
    let body: unknown = undefined;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
    }
    const ok = (status >= 200 && status < 300) || (c.accept?.includes(status) ?? false);
    if (!ok) {
      const error = isObject(body) && isObject(body.error) ? body.error : null;
      // Codes and reasons are short slugs; anything else is not latchkey's answer (and could echo a secret).
      if (error !== null && typeof error.code === 'string' && SLUG.test(error.code)) {
        const message = typeof error.message === 'string' ? scrub(error.message, secrets).slice(0, MAX_MESSAGE) : error.code;
        const detail = typeof error.reason === 'string' && SLUG.test(error.reason) ? error.reason : undefined;
        throw fail(status, error.code, `${status} ${error.code}: ${message}`, { detail, retryAfter: retryAfterOf(response), ...dpopNonce });
      }
      throw fail(status, 'bad-response', `HTTP ${status} without a latchkey error body`);
    }
    if (c.empty === true && status === 204) return { status, body: {}, operation };
    if (!isObject(body)) {
      // An accepted failure status (a 503 from a proxy, say) is an answer even without latchkey's body.
      if (status >= 300) return { status, body: {}, operation };
      throw fail(status, 'bad-response', `HTTP ${status} with a body that is not a JSON object`);
    }
    return { status, body, operation, ...dpopNonce };
  }

  /** Checks a field of a successful answer; a wrong shape means we are not talking to latchkey (or to another version). */
  function field<T>(answer: Answer, name: string, test: (v: unknown) => boolean): T {
    const value = answer.body[name];
    if (!test(value)) {
      const { status, operation } = answer;
      throw new LatchkeyApiError({ status, reason: 'bad-response', message: `latchkey ${operation}: the answer has no valid "${name}"`, operation });
    }
    return value as T;
  }

  const sessionWithToken = (answer: Answer): SessionWithToken => ({
    token: field<string>(answer, 'token', isString),
    session: field<Session>(answer, 'session', isObject),
  });
  const tokenPair = (answer: Answer): TokenPairResult => ({
    accessToken: field<string>(answer, 'accessToken', isString),
    refreshToken: field<string>(answer, 'refreshToken', isString),
    tokenType: field<'Bearer' | 'DPoP'>(answer, 'tokenType', (v) => v === 'Bearer' || v === 'DPoP'),
    expiresIn: field<number>(answer, 'expiresIn', (v) => typeof v === 'number'),
    ...(answer.dpopNonce === undefined ? {} : { dpopNonce: answer.dpopNonce }),
  });

  return {
    baseUrl,

    async createSession(input) {
      requireObject(input, 'createSession() input');
      if (input.userId !== undefined) requireString(input.userId, 'userId');
      const { signal, timeout, ...body } = input;
      return sessionWithToken(await call({ method: 'POST', path: '/v1/sessions', body, options: { signal, timeout } }));
    },

    async validateSession(token, options = {}) {
      requireString(token, 'token', true);
      const { signal, timeout, ...rest } = options;
      const answer = await call({ method: 'POST', path: '/v1/sessions/validate', body: { token, ...rest }, secrets: [token], options: { signal, timeout } });
      if (answer.body.valid === true) return { valid: true, session: field<Session>(answer, 'session', isObject) };
      return { valid: false, reason: field<InvalidReason>({ ...answer, body: answer.body.valid === false ? answer.body : {} }, 'reason', isString) };
    },

    async rotateSession(token, options = {}) {
      requireString(token, 'token', true);
      const { signal, timeout, ...rest } = options;
      return sessionWithToken(await call({ method: 'POST', path: '/v1/sessions/rotate', body: { token, ...rest }, secrets: [token], options: { signal, timeout } }));
    },

    async patchSessionData(handle, patch) {
      requireString(handle, 'handle');
      requireObject(patch, 'patchSessionData() patch');
      const { signal, timeout, ...body } = patch;
      const answer = await call({ method: 'PATCH', path: `/v1/sessions/${encodeURIComponent(handle)}/data`, body, options: { signal, timeout } });
      return field<Session>(answer, 'session', isObject);
    },

    async revokeSession(handle, options) {
      requireString(handle, 'handle');
      try {
        await call({ method: 'DELETE', path: `/v1/sessions/${encodeURIComponent(handle)}`, empty: true, options });
        return true;
      } catch (err) {
        // Signing out a session that is already gone is not a failure; a 404 that is not latchkey's (a wrong baseUrl behind a proxy) still is.
        if (err instanceof LatchkeyApiError && err.status === 404 && err.reason === 'not-found') return false;
        throw err;
      }
    },

    async listUserSessions(userId, options) {
      requireString(userId, 'userId');
      const answer = await call({ method: 'GET', path: `/v1/users/${encodeURIComponent(userId)}/sessions`, options });
      return field<DeviceSession[]>(answer, 'sessions', Array.isArray);
    },

    async listSecurityEvents(options = {}) {
      const limit = options.limit;
      if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1 || limit > 200)) throw new LatchkeyTypeError('limit must be a whole number from 1 to 200');
      const answer = await call({ method: 'GET', path: '/v1/events', query: { limit: limit === undefined ? undefined : String(limit) }, options });
      return field<SecurityEvent[]>(answer, 'events', Array.isArray);
    },

    async revokeUserSessions(userId, options = {}) {
      requireString(userId, 'userId');
      if (options.except !== undefined) requireString(options.except, 'except');
      const answer = await call({ method: 'DELETE', path: `/v1/users/${encodeURIComponent(userId)}/sessions`, query: { except: options.except }, options });
      return field<string[]>(answer, 'revoked', Array.isArray);
    },

    async issueTokens(input) {
      requireObject(input, 'issueTokens() input');
      requireString(input.userId, 'userId');
      const { signal, timeout, ...body } = input;
      return tokenPair(await call({ method: 'POST', path: '/v1/tokens', body, secrets: body.dpop === undefined ? [] : [body.dpop.proof], options: { signal, timeout } }));
    },

    async refreshTokens(refreshToken, options = {}) {
      requireString(refreshToken, 'refreshToken', true);
      const { signal, timeout, ...rest } = options;
      return tokenPair(await call({ method: 'POST', path: '/v1/tokens/refresh', body: { refreshToken, ...rest }, secrets: rest.dpop === undefined ? [refreshToken] : [refreshToken, rest.dpop.proof], options: { signal, timeout } }));
    },

    async revokeRefreshToken(refreshToken, options) {
      requireString(refreshToken, 'refreshToken', true);
      const answer = await call({ method: 'POST', path: '/v1/tokens/revoke', body: { refreshToken }, secrets: [refreshToken], options });
      return field<boolean>(answer, 'revoked', (v) => typeof v === 'boolean');
    },

    async introspectToken(token, options) {
      requireString(token, 'token', true);
      const { dpop, ...callOptions } = options ?? {};
      const answer = await call({
        method: 'POST',
        path: '/v1/tokens/introspect',
        body: dpop === undefined ? { token } : { token, dpop },
        secrets: dpop === undefined ? [token] : [token, dpop.proof],
        options: callOptions,
      });
      if (answer.body.active !== true) return { active: field<false>(answer, 'active', (v) => v === false) };
      const b = answer.body;
      return {
        active: true,
        tokenType: b.token_type === 'DPoP' ? 'DPoP' : 'Bearer',
        ...(b.cnf !== null && typeof b.cnf === 'object' && isString((b.cnf as { jkt?: unknown }).jkt) ? { cnf: { jkt: (b.cnf as { jkt: string }).jkt } } : {}),
        sub: field<string>(answer, 'sub', isString),
        sid: field<string>(answer, 'sid', isString),
        iss: field<string>(answer, 'iss', isString),
        aud: field<string | string[]>(answer, 'aud', (v) => isString(v) || (Array.isArray(v) && v.every(isString))),
        iat: field<number>(answer, 'iat', isNumber),
        exp: field<number>(answer, 'exp', isNumber),
        ...(isNumber(b.nbf) ? { nbf: b.nbf } : {}),
        ...(isString(b.scope) ? { scope: b.scope } : {}),
        ...(isNumber(b.auth_time) ? { authTime: b.auth_time } : {}),
        ...(answer.dpopNonce === undefined ? {} : { dpopNonce: answer.dpopNonce }),
      };
    },

    async jwks(options) {
      const answer = await call({ method: 'GET', path: '/.well-known/jwks.json', options });
      return { keys: field<JwksDocument['keys']>(answer, 'keys', Array.isArray) };
    },

    async health(options) {
      const { status, body } = await call({ method: 'GET', path: '/healthz', accept: [500, 502, 503, 504], options });
      return status === 200 && body.status === 'ok';
    },

    async ready(options) {
      const { status, body } = await call({ method: 'GET', path: '/readyz', accept: [500, 502, 503, 504], options });
      return status === 200 && body.status === 'ready';
    },
  };
}
