/**
 * Fastify 5 adapter: a plugin that puts the request-scoped session on
 * `request.session`, commits it in `onSend`, and answers latchkey's refusals
 * (401, 403, 429, 503) as JSON.
 *
 * @module
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { HttpRequest, HttpSessionsOptions } from '../http/http-sessions.js';
import { createHttpSessions } from '../http/http-sessions.js';
import type { HttpError } from '../http/errors.js';
import { toHttpError } from '../http/errors.js';
import type { RequestSession } from '../http/request-session.js';
import { MAX_FORM_BYTES } from '../http/node.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** latchkey's session of this request; `await request.session.load()` before reading it. */
    session: RequestSession;
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

  fastify.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const session = request.session;
    if (session === null || !session.dirty) return payload;
    try {
      await session.commit();
    } catch (err) {
      const known = toHttpError(err);
      if (known === null) throw err;
      reply.code(known.status);
      for (const [name, value] of Object.entries(known.headers)) reply.header(name, value);
      reply.header('content-type', 'application/json; charset=utf-8');
      reply.header('cache-control', 'no-store');
      reply.removeHeader('content-length');
      return JSON.stringify(known.body());
    }
    for (const [name, value] of session.responseHeaders()) reply.header(name, value);
    return payload;
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
    formField: async (name) => {
      const body = request.body;
      if (body === null || typeof body !== 'object' || !Object.hasOwn(body, name)) return undefined;
      const v = (body as Record<string, unknown>)[name];
      return typeof v === 'string' ? v : undefined;
    },
  };
}

function sendError(reply: FastifyReply, err: HttpError): FastifyReply {
  return reply
    .code(err.status)
    .headers({ ...err.headers, 'cache-control': 'no-store' })
    .type('application/json; charset=utf-8')
    .send(err.body());
}
