/**
 * The service's error answers: every error is JSON
 * `{ "error": { "code", "message", "reason"? } }` with its status, whether it
 * comes from a handler, from Fastify (schema, size, media type) or from the
 * engine (store outage, session limit). Every one is an `HttpError` first, so
 * the service speaks the HTTP layer's vocabulary: `code` is the error's
 * `reason` (`store-unavailable`, `session-invalid`...), `reason` its `detail`
 * (why a token was refused), and `Retry-After` follows the HTTP layer's one
 * policy.
 *
 * @module
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LatchkeyError, LatchkeyTypeError } from '../core/errors.js';
import { HttpError, toHttpError, type HttpReason } from '../http/errors.js';
import type { Metrics } from './metrics.js';

/**
 * Every `error.code` the `/v1` API answers with, in the one spelling of the
 * HTTP layer (`HttpReason`): kebab-case, but RFC 6749's `invalid_grant`.
 * The OpenAPI document lists them; `latchkey/client` calls them
 * `ServiceErrorCode`.
 */
export const SERVICE_ERROR_CODES = [
  'bad-request',
  'unauthorized',
  'session-invalid',
  'invalid_grant',
  'invalid_dpop_proof',
  'not-found',
  'conflict',
  'session-limit',
  'payload-too-large',
  'unsupported-media-type',
  'throttled',
  'internal',
  'store-unavailable',
] as const satisfies readonly HttpReason[];

/** The JSON body of an error answer. */
export interface ErrorBody {
  readonly error: { readonly code: HttpReason; readonly message: string; readonly reason?: string };
}

/**
 * The body the service answers `err` with.
 *
 * @example
 * ```ts
 * errorBody(new HttpError(404, 'not-found', { message: 'no active session with this handle' }));
 * // { error: { code: 'not-found', message: 'no active session with this handle' } }
 * ```
 */
export function errorBody(err: HttpError): ErrorBody {
  return { error: err.detail === undefined ? { code: err.reason, message: err.message } : { code: err.reason, message: err.message, reason: err.detail } };
}

/** An API refusal: an `HttpError` with the service's message (and, for refused tokens, why as `detail`; extra answer headers such as `DPoP-Nonce`). */
export function apiError(status: number, reason: HttpReason, message: string, detail?: string, headers?: Record<string, string>): HttpError {
  return new HttpError(status, reason, { message, ...(detail === undefined ? {} : { detail }), ...(headers === undefined ? {} : { headers }) });
}

const FASTIFY_CODES: Record<string, [number, HttpReason, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'payload-too-large', 'the request body is too large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported-media-type', 'the request body must be application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'bad-request', 'the Content-Length does not match the body'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'bad-request', 'the JSON body is empty'],
  // Fastify's parser says no more: JSON syntax, or a prototype-poisoning key it refuses.
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'bad-request', 'the body is not valid JSON, or holds a "__proto__" or "constructor.prototype" key'],
};

/** What the service answers for `err`, as an `HttpError`, or `null` for an unexpected error (500). */
export function asApiError(err: FastifyError): HttpError | null {
  if (err instanceof HttpError) return err;
  if (err.validation !== undefined) {
    const first = err.validation[0];
    const where = `${err.validationContext ?? 'body'}${first?.instancePath ?? ''}`;
    const extra = (first?.params as { additionalProperty?: unknown } | undefined)?.additionalProperty;
    const message =
      first?.keyword === 'additionalProperties' && typeof extra === 'string' ? `${where}: unknown field ${JSON.stringify(extra.slice(0, 64))}` : err.message;
    return apiError(400, 'bad-request', message);
  }
  const known = err.code !== undefined ? FASTIFY_CODES[err.code] : undefined;
  if (known !== undefined) return apiError(...known);
  if (err instanceof SyntaxError && err.statusCode === 400) return apiError(400, 'bad-request', 'the body is not valid JSON');
  // A store outage (503, Retry-After) or a session limit (409), as every adapter answers them.
  const http = toHttpError(err);
  if (http !== null) return http;
  // Data or an argument the engine refused: the caller's request, not the service, is at fault.
  if (err instanceof LatchkeyTypeError || (err instanceof LatchkeyError && (err.code === 'ERR_INVALID_DATA' || err.code === 'ERR_CONFIG'))) {
    return apiError(400, 'bad-request', err.message);
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) return apiError(err.statusCode, 'bad-request', err.message);
  return null;
}

/** Installs the JSON error and not-found handlers on the root instance (inherited by every scope). */
export function installErrorHandlers(app: FastifyInstance, metrics: Metrics): void {
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const err = apiError(404, 'not-found', `no route ${request.method} ${request.url.split('?')[0]}`);
    return reply.code(404).header('cache-control', 'no-store').send(errorBody(err));
  });

  app.setErrorHandler((e: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
    const err = asApiError(e);
    if (err === null) {
      request.log.error({ err: { type: e.name, message: e.message, stack: e.stack } }, 'unexpected error');
      return reply.code(500).send(errorBody(apiError(500, 'internal', 'an unexpected error occurred; see the service log')));
    }
    if (err.reason === 'store-unavailable') {
      metrics.storeErrors.inc();
      request.log.warn({ code: 'ERR_STORE_UNAVAILABLE' }, 'store unavailable');
    }
    if (err.status === 401 && err.reason === 'unauthorized') reply.header('www-authenticate', 'Bearer realm="latchkey"');
    for (const [name, value] of Object.entries(err.headers)) reply.header(name, value);
    return reply.code(err.status).send(errorBody(err));
  });
}
