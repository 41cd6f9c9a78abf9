/**
 * Fastify 5 adapter: a plugin that puts the request-scoped session on
 * `request.session`, commits it in `onSend`, and answers latchkey's refusals
 * (401, 403, 429, 503) as JSON; and token mode's guard (a `preHandler`
 * putting the claims on `request.token`), refresh and logout handlers.
 *
 * @module
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { ConfigError } from '../core/errors.js';
import { fastifyRequest, fastifySessionHooks, sendFastifyError, sendFastifyTokenResult, urlencodedFields } from '../http/fastify.js';
import type { HttpSessionsOptions } from '../http/http-sessions.js';
import { createHttpSessions } from '../http/http-sessions.js';
import type { RequestSession } from '../http/request-session.js';
import { MAX_FORM_BYTES } from '../http/node.js';
import type { TokenGuardOptions, TokenTransport, TokenTransportOptions } from '../http/tokens.js';
import { asTokenTransport } from '../http/tokens.js';
import type { AccessTokenClaims } from '../tokens/access.js';
import type { TokenPair } from '../tokens/tokens.js';
import type { CreateInput } from '../core/sessions.js';

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
 * The plugin, for Fastify 5 (registering it in another major fails at
 * once). It applies to the whole instance (it is not encapsulated, through
 * `fastify-plugin`): register it before your routes. It registers a small
 * URL-encoded body parser unless one exists, so that the CSRF form field of
 * HTML forms can be read, and answers latchkey's errors thrown by route
 * handlers itself, leaving your error handler to your own errors.
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
export const latchkey: FastifyPluginAsync<FastifySessionsOptions> = fp(
  async function latchkey(fastify: FastifyInstance, options: FastifySessionsOptions) {
    const http = createHttpSessions(options);
    const hooks = fastifySessionHooks(http);
    fastify.decorateRequest('session', null as unknown as RequestSession);
    if (!fastify.hasContentTypeParser(URLENCODED)) {
      fastify.addContentTypeParser(URLENCODED, { parseAs: 'string', bodyLimit: MAX_FORM_BYTES }, (_req, body, done) => done(null, urlencodedFields(body as string)));
    }
    fastify.addHook('preHandler', hooks.preHandler);
    fastify.addHook('onSend', hooks.onSend);
    fastify.addHook('onRoute', (route: RouteOptions) => {
      route.handler = hooks.wrapHandler(route.handler);
    });
    if (http.dbsc !== null) {
      // DBSC's endpoints are answered by the preHandler above; these routes only make their paths exist.
      const answered = async (_request: FastifyRequest, reply: FastifyReply) => reply;
      fastify.post(routeUnder(fastify.prefix, http.dbsc.registrationPath), answered);
      fastify.post(routeUnder(fastify.prefix, http.dbsc.refreshPath), answered);
    }
  },
  { fastify: '5.x', name: 'latchkey' },
);

/**
 * A DBSC path (a full request path, as browsers send it) as a route of the
 * scope the plugin is registered in, whose routes Fastify prefixes.
 */
function routeUnder(prefix: string, path: string): string {
  if (prefix === '') return path;
  if (!path.startsWith(`${prefix}/`)) throw new ConfigError(`dbsc paths must lie under the plugin's prefix ${prefix}: ${path} is outside it`);
  return path.slice(prefix.length);
}

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
    if (!r.ok) return sendFastifyError(reply, r.error);
    request.token = r.claims;
    for (const [name, value] of r.headers) reply.header(name, value);
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
    return sendFastifyTokenResult(reply, await t.refresh(fastifyRequest(request)));
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
    return sendFastifyTokenResult(reply, await t.logout(fastifyRequest(request)));
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
  return sendFastifyTokenResult(reply, { ok: true, response: transport.respond(pair) });
}

/**
 * Token mode: answers a sign-in, once your handler has authenticated the
 * user, with a new token pair. With DPoP on in token mode, the request's
 * `DPoP` proof is checked and the pair bound to its key (`token_type:
 * DPoP`); a refused proof is answered 400 `invalid_dpop_proof` (or
 * `use_dpop_nonce` with a `DPoP-Nonce`).
 *
 * @example
 * ```ts
 * app.post('/auth/login', async (request, reply) => {
 *   const user = await checkPassword(request.body); // yours
 *   return issueTokens(request, reply, transport, { userId: user.id });
 * });
 * ```
 */
export async function issueTokens(request: FastifyRequest, reply: FastifyReply, transport: TokenTransport, input: CreateInput & { userId: string }): Promise<FastifyReply> {
  return sendFastifyTokenResult(reply, await transport.issue(fastifyRequest(request), input));
}
