// The service's OpenAPI document: it is valid OpenAPI 3.1, it describes
// exactly the routes the server registers (the /v1 API and the public
// routes), and real answers of the server match the statuses and schemas it
// documents.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The server's routes that are not part of the API: the index page, the dashboard and the demo site (HTML). */
const NOT_API = (url: string): boolean => url === '/' || url === '/*' || /^\/(admin|demo)(\/|$)/.test(url);

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

let service: Service;
let base: string;
let apiKey: string;
let dataDir: string;
let doc: Json;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'latchkey-openapi-'));
  const config = loadConfig({ flags: { port: '0', store: 'memory:', dataDir, adminPassword: 'correct horse battery', logLevel: 'silent' }, env: {} });
  service = await createService(config);
  base = await service.listen();
  apiKey = (await service.ctx.apiKeys.create('openapi-test')).key;
  const r = await fetch(`${base}/openapi.json`);
  expect(r.status).toBe(200);
  doc = (await r.json()) as Json;
});

afterAll(async () => {
  await service?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** `METHOD /path/{param}` of every operation of the document. */
function documentedOperations(): string[] {
  const out: string[] = [];
  for (const [path, item] of Object.entries(doc.paths as Json)) {
    for (const method of Object.keys(item as Json)) if (METHODS.includes(method)) out.push(`${method.toUpperCase()} ${path}`);
  }
  return out.sort();
}

/** `METHOD /path/{param}` of every route the server answers, from the service's own route list. */
function servedOperations(): string[] {
  const out = new Set<string>();
  for (const { method, url } of service.routes) {
    if (NOT_API(url) || method === 'HEAD' || method === 'OPTIONS') continue;
    out.add(`${method} ${url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
  }
  return [...out].sort();
}

function operation(operationId: string): { method: string; path: string; op: Json } {
  for (const [path, item] of Object.entries(doc.paths as Json)) {
    for (const [method, op] of Object.entries(item as Json)) if ((op as Json).operationId === operationId) return { method: method.toUpperCase(), path, op: op as Json };
  }
  throw new Error(`no operation ${operationId} in the document`);
}

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator({ strict: false });
    const result = await validator.validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
  });

  it('describes exactly the /v1 and public routes the server registers', () => {
    const served = servedOperations();
    expect(served.length).toBeGreaterThanOrEqual(15);
    expect(documentedOperations()).toEqual(served);
  });

  it('lists the routes of the API contract', () => {
    expect(documentedOperations()).toEqual(
      [
        'POST /v1/sessions',
        'POST /v1/sessions/validate',
        'POST /v1/sessions/rotate',
        'PATCH /v1/sessions/{handle}/data',
        'DELETE /v1/sessions/{handle}',
        'GET /v1/users/{userId}/sessions',
        'DELETE /v1/users/{userId}/sessions',
        'POST /v1/tokens',
        'POST /v1/tokens/refresh',
        'POST /v1/tokens/revoke',
        'POST /v1/tokens/introspect',
        'GET /v1/events',
        'GET /.well-known/jwks.json',
        'GET /v1',
        'GET /openapi.json',
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
      ].sort(),
    );
  });

  it('puts every /v1 operation behind the bearer API key, and none of the public ones', () => {
    expect(doc.components.securitySchemes).toEqual({ apiKey: expect.objectContaining({ type: 'http', scheme: 'bearer' }) });
    for (const [path, item] of Object.entries(doc.paths as Json)) {
      for (const op of Object.values(item as Json)) {
        const security = (op as Json).security ?? doc.security ?? [];
        if (path.startsWith('/v1/')) {
          expect({ path, security }).toEqual({ path, security: [{ apiKey: [] }] });
          expect(Object.keys((op as Json).responses)).toContain('401');
        } else expect({ path, security }).toEqual({ path, security: [] });
      }
    }
  });

  it('gives every operation a unique operationId, a summary and path parameters that match its path', () => {
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths as Json)) {
      for (const op of Object.values(item as Json) as Json[]) {
        expect(ids.has(op.operationId)).toBe(false);
        ids.add(op.operationId);
        expect(typeof op.summary).toBe('string');
        const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
        const declared = ((op.parameters ?? []) as Json[]).filter((p) => p.in === 'path').map((p) => p.name).sort();
        expect({ path, declared }).toEqual({ path, declared: inPath });
        for (const p of (op.parameters ?? []) as Json[]) if (p.in === 'path') expect(p.required).toBe(true);
      }
    }
  });

  it('is what the client of latchkey/client calls: the same method names', async () => {
    const { createClient } = await import('../../src/client/index.js');
    const client = createClient({ baseUrl: base, apiKey });
    const ids = documentedOperations().map((o) => {
      const [method, path] = o.split(' ') as [string, string];
      return (doc.paths[path][method.toLowerCase()] as Json).operationId as string;
    });
    const clientMethods = Object.keys(client).filter((k) => typeof (client as unknown as Json)[k] === 'function');
    // Every documented operation but the document itself, the index and the metrics has a client method of the same name.
    expect(ids.filter((id) => id !== 'openapi' && id !== 'metrics' && id !== 'index').sort()).toEqual(clientMethods.sort());
  });
});

describe('the server answers as documented', () => {
  // Compiles the documented schemas (OpenAPI 3.1 = JSON Schema 2020-12) with the Ajv the validator itself uses.
  const require = createRequire(import.meta.resolve('@seriousme/openapi-schema-validator'));
  const Ajv2020 = require('ajv/dist/2020').default as new (options: Json) => { compile(schema: Json): ((data: unknown) => boolean) & { errors?: unknown } };
  let resolved: Json;
  let ajv: InstanceType<typeof Ajv2020>;

  beforeAll(() => {
    const validator = new Validator({ strict: false });
    resolved = validator.resolveRefs({ specification: doc }) as Json;
    ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  });

  /** Sends one request and checks that the document lists its status for the operation, with a schema its body matches. */
  async function conforms(operationId: string, request: { params?: Record<string, string>; query?: string; body?: unknown; key?: string | null; raw?: string; contentType?: string }): Promise<{ status: number; body: unknown }> {
    const { method, path } = operation(operationId);
    const op = resolved.paths[path][method.toLowerCase()] as Json;
    const url = base + path.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(request.params?.[name] ?? '')) + (request.query ?? '');
    const headers: Record<string, string> = {};
    const key = request.key === undefined ? apiKey : request.key;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    let payload: string | undefined = request.raw;
    if (payload === undefined && request.body !== undefined) payload = JSON.stringify(request.body);
    if (payload !== undefined) headers['content-type'] = request.contentType ?? 'application/json';
    const response = await fetch(url, { method, headers, body: payload });
    const text = await response.text();
    const documented = op.responses[String(response.status)] as Json | undefined;
    expect({ operationId, status: response.status, documented: documented !== undefined }).toEqual({ operationId, status: response.status, documented: true });
    const content = documented?.content as Json | undefined;
    if (content === undefined) {
      expect(text).toBe('');
      return { status: response.status, body: undefined };
    }
    const [type, media] = Object.entries(content)[0] as [string, Json];
    expect(response.headers.get('content-type')?.split(';')[0]).toBe(type.split(';')[0]);
    const body = type.startsWith('application/json') ? JSON.parse(text) : text;
    const validate = ajv.compile(media.schema as Json);
    const ok = validate(body);
    expect({ operationId, status: response.status, body, errors: ok ? null : validate.errors }).toEqual({ operationId, status: response.status, body, errors: null });
    return { status: response.status, body };
  }

  const UNKNOWN_HANDLE = 'AAAAAAAAAAAAAAAAAAAAAA';
  const UNKNOWN_TOKEN = `${UNKNOWN_HANDLE}.${'B'.repeat(43)}`;

  it('for the session operations', async () => {
    const created = await conforms('createSession', { body: { userId: 'doc-user', data: { a: 1 }, client: { ip: '203.0.113.5', userAgent: 'curl/8.5.0' } } });
    expect(created.status).toBe(201);
    const { token, session } = created.body as { token: string; session: { handle: string } };
    await conforms('createSession', { body: { userId: 'doc-user', nope: 1 } });
    await conforms('createSession', { body: { userId: 'doc-user' }, key: null });
    await conforms('createSession', { raw: 'userId=x', contentType: 'application/x-www-form-urlencoded' });
    await conforms('createSession', { body: { userId: 'doc-user', data: { blob: 'x'.repeat(140_000) } } });

    expect((await conforms('validateSession', { body: { token } })).body).toMatchObject({ valid: true });
    expect((await conforms('validateSession', { body: { token: UNKNOWN_TOKEN } })).body).toEqual({ valid: false, reason: 'unknown' });
    await conforms('validateSession', { body: {} });

    expect((await conforms('patchSessionData', { params: { handle: session.handle }, body: { set: { b: 2 }, unset: ['a'] } })).status).toBe(200);
    expect((await conforms('patchSessionData', { params: { handle: UNKNOWN_HANDLE }, body: { set: { b: 2 } } })).status).toBe(404);
    expect((await conforms('patchSessionData', { params: { handle: 'bad' }, body: {} })).status).toBe(400);

    const rotated = await conforms('rotateSession', { body: { token } });
    expect(rotated.status).toBe(200);
    expect((await conforms('rotateSession', { body: { token } })).status).toBe(401);
    expect((await conforms('rotateSession', { body: { token: 'x' } })).status).toBe(401);

    expect((await conforms('listUserSessions', { params: { userId: 'doc-user' } })).status).toBe(200);
    expect((await conforms('listUserSessions', { params: { userId: 'u'.repeat(257) } })).status).toBe(400);

    const newHandle = (rotated.body as { session: { handle: string } }).session.handle;
    expect((await conforms('revokeSession', { params: { handle: newHandle } })).status).toBe(204);
    expect((await conforms('revokeSession', { params: { handle: newHandle } })).status).toBe(404);
    expect((await conforms('revokeSession', { params: { handle: 'bad' } })).status).toBe(400);

    expect((await conforms('revokeUserSessions', { params: { userId: 'doc-user' }, query: `?except=${UNKNOWN_HANDLE}` })).status).toBe(200);
    expect((await conforms('revokeUserSessions', { params: { userId: 'doc-user' }, query: '?except=bad' })).status).toBe(400);
    // The feed now holds the revocation just made.
    const feed = (await conforms('listSecurityEvents', { query: '?limit=5' })).body as { events: Array<{ kind: string; handle: string | null }> };
    expect(feed.events.some((e) => e.kind === 'revoked' && e.handle === newHandle)).toBe(true);
    expect((await conforms('listSecurityEvents', { query: '?limit=0' })).status).toBe(400);
    expect((await conforms('listSecurityEvents', { query: '?limit=201' })).status).toBe(400);
  });

  it('for the token operations and the public routes', async () => {
    const issued = await conforms('issueTokens', { body: { userId: 'doc-user', scope: 'read' } });
    expect(issued.status).toBe(201);
    const { refreshToken } = issued.body as { refreshToken: string };
    await conforms('issueTokens', { body: { scope: 'read' } });
    const refreshed = await conforms('refreshTokens', { body: { refreshToken } });
    expect(refreshed.status).toBe(200);
    const { accessToken } = refreshed.body as { accessToken: string };
    expect((await conforms('introspectToken', { body: { token: accessToken } })).body).toMatchObject({ active: true, sub: 'doc-user', scope: 'read' });
    expect((await conforms('introspectToken', { body: { token: 'garbage' } })).body).toEqual({ active: false });
    expect((await conforms('introspectToken', { body: {} })).status).toBe(400);
    expect((await conforms('introspectToken', { body: { token: accessToken }, key: null })).status).toBe(401);
    expect((await conforms('refreshTokens', { body: { refreshToken: 'garbage' } })).status).toBe(401);
    expect((await conforms('revokeRefreshToken', { body: { refreshToken: (refreshed.body as { refreshToken: string }).refreshToken } })).body).toEqual({ revoked: true });
    expect((await conforms('revokeRefreshToken', { body: {} })).status).toBe(400);
    // Signed out: the family's access token is no longer active.
    expect((await conforms('introspectToken', { body: { token: accessToken } })).body).toEqual({ active: false });

    for (const id of ['jwks', 'openapi', 'health', 'ready', 'metrics']) expect((await conforms(id, { key: null })).status).toBe(200);
  });
});
