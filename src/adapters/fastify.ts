/**
 * Fastify 5 adapter: a plugin that puts the request-scoped session on
 * `request.session`, commits it in `onSend`, and answers latchkey's refusals
 * (401, 403, 429, 503) as JSON; and token mode's guard (a `preHandler`
 * putting the claims on `request.token`), refresh and logout handlers.
 *
 * @module
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { HttpRequest, HttpSessionsOptions } from '../http/http-sessions.js';
import { createHttpSessions } from '../http/http-sessions.js';
import type { HttpError } from '../http/errors.js';
import { toHttpError } from '../http/errors.js';
import { finishRequest, type Responder } from '../http/exchange.js';
import type { RequestSession } from '../http/request-session.js';
import { MAX_FORM_BYTES } from '../http/node.js';
import type { TokenEndpointResult, TokenGuardOptions, TokenTransport, TokenTransportOptions } from '../http/tokens.js';
import { asTokenTransport } from '../http/tokens.js';
import type { AccessTokenClaims } from '../tokens/access.js';
import type { TokenPair } from '../tokens/tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** latchkey's session of this request; `await request.session.load()` before reading it. */
    session: RequestSession;
    /** The verified access-token claims, on routes behind `tokenGuard()`. */
    token: AccessTokenClaims;
  }
}

/** Options of the Fastify plugin: the shared HTTP options. */
export type FastifySessionsOptions = HttpSessionsOptions;

const URLENCODED = 'application/x-www-form-urlencoded';

/**
 * The plugin. It applies to the whole instance (it is not encapsulated):
 * register it before your routes. It registers a small URL-encoded body
 * parser unless one exists, so that the CSRF form field of HTML forms can be
 * read, and answers latchkey's errors thrown by route handlers itself,
 * leaving your error handler to your own errors.
 *
 * @throws {ConfigError} at registration, for a weakening configuration.
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { latchkey } from 'latchkey/fastify';
 *
 * const app = Fastify();
 * await app.register(latchkey, { sessions });
 * app.get('/', async (request) => {
 *   const session = await request.session.load();
 *   return { user: session.userId };
 * });
 * ```
 */
export const latchkey: FastifyPluginAsync<FastifySessionsOptions> = async (fastify: FastifyInstance, options: FastifySessionsOptions) => {
  const http = createHttpSessions(options);
  const report = http.reportError;
  fastify.decorateRequest('session', null as unknown as RequestSession);
  if (!fastify.hasContentTypeParser(URLENCODED)) {
    fastify.addContentTypeParser(URLENCODED, { parseAs: 'string', bodyLimit: MAX_FORM_BYTES }, (_req, body, done) => {
      const fields: Record<string, string> = Object.create(null) as Record<string, string>;
      for (const [k, v] of new URLSearchParams(body as string)) if (!(k in fields)) fields[k] = v;
      done(null, fields);
    });
  }

  fastify.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const begun = await http.begin(fastifyRequest(request));
    if (!begun.ok) return sendError(reply, begun.error);
    request.session = begun.session;
  });

  // The end of the request: the payload with the session's headers, or the error that replaces it.
  fastify.addHook('onSend', (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: Error | null, value?: unknown) => void) => {
    const session = request.session;
    // Callback style: the common read (nothing to write) answers without a promise.
    const out = session === null ? payload : finishRequest(session, reply, payload, fastifyResponder, report);
    if (out instanceof Promise) out.then((value) => done(null, value), done);
    else done(null, out);
  });

  // latchkey's own errors (a guard, a store outage) thrown by route handlers are answered here, so
  // that the application's error handler, if any, stays its own and sees only its own errors.
  fastify.addHook('onRoute', (route: RouteOptions) => {
    const handler = route.handler as (this: unknown, request: FastifyRequest, reply: FastifyReply) => unknown;
    route.handler = function latchkeyRoute(this: unknown, request: FastifyRequest, reply: FastifyReply) {
      const answer = (err: unknown): FastifyReply => {
        const known = toHttpError(err);
        if (known === null || reply.sent) throw err;
        return sendError(reply, known);
      };
      try {
        const out = handler.call(this, request, reply);
        return out instanceof Promise ? out.catch(answer) : out;
      } catch (err) {
        return answer(err);
      }
    } as RouteOptions['handler'];
  });
};

// Not encapsulated: the hooks and the decorator apply to every route (what fastify-plugin does).
(latchkey as unknown as Record<symbol, unknown>)[Symbol.for('skip-override')] = true;
(latchkey as unknown as Record<symbol, unknown>)[Symbol.for('fastify.display-name')] = 'latchkey';

function fastifyRequest(request: FastifyRequest): HttpRequest {
  const headers = request.headers;
  return {
    method: request.method,
    url: request.url,
    header: (name) => {
      const v = headers[name];
      return v === undefined || typeof v === 'string' ? v : v.join(', ');
    },
    remoteAddress: request.raw.socket?.remoteAddress,
    formField: async (name) => bodyField(request.body, name),
    bodyField: async (name) => bodyField(request.body, name),
  };
}

// Fastify has already parsed the body (JSON by default; URL-encoded through the plugin's parser or @fastify/formbody).
function bodyField(body: unknown, name: string): string | undefined {
  if (body === null || typeof body !== 'object' || !Object.hasOwn(body, name)) return undefined;
  const v = (body as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

/** The Fastify renderer of latchkey's errors: sets the reply's status and headers, returns the JSON body. */
function errorPayload(reply: FastifyReply, err: HttpError): string {
  reply.code(err.status).headers({ ...err.headers, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  // A string is sent as it is: the JSON is made here, once.
  return JSON.stringify(err.body());
}

function sendError(reply: FastifyReply, err: HttpError): FastifyReply {
  return reply.send(errorPayload(reply, err));
}

/** The end of a request on a Fastify reply (see `finishRequest`), in `onSend`. */
const fastifyResponder: Responder<FastifyReply, unknown> = {
  error(reply, err) {
    // Nothing of the handler's answer stays: its type, length, cookies and location described a success.
    for (const name of Object.keys(reply.getHeaders())) reply.removeHeader(name);
    return errorPayload(reply, err);
  },
  headers(reply, payload, lines) {
    // Fastify appends repeated set-cookie lines and replaces other headers.
    for (const [name, value] of lines) reply.header(name, value);
    return payload;
  },
};

/**
 * Token mode: a `preHandler` that verifies the access token (`Authorization:
 * Bearer`, or the access cookie with `carrier: 'cookie'`) and puts its claims
 * on `request.token`, or answers 401/403 with RFC 6750 `WWW-Authenticate`.
 * Needs no plugin.
 *
 * @throws {ConfigError} for a bad configuration.
 * @example
 * ```ts
 * import { tokenGuard } from 'latchkey/fastify';
 *
 * const guard = tokenGuard(transport);
 * app.get('/api/me', { preHandler: guard }, async (request) => ({ user: request.token.sub }));
 * app.post('/api/password', { preHandler: tokenGuard(transport, { checkSession: true }) }, changePassword);
 * ```
 */
export function tokenGuard(
  transport: TokenTransport | TokenTransportOptions,
  options?: TokenGuardOptions,
): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  const guard = asTokenTransport(transport).guard(options);
  return async function latchkeyTokenGuard(request, reply) {
    const r = await guard(fastifyRequest(request));
    if (!r.ok) return sendError(reply, r.error);
    request.token = r.claims;
    return undefined;
  };
}

/**
 * Token mode: the refresh route handler (`POST`). Takes `refresh_token` from
 * a JSON body (or a form body, with a URL-encoded parser registered) with the
 * bearer carrier, or the refresh cookie with the cookie carrier; answers the
 * new pair, or 401 `invalid_grant`.
 *
 * @example
 * ```ts
 * app.post('/auth/refresh', tokenRefresh(transport));
 * ```
 */
export function tokenRefresh(transport: TokenTransport | TokenTransportOptions): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> {
  const t = asTokenTransport(transport);
  return async function latchkeyTokenRefresh(request, reply) {
    return sendResult(reply, await t.refresh(fastifyRequest(request)));
  };
}

/**
 * Token mode: the logout route handler (`POST`); revokes the family and, with
 * cookies, clears them.
 *
 * @example
 * ```ts
 * app.post('/auth/logout', tokenLogout(transport));
 * ```
 */
export function tokenLogout(transport: TokenTransport | TokenTransportOptions): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> {
  const t = asTokenTransport(transport);
  return async function latchkeyTokenLogout(request, reply) {
    return sendResult(reply, await t.logout(fastifyRequest(request)));
  };
}

/**
 * Token mode: answers a sign-in with its token pair (JSON, or cookies with the
 * cookie carrier).
 *
 * @example
 * ```ts
 * app.post('/auth/login', async (request, reply) => {
 *   const user = await checkPassword(request.body); // yours
 *   return sendTokens(reply, transport, await tokens.issue({ userId: user.id }));
 * });
 * ```
 */
export function sendTokens(reply: FastifyReply, transport: TokenTransport, pair: TokenPair): FastifyReply {
  return sendResult(reply, { ok: true, response: transport.respond(pair) });
}

function sendResult(reply: FastifyReply, r: TokenEndpointResult): FastifyReply {
  if (!r.ok) return sendError(reply, r.error);
  // Fastify appends repeated set-cookie lines and replaces other headers.
  for (const [name, value] of r.response.headers) reply.header(name, value);
  return reply.code(r.response.status).type('application/json; charset=utf-8').send(r.response.body);
}
