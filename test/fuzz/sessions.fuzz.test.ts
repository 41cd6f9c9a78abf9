/**
 * Stateful and sealed sessions under fuzzed requests, through real servers
 * of every adapter: Cookie headers, session tokens in each carrier,
 * Authorization headers, sealed cookies, forwarding headers and form bodies.
 * Whatever arrives, the answer is below 500, nobody is signed in without
 * their own credential (as the carrier decodes it), no presented value is
 * adopted or echoed, and no credential reaches onError or the console.
 */
import fc from 'fast-check';
import { isIP } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64url, closeClient, cookieDecoded, fuzzRuns, fuzzTimeout, headerText, nearMiss, params, send, tally, writeTally, type Sent } from './support/fuzz.js';
import { Leaks, secretParts } from './support/leaks.js';
import { COOKIE, startTargets, type AdapterServers, type Targets } from './support/servers.js';
import { checkAnswer, cookiePairs } from './support/verdicts.js';

const leaks = new Leaks();
let t: Targets;
let secrets: string[];
const users = ['alice', 'bob'] as const;

beforeAll(async () => {
  leaks.captureConsole();
  t = await startTargets(leaks.onError);
  secrets = [...t.tokens, ...t.blobs].flatMap(secretParts);
}, 60_000);
afterAll(async () => {
  await t?.close();
  closeClient();
  leaks.restore();
  writeTally('test/fuzz/sessions.fuzz.test.ts');
});

const server = (): fc.Arbitrary<AdapterServers> => fc.constantFrom(...t.servers);
/** Headers that come with any request: noise for the parsers the case is not about. */
const noise = () =>
  fc.record(
    { 'user-agent': headerText(80), origin: fc.oneof(headerText(40), fc.constant('http://127.0.0.1')), 'sec-fetch-site': fc.constantFrom('same-origin', 'cross-site', 'none', 'same-site', '') },
    { requiredKeys: [] },
  );

/** Sends a case, checks what every answer must be, and returns the user it signed in as (or null). */
async function run(base: string, r: Sent, presented: string[], parser: string): Promise<string | null> {
  tally(parser);
  const mark = leaks.mark();
  const answer = await send(base, r);
  checkAnswer(`${parser} ${r.method} ${base}${r.path}`, answer, { presented, secrets, leaks, mark, cookies: [COOKIE] });
  const user = answer.json?.userId;
  return typeof user === 'string' ? user : null;
}

/** Without headers Node refuses to send (empty values are dropped). */
function clean(h: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

describe('stateful and sealed sessions under fuzzed requests, through every adapter', () => {
  const cookieRuns = fuzzRuns(400);
  it('a fuzzed Cookie header signs nobody in unless one of its session cookies decodes to that user\'s own credential', async () => {
    const pair = (valid: readonly string[]) =>
      fc.oneof(
        { weight: 3, arbitrary: fc.tuple(fc.constantFrom(COOKIE, '__host-session', '__Host-session ', ' __Host-session', '__Host-session.1'), nearMiss(valid)).map(([n, v]) => `${n}=${v}`) },
        { weight: 2, arbitrary: fc.tuple(headerText(20), headerText(60)).map(([n, v]) => `${n}=${v}`) },
        { weight: 1, arbitrary: headerText(60) },
      );
    const cookieHeader = (valid: readonly string[]) =>
      fc.tuple(fc.array(pair(valid), { minLength: 1, maxLength: 5 }), fc.constantFrom('; ', ';', ' ; ', ',', ';\t')).map(([pairs, sep]) => pairs.join(sep));
    await fc.assert(
      fc.asyncProperty(fc.boolean().chain((sealed) => fc.tuple(fc.constant(sealed), cookieHeader(sealed ? t.blobs : t.tokens))), server(), async ([sealed, header], s) => {
        const valid = sealed ? t.blobs : t.tokens;
        const user = await run(sealed ? s.sealed : s.stateful, { method: 'GET', path: '/me', headers: clean({ cookie: header }) }, cookiePairs(header).map((p) => p[1]), 'Cookie header (stateful and sealed)');
        if (user !== null) {
          const own = valid[users.indexOf(user as 'alice')];
          expect(cookiePairs(header).some(([n, v]) => n === COOKIE && cookieDecoded(v.split(';')[0] as string) === own), `signed in as ${user} with ${header}`).toBe(true);
        }
      }),
      params(cookieRuns),
    );
  }, fuzzTimeout(cookieRuns, 3));

  const tokenRuns = fuzzRuns(600);
  it('a fuzzed session token in any carrier (cookie, bearer, URL, form) is accepted only when it is the token itself', async () => {
    await fc.assert(
      fc.asyncProperty(server(), fc.constantFrom('cookie', 'bearer', 'url', 'form'), nearMiss(t.tokens), noise(), async (s, carrier, value, extra) => {
        const r: Sent = { method: 'GET', path: '/me', headers: clean({ ...extra }) };
        let decoded: string;
        if (carrier === 'cookie') {
          r.headers.cookie = `${COOKIE}=${value}`;
          decoded = cookieDecoded(value.split(';')[0] as string);
        } else if (carrier === 'bearer') {
          r.headers.authorization = `Bearer ${value}`;
          decoded = value.replace(/^ +/, '').replace(/[ \t]+$/, '');
        } else if (carrier === 'url') {
          const q = `session=${encodeURIComponent(value)}`;
          r.path = `/me?${q}`;
          decoded = new URLSearchParams(q).get('session') ?? '';
        } else {
          r.method = 'POST';
          r.path = '/form';
          r.headers['content-type'] = 'application/x-www-form-urlencoded';
          r.headers['sec-fetch-site'] = 'same-origin';
          r.body = `session=${encodeURIComponent(value)}`;
          decoded = new URLSearchParams(r.body).get('session') ?? '';
        }
        const user = await run(s.stateful, r, [value], 'session token (cookie, bearer, URL and form carriers)');
        if (user !== null) expect(decoded, `${carrier} ${JSON.stringify(value)} signed in as ${user}`).toBe(t.tokens[users.indexOf(user as 'alice')]);
      }),
      params(tokenRuns),
    );
  }, fuzzTimeout(tokenRuns, 3));

  const bearerRuns = fuzzRuns(400);
  it('a fuzzed Authorization header signs nobody in unless it is "Bearer" and that user\'s own token', async () => {
    const scheme = fc.constantFrom('Bearer ', 'bearer ', 'BEARER  ', 'Bearer\t', 'Basic ', 'Bearer', '', 'Token ', 'Bearer  x ');
    const header = fc.oneof(
      fc.tuple(scheme, nearMiss(t.tokens)).map(([a, b]) => a + b),
      headerText(120),
      fc.tuple(scheme, b64url(100)).map(([a, b]) => a + b),
    );
    await fc.assert(
      fc.asyncProperty(server(), header, async (s, authorization) => {
        const user = await run(s.stateful, { method: 'GET', path: '/me', headers: clean({ authorization }) }, [authorization.replace(/^\S*\s*/, '')], 'Authorization header (bearer carrier)');
        if (user !== null) {
          const m = /^bearer +(\S+)[ \t]*$/i.exec(authorization.trim());
          expect(m?.[1], `${JSON.stringify(authorization)} signed in as ${user}`).toBe(t.tokens[users.indexOf(user as 'alice')]);
        }
      }),
      params(bearerRuns),
    );
  }, fuzzTimeout(bearerRuns, 3));

  const sealedRuns = fuzzRuns(600);
  it('a fuzzed sealed cookie opens only when it is the sealed value itself', async () => {
    const chunked = fc.tuple(fc.integer({ min: 0, max: 120 }), nearMiss(t.blobs), b64url(40)).map(([n, v, rest]) => ({ first: `${n}.${v}`, rest }));
    await fc.assert(
      fc.asyncProperty(server(), fc.oneof({ weight: 4, arbitrary: nearMiss(t.blobs).map((first) => ({ first, rest: null as string | null })) }, { weight: 1, arbitrary: chunked }), noise(), async (s, blob, extra) => {
        const cookie = blob.rest === null ? `${COOKIE}=${blob.first}` : `${COOKIE}=${blob.first}; ${COOKIE}.1=${blob.rest}`;
        const method = extra['sec-fetch-site'] === 'same-origin' ? 'POST' : 'GET';
        const user = await run(s.sealed, { method, path: '/me', headers: clean({ ...extra, cookie }) }, [blob.first], 'sealed cookie (blob and chunks)');
        if (user !== null) expect(cookieDecoded(blob.first.split(';')[0] as string), `${cookie} opened as ${user}`).toBe(t.blobs[users.indexOf(user as 'alice')]);
      }),
      params(sealedRuns),
    );
  }, fuzzTimeout(sealedRuns, 3));

  const forwardedRuns = fuzzRuns(400);
  it('fuzzed Forwarded and X-Forwarded-For headers resolve to the peer or to an IP address the header names', async () => {
    const ip = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('127.0.0.1', '::ffff:10.1.2.3', 'unknown', '_hidden', '[::1]:80', '10.0.0.1:443'));
    const xff = fc.array(fc.oneof(ip, headerText(20)), { minLength: 1, maxLength: 6 }).map((hops) => hops.join(', '));
    const forwardedElement = fc.oneof(
      fc.tuple(ip, fc.boolean()).map(([a, q]) => (q ? `for="${a.includes(':') && !a.startsWith('[') ? `[${a}]` : a}"` : `for=${a}`)),
      fc.tuple(ip, headerText(20)).map(([a, r]) => `for=${a};proto=https;${r}`),
      headerText(30),
    );
    const forwarded = fc.array(forwardedElement, { minLength: 1, maxLength: 5 }).map((e) => e.join(', '));
    await fc.assert(
      fc.asyncProperty(server(), fc.boolean(), fc.oneof(xff, forwarded, headerText(100)), async (s, sealed, value) => {
        tally('Forwarded / X-Forwarded-For');
        const mark = leaks.mark();
        const answer = await send(sealed ? s.sealed : s.stateful, { method: 'GET', path: '/client', headers: clean({ [s.proxyHeader]: value }) });
        checkAnswer(`forwarded ${JSON.stringify(value)}`, answer, { presented: [], secrets, leaks, mark });
        const resolved = answer.json?.ip;
        expect(typeof resolved).toBe('string');
        const unescaped = value.replace(/\\/g, '');
        if (resolved !== '127.0.0.1') {
          expect(isIP(resolved as string), `${JSON.stringify(value)} resolved to ${String(resolved)}`).not.toBe(0);
          expect(unescaped.toLowerCase().includes((resolved as string).toLowerCase()), `${JSON.stringify(value)} resolved to ${String(resolved)}`).toBe(true);
        }
      }),
      params(forwardedRuns),
    );
  }, fuzzTimeout(forwardedRuns, 3));

  const formRuns = fuzzRuns(400);
  it('fuzzed form bodies (fields, encodings, content types) sign nobody in unless the session field is that user\'s token', async () => {
    const field = fc.oneof(
      { weight: 2, arbitrary: nearMiss(t.tokens).map((v) => ['session', v] as [string, string]) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom('_csrf', 'csrf', 'access_token', 'session[]', 'Session'), headerText(60)) },
      { weight: 2, arbitrary: fc.tuple(headerText(20), headerText(60)) },
    );
    const encode = (pairs: Array<[string, string]>, raw: boolean): string => pairs.map(([k, v]) => (raw ? `${k}=${v}` : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)).join('&');
    const contentType = fc.constantFrom('application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8', 'APPLICATION/X-WWW-FORM-URLENCODED', 'multipart/form-data; boundary=x', 'application/json', 'text/plain', '');
    await fc.assert(
      fc.asyncProperty(server(), fc.array(field, { maxLength: 5 }), fc.boolean(), contentType, fc.constantFrom('POST', 'PUT', 'DELETE', 'PATCH'), async (s, pairs, raw, type, method) => {
        const body = encode(pairs, raw);
        const presented = pairs.map((p) => p[1]);
        const user = await run(s.stateful, { method, path: '/form', headers: clean({ 'content-type': type, 'sec-fetch-site': 'same-origin' }), body }, presented, 'form body (form carrier and CSRF field)');
        if (user !== null) {
          expect(/^application\/x-www-form-urlencoded\b/i.test(type), `${type} body ${body} signed in as ${user}`).toBe(true);
          expect(new URLSearchParams(body).getAll('session'), `body ${body} signed in as ${user}`).toContain(t.tokens[users.indexOf(user as 'alice')]);
        }
      }),
      params(formRuns),
    );
  }, fuzzTimeout(formRuns, 3));

  it('still serves the valid credentials afterwards, in every adapter', async () => {
    for (const s of t.servers) {
      expect((await send(s.stateful, { method: 'GET', path: '/me', headers: { cookie: `${COOKIE}=${t.tokens[0]}` } })).json?.userId).toBe('alice');
      expect((await send(s.stateful, { method: 'GET', path: '/me', headers: { authorization: `Bearer ${t.tokens[1]}` } })).json?.userId).toBe('bob');
      expect((await send(s.sealed, { method: 'GET', path: '/me', headers: { cookie: `${COOKIE}=${t.blobs[1]}` } })).json?.userId).toBe('bob');
    }
  });
});
