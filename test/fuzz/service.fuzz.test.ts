/**
 * The session service (`createService`, listening on a real port) under
 * fuzzed requests: JSON bodies of every `/v1` route (shaped like the schema
 * with hostile values, or anything at all), path parameters, API keys, and
 * the form bodies of the dashboard's and the demo's sign-in. No 5xx, every
 * refusal in the JSON error format, no forged or altered credential
 * accepted (session token, refresh token, access token, API key, admin
 * password), and no credential in an answer's refusal or the service's
 * JSON log.
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../src/server/api.js';
import { loadConfig } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';
import { b64url, closeClient, fuzzRuns, fuzzTimeout, headerText, expiresAt, nearMiss, params, percent, send, tally, writeTally, type Answer, type Sent } from './support/fuzz.js';
import { Leaks, secretParts } from './support/leaks.js';
import { checkAnswer } from './support/verdicts.js';

const PASSWORD = 'fuzz-admin-password-0123';
const leaks = new Leaks();
let service: Service;
let base: string;
let dir: string;
let key: string;
/** Valid credentials of alice: a session token, a refresh token, an access token. */
let token: string;
let handle: string;
let refresh: string;
let jwt: string;
let secrets: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-fuzz-service-'));
  const config = loadConfig({ flags: { port: '0', store: 'memory:', dataDir: dir, adminPassword: PASSWORD, logLevel: 'debug' }, env: {} });
  service = await createService(config, { logStream: leaks.stream });
  base = await service.listen();
  key = (await service.ctx.apiKeys.create('fuzz')).key;
  const created = await send(base, { method: 'POST', path: '/v1/sessions', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ userId: 'alice' }) });
  token = created.json?.token as string;
  handle = (created.json?.session as { handle: string }).handle;
  const pair = await send(base, { method: 'POST', path: '/v1/tokens', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ userId: 'alice' }) });
  refresh = pair.json?.refreshToken as string;
  jwt = pair.json?.accessToken as string;
  secrets = [key, PASSWORD, ...[token, refresh, jwt].flatMap(secretParts), key.slice(-43)];
}, 60_000);
afterAll(async () => {
  await service?.close();
  closeClient();
  writeTally('test/fuzz/service.fuzz.test.ts');
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** Hostile strings: unicode, lone surrogates, reserved prefixes, prototype names, long ones. */
const str = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', 'latchkey:apikeys', 'latchkey:demo:alice', '__proto__', 'constructor', 'prototype', 'toString', 'x'.repeat(257), '\u0000', '\ud800'),
);
const json = fc.jsonValue({ maxDepth: 3 });
/** A value nested `depth` arrays deep, as text (JSON.stringify would recurse). */
const deep = fc.integer({ min: 100, max: 20_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`);
const num = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -1, 1000, 1001, 2 ** 53, 1e308));
const client = fc.oneof({ weight: 4, arbitrary: fc.record({ ip: fc.oneof(str, fc.ipV4(), fc.ipV6()), userAgent: str }, { requiredKeys: [] }) }, { weight: 1, arbitrary: json });
const data = fc.oneof({ weight: 4, arbitrary: fc.dictionary(str, json, { maxKeys: 5 }) }, { weight: 1, arbitrary: json });

/** A body shaped like each route's schema, every field optional, plus any JSON at all. */
function bodyOf(operationId: string): fc.Arbitrary<Record<string, unknown> | unknown> {
  const shapes: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
    createSession: fc.record({ userId: str, data, client, authLevel: num }, { requiredKeys: [] }),
    validateSession: fc.record({ token: nearMiss([token]), client }, { requiredKeys: [] }),
    rotateSession: fc.record({ token: nearMiss([token]), client, userId: str, authenticated: json, authLevel: num }, { requiredKeys: [] }),
    patchSessionData: fc.record({ set: data, unset: fc.oneof(fc.array(str, { maxLength: 4 }), json) }, { requiredKeys: [] }),
    issueTokens: fc.record({ userId: str, scope: str, data, client }, { requiredKeys: [] }),
    refreshTokens: fc.record({ refreshToken: nearMiss([refresh]), client }, { requiredKeys: [] }),
    revokeRefreshToken: fc.record({ refreshToken: nearMiss([refresh]) }, { requiredKeys: [] }),
    introspectToken: fc.record({ token: nearMiss([jwt]), token_type_hint: str }, { requiredKeys: [] }),
  };
  const shaped = shapes[operationId] ?? fc.constant({});
  return fc.oneof({ weight: 6, arbitrary: shaped }, { weight: 1, arbitrary: fc.tuple(shaped, str, json).map(([b, k, v]) => ({ ...b, [k]: v })) }, { weight: 1, arbitrary: json });
}

/** The field of session data a route takes, where deep nesting can reach the engine. */
const DATA_FIELD: Record<string, string> = { createSession: 'data', issueTokens: 'data', patchSessionData: 'set' };

/** The request text of a body: JSON, or JSON with a hostile twist. */
const bodyText = (operationId: string, body: fc.Arbitrary<unknown>): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 8, arbitrary: body.map((b) => JSON.stringify(b)) },
    {
      weight: 1,
      arbitrary: fc.tuple(body, deep).map(([b, d]) => {
        const o = b !== null && typeof b === 'object' && !Array.isArray(b) ? { ...b, [DATA_FIELD[operationId] ?? 'data']: {} } : {};
        return JSON.stringify(o).replace('{}', `{"a":${d}}`);
      }),
    },
    { weight: 1, arbitrary: fc.tuple(body, fc.nat()).map(([b, n]) => JSON.stringify(b).slice(0, n % 40)) },
    { weight: 1, arbitrary: fc.constantFrom('{"__proto__":{"admin":true},"userId":"u"}', '{"constructor":{"prototype":{"x":1}},"userId":"u"}', 'null', '[]', '""', '{"userId":"u","userId":"latchkey:apikeys"}') },
  );

/** A path percent-decoded, or as it is when it does not decode. */
function decoded(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

const routePath = (url: string): fc.Arbitrary<string> =>
  fc
    .record({
      // Node's client refuses to send spaces and control characters in a path: those are percent-encoded, the rest goes raw.
      handle: fc.oneof(nearMiss([handle]).map((h) => h.replace(/[^\x21-\xff]/g, percent)), b64url(22), headerText(30).map(percent), fc.constant('%E0%A4%A')),
      userId: fc.oneof(str.map(percent), fc.constant('alice'), headerText(20).map((s) => s.replace(/[^\x21-\x7e]/g, '%'))),
      except: fc.option(fc.oneof(b64url(22), str.map(percent)), { nil: undefined }),
    })
    .map((p) => url.replace(':handle', p.handle).replace(':userId', p.userId) + (p.except !== undefined && url.endsWith('/sessions') && url.includes(':userId') ? `?except=${p.except}` : ''));

describe('the session service under fuzzed requests', () => {
  const apiRuns = fuzzRuns(800);
  it('answers every fuzzed /v1 request below 500 in its error format, and accepts no credential but the one issued', async () => {
    const request = fc.constantFrom(...API_ROUTES).chain((route) =>
      fc.record({
        route: fc.constant(route),
        path: routePath(route.url),
        body: bodyText(route.operationId, bodyOf(route.operationId)),
        auth: fc.oneof({ weight: 8, arbitrary: fc.constant(`Bearer ${key}`) }, { weight: 1, arbitrary: nearMiss([key], '_').map((k) => `Bearer ${k}`) }, { weight: 1, arbitrary: headerText(80) }),
        type: fc.oneof({ weight: 8, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: fc.constantFrom('application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'application/json;;', '') }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(request, async ({ route, path, body, auth, type }) => {
        let parsed: Record<string, unknown> = {};
        try {
          const v: unknown = JSON.parse(body);
          if (v !== null && typeof v === 'object' && !Array.isArray(v)) parsed = v as Record<string, unknown>;
        } catch {
          parsed = {};
        }
        // Operations that would end the credentials the other cases are measured against.
        if (route.operationId === 'rotateSession') fc.pre(parsed.token !== token);
        if (route.operationId === 'refreshTokens' || route.operationId === 'revokeRefreshToken') fc.pre(parsed.refreshToken !== refresh);
        // As the router reads the path: a percent-encoded character of the handle is the handle.
        if (route.operationId === 'revokeSession') fc.pre(!decoded(path).includes(handle));
        if (route.operationId === 'revokeUserSessions') fc.pre(!decoded(path).includes('/users/alice/'));
        tally('service API request (JSON body, path, API key)');
        const r: Sent = { method: route.method, path, headers: Object.fromEntries(Object.entries({ authorization: auth, 'content-type': type }).filter(([, v]) => v !== '')) };
        if (route.method !== 'GET' && route.method !== 'DELETE') r.body = body;
        // The credentials presented (an error may well quote a user id or a field name, never these).
        const presented = [auth.replace(/^Bearer /, ''), parsed.token, parsed.refreshToken].filter((v): v is string => typeof v === 'string');
        const mark = leaks.mark();
        const answer: Answer = await send(base, r);
        checkAnswer(`${route.operationId} ${path} ${body.slice(0, 200)}`, answer, { presented, secrets, leaks, mark });
        // A request line Node's HTTP parser refuses (raw non-ASCII in the path) never reaches the service: Fastify answers it in its own format.
        const parserRefusal = answer.status === 400 && answer.json?.message === 'Client Error';
        if (answer.status >= 400 && !parserRefusal) expect(typeof (answer.json?.error as { code?: unknown } | undefined)?.code, `${answer.status} ${answer.text.slice(0, 200)}`).toBe('string');
        if (answer.status < 400 && auth !== `Bearer ${key}`) expect.fail(`${auth} was taken for an API key`);
        if (route.operationId === 'validateSession' && answer.json?.valid === true) expect(parsed.token).toBe(token);
        if (route.operationId === 'introspectToken' && answer.json?.active === true) expect(parsed.token).toBe(jwt);
        if (route.operationId === 'rotateSession' || route.operationId === 'refreshTokens') expect(answer.status).not.toBe(200);
        if (route.operationId === 'revokeRefreshToken' && answer.status === 200) expect(answer.json?.revoked).toBe(false);
      }),
      params(apiRuns),
    );
  }, fuzzTimeout(apiRuns, 4));

  const formRuns = fuzzRuns(300);
  it('answers fuzzed sign-in forms of the dashboard and the demo below 500, and signs the admin in only with the password', async () => {
    const field = fc.oneof(fc.tuple(fc.constantFrom('username', 'password', 'user', '_csrf'), fc.oneof(str, nearMiss([PASSWORD], '-'), fc.constant('admin'))), fc.tuple(str, str));
    const form = fc.array(field, { maxLength: 4 }).map((pairs) => pairs.map(([k, v]) => `${percent(k)}=${percent(v)}`).join('&'));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/admin/login', '/demo/login', '/admin/logout', '/demo/logout-everywhere', '/demo/reauth'), fc.oneof(form, headerText(100)), fc.constantFrom('same-origin', 'cross-site', ''), async (path, body, site) => {
        tally('service sign-in form');
        const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', 'x-forwarded-for': '203.0.113.9' };
        if (site !== '') headers['sec-fetch-site'] = site;
        const mark = leaks.mark();
        const answer = await send(base, { method: 'POST', path, headers, body });
        const form = new URLSearchParams(body);
        // The sign-in page shows the user name typed back (even a password typed there); the log never holds the password.
        const password = form.get('password') ?? '';
        checkAnswer(`${path} ${body}`, answer, { presented: (form.get('username') ?? '').includes(password) ? [] : [password], secrets: secrets.filter((x) => x !== PASSWORD), leaks, mark });
        expect(leaks.holding([PASSWORD], mark)).toEqual([]);
        if (path === '/admin/login' && answer.status === 303 && answer.headers.location === '/admin') expect(form.get('password')).toBe(PASSWORD);
      }),
      params(formRuns),
    );
  }, fuzzTimeout(formRuns, 4));

  it('still serves the credentials it issued afterwards', async () => {
    const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    expect((await send(base, { method: 'POST', path: '/v1/sessions/validate', headers: auth, body: JSON.stringify({ token }) })).json?.valid).toBe(true);
    // Unless a long run (npm run fuzz) outlived the access token's 5 minutes.
    const live = Date.now() < expiresAt(jwt);
    expect((await send(base, { method: 'POST', path: '/v1/tokens/introspect', headers: auth, body: JSON.stringify({ token: jwt }) })).json?.active).toBe(live);
    expect((await send(base, { method: 'POST', path: '/v1/tokens/refresh', headers: auth, body: JSON.stringify({ refreshToken: refresh }) })).status).toBe(200);
  });
});
