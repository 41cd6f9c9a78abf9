/**
 * The OpenAPI 3.1 document of the service, built from the same route table
 * and JSON schemas that Fastify validates requests against.
 *
 * @module
 */
import { API_ROUTES, SCHEMAS, type RouteSpec } from './api.js';

type Json = Record<string, unknown>;

/** The public (no API key) routes, described beside the `/v1` ones. */
export const PUBLIC_ROUTES: readonly RouteSpec[] = [
  {
    method: 'GET',
    url: '/.well-known/jwks.json',
    operationId: 'jwks',
    summary: 'The public keys that verify access tokens (JWKS, RFC 7517).',
    tag: 'tokens',
    auth: false,
    responses: { 200: { description: 'The key set.', schema: { type: 'object', required: ['keys'], properties: { keys: { type: 'array', items: { type: 'object' } } } } } },
  },
  {
    method: 'GET',
    url: '/openapi.json',
    operationId: 'openapi',
    summary: 'This document.',
    tag: 'service',
    auth: false,
    responses: { 200: { description: 'OpenAPI 3.1.', schema: { type: 'object' } } },
  },
  {
    method: 'GET',
    url: '/v1',
    operationId: 'index',
    summary: 'What this is: the service, its version, where its OpenAPI document is and how to authenticate.',
    tag: 'service',
    auth: false,
    responses: {
      200: {
        description: 'The index.',
        schema: {
          type: 'object',
          required: ['service', 'version', 'openapi', 'auth'],
          properties: { service: { const: 'latchkey' }, version: { type: 'string' }, openapi: { type: 'string' }, auth: { type: 'string' } },
        },
      },
    },
  },
  {
    method: 'GET',
    url: '/healthz',
    operationId: 'health',
    summary: 'Liveness: the process is up.',
    tag: 'service',
    auth: false,
    responses: { 200: { description: 'Up.', schema: { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } } } },
  },
  {
    method: 'GET',
    url: '/readyz',
    operationId: 'ready',
    summary: 'Readiness: the store answers.',
    tag: 'service',
    auth: false,
    responses: {
      200: { description: 'Ready.', schema: { type: 'object', required: ['status'], properties: { status: { const: 'ready' } } } },
      503: { description: 'The store does not answer.', schema: { type: 'object', required: ['status'], properties: { status: { const: 'unavailable' } } } },
    },
  },
  {
    method: 'GET',
    url: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics: sessions created, validated and rejected by reason, revocations, token refreshes, store errors, latency histograms.',
    tag: 'service',
    auth: false,
    responses: { 200: { description: 'Prometheus text format 0.0.4.', schema: { type: 'string' }, contentType: 'text/plain; version=0.0.4' } },
  },
];

/** `/v1/sessions/:handle/data` → `/v1/sessions/{handle}/data` */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parameters(route: RouteSpec): Json[] {
  const out: Json[] = [];
  for (const [where, schema] of [
    ['path', route.params],
    ['query', route.querystring],
  ] as const) {
    if (schema === undefined) continue;
    const props = (schema.properties ?? {}) as Record<string, Json>;
    const required = new Set((schema.required ?? []) as string[]);
    for (const [name, s] of Object.entries(props)) {
      const { description, ...rest } = s;
      out.push({ name, in: where, required: where === 'path' || required.has(name), schema: rest, ...(description ? { description } : {}) });
    }
  }
  return out;
}

/** Builds the document. */
export function openApiDocument(options: { version: string }): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of [...API_ROUTES, ...PUBLIC_ROUTES]) {
    const path = openApiPath(route.url);
    const responses: Record<string, Json> = {};
    for (const [status, r] of Object.entries(route.responses)) {
      responses[status] = r.schema === null ? { description: r.description } : { description: r.description, content: { [r.contentType ?? 'application/json']: { schema: r.schema } } };
    }
    const op: Json = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      ...(route.auth ? { security: [{ apiKey: [] }] } : { security: [] }),
      ...(parameters(route).length > 0 ? { parameters: parameters(route) } : {}),
      ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: route.body } } } } : {}),
      responses,
    };
    (paths[path] ??= {})[route.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'latchkey session service',
      version: options.version,
      description:
        'Sessions and token mode over HTTP. Every /v1 call needs an API key (`latchkey apikeys create`) as `Authorization: Bearer <key>`. Errors are `{ "error": { "code", "message" } }`.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    tags: [
      { name: 'sessions', description: 'Server-side sessions: an opaque token for your client, the state here.' },
      { name: 'tokens', description: 'Token mode: a short access JWT and a rotating refresh token.' },
      { name: 'service', description: 'Health, readiness, metrics and this document.' },
    ],
    paths,
    components: {
      schemas: SCHEMAS,
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key made with `latchkey apikeys create`.' } },
    },
  };
}
