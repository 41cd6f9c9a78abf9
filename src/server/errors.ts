/**
 * The service's error answers: every error is JSON
 * `{ "error": { "code", "message", "reason"? } }` with its status, whether it
 * comes from a handler, from Fastify (schema, size, media type) or from the
 * engine (store outage, session limit).
 *
 * @module
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LatchkeyError } from '../core/errors.js';
import { toHttpError } from '../http/errors.js';
import { RESERVED_USER_PREFIX } from './context.js';
import type { Metrics } from './metrics.js';

/** An error the API answers as is. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly reason?: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The JSON body of an error. */
export function errorBody(code: string, message: string, reason?: string): { error: { code: string; message: string; reason?: string } } {
  return { error: reason === undefined ? { code, message } : { code, message, reason } };
}

const FASTIFY_CODES: Record<string, [number, string, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'payload_too_large', 'the request body is too large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type', 'the request body must be application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'bad_request', 'the Content-Length does not match the body'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'bad_request', 'the JSON body is empty'],
  // Fastify's parser says no more: JSON syntax, or a prototype-poisoning key it refuses.
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'bad_request', 'the body is not valid JSON, or holds a "__proto__" or "constructor.prototype" key'],
};

/** Installs the JSON error and not-found handlers on the root instance (inherited by every scope). */
export function installErrorHandlers(app: FastifyInstance, metrics: Metrics): void {
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    return reply.code(404).header('cache-control', 'no-store').send(errorBody('not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
  });

  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
    if (err instanceof ApiError) {
      if (err.status === 401 && err.code === 'unauthorized') reply.header('www-authenticate', 'Bearer realm="latchkey"');
      for (const [name, value] of Object.entries(err.headers)) reply.header(name, value);
      return reply.code(err.status).send(errorBody(err.code, err.message, err.reason));
    }
    if (err.validation !== undefined) {
      const first = err.validation[0];
      const where = `${err.validationContext ?? 'body'}${first?.instancePath ?? ''}`;
      const extra = (first?.params as { additionalProperty?: unknown } | undefined)?.additionalProperty;
      const message =
        // The only `not` in the schemas is the reserved prefix (user ids, data keys); say so rather than "must NOT be valid".
        first?.keyword === 'not'
          ? `${where}: names starting with "${RESERVED_USER_PREFIX}" are reserved`
          : first?.keyword === 'additionalProperties' && typeof extra === 'string'
            ? `${where}: unknown field ${JSON.stringify(extra.slice(0, 64))}`
            : err.message;
      return reply.code(400).send(errorBody('bad_request', message));
    }
    const known = err.code !== undefined ? FASTIFY_CODES[err.code] : undefined;
    if (known !== undefined) return reply.code(known[0]).send(errorBody(known[1], known[2]));
    if (err instanceof SyntaxError && err.statusCode === 400) return reply.code(400).send(errorBody('bad_request', 'the body is not valid JSON'));
    if (err instanceof LatchkeyError) {
      if (err.code === 'ERR_STORE_UNAVAILABLE') {
        metrics.storeErrors.inc();
        request.log.warn({ code: err.code }, 'store unavailable');
        return reply.code(503).header('retry-after', '1').send(errorBody('store_unavailable', 'the session store is unavailable; try again shortly'));
      }
      if (err.code === 'ERR_SESSION_LIMIT') return reply.code(409).send(errorBody('session_limit', err.message));
      if (err.code === 'ERR_INVALID_DATA' || err.code === 'ERR_CONFIG') return reply.code(400).send(errorBody('bad_request', err.message));
    }
    const http = toHttpError(err);
    if (http !== null) {
      for (const [name, value] of Object.entries(http.headers)) reply.header(name, value);
      return reply.code(http.status).send(errorBody(http.reason.replace(/-/g, '_'), http.message, http.detail));
    }
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send(errorBody('bad_request', err.message));
    }
    request.log.error({ err: { type: err.name, message: err.message, stack: err.stack } }, 'unexpected error');
    return reply.code(500).send(errorBody('internal', 'an unexpected error occurred; see the service log'));
  });
}
