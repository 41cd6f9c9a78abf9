/**
 * Token mode under fuzzed requests, through real servers of every adapter
 * (bearer and cookie transport): access tokens (JWTs) in the Authorization
 * header and the access cookie, the classic JWT forgeries, and the bodies
 * and cookies of the refresh and logout endpoints. No 5xx, no forged or
 * altered token accepted, no refresh or logout with anything but the
 * refresh token itself, and no credential in an answer's refusal, onError
 * or the console.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64url, closeClient, cookieDecoded, expiresAt, fuzzRuns, fuzzTimeout, headerText, nearMiss, params, send, tally, writeTally, type Sent } from './support/fuzz.js';
import { classicForgeries } from './support/forgeries.js';
import { Leaks, secretParts } from './support/leaks.js';
import { ACCESS_COOKIE, LOGOUT, REFRESH_COOKIE, startTargets, type AdapterServers, type Targets } from './support/servers.js';
import { checkAnswer } from './support/verdicts.js';

const leaks = new Leaks();
let t: Targets;
let secrets: string[];
let forgeries: string[];
const users = ['alice', 'bob'] as const;

beforeAll(async () => {
  leaks.captureConsole();
  t = await startTargets(leaks.onError);
  secrets = [...t.jwts, ...t.refreshTokens].flatMap(secretParts);
  forgeries = [...(await classicForgeries(t.jwts[0], t.jwts[1], t.tokenMode.jwks())), ...(await classicForgeries(t.jwts[1], t.jwts[0], t.tokenMode.jwks()))];
}, 60_000);
afterAll(async () => {
  await t?.close();
  closeClient();
  leaks.restore();
  writeTally('test/fuzz/tokens.fuzz.test.ts');
});

const server = (): fc.Arbitrary<AdapterServers> => fc.constantFrom(...t.servers);
const clean = (h: Record<string, string | undefined>): Record<string, string> => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined && v !== '')) as Record<string, string>;

async function run(parser: string, base: string, r: Sent, presented: string[]): Promise<{ status: number; json: Record<string, unknown> | null }> {
  tally(parser);
  const mark = leaks.mark();
  const answer = await send(base, r);
  checkAnswer(`${parser} ${r.method} ${base}${r.path}`, answer, { presented, secrets, leaks, mark, cookies: [ACCESS_COOKIE, REFRESH_COOKIE] });
  return answer;
}

/** The JWT parts of two tokens mixed part by part. */
const mixed = (): fc.Arbitrary<string> =>
  fc.tuple(fc.nat({ max: 1 }), fc.nat({ max: 1 }), fc.nat({ max: 1 })).map(([a, b, c]) => {
    const parts = t.jwts.map((j) => j.split('.'));
    return [parts[a]![0], parts[b]![1], parts[c]![2]].join('.');
  });

describe('token mode under fuzzed requests, through every adapter', () => {
  const jwtRuns = fuzzRuns(500);
  it('no altered, mixed or forged access token passes the guard, in the Authorization header or the access cookie', async () => {
    const jwt = fc.oneof({ weight: 6, arbitrary: nearMiss(t.jwts) }, { weight: 2, arbitrary: mixed() }, { weight: 3, arbitrary: fc.constantFrom(...forgeries) }, { weight: 1, arbitrary: fc.tuple(b64url(60), b64url(200), b64url(86)).map((p) => p.join('.')) });
    await fc.assert(
      fc.asyncProperty(server(), fc.boolean(), jwt, fc.constantFrom('GET', 'POST'), fc.constantFrom('', '?access_token=x', '?a=1'), async (s, cookie, value, method, query) => {
        const r: Sent = cookie
          ? { method, path: `/api/me${query}`, headers: clean({ cookie: `${ACCESS_COOKIE}=${value}`, 'sec-fetch-site': 'same-origin' }) }
          : { method, path: `/api/me${query}`, headers: clean({ authorization: `Bearer ${value}` }) };
        const answer = await run('access token JWT (guard: header and cookie)', cookie ? s.cookieTokens : s.bearerTokens, r, [value]);
        if (answer.status === 200) {
          const sub = (answer.json?.claims as { sub?: string } | undefined)?.sub;
          const own = t.jwts[users.indexOf(sub as 'alice')] as string;
          // As the carrier reads it: cookie values decoded; `Bearer` takes any number of spaces before the token.
          const presented = cookie ? cookieDecoded(value.split(';')[0] as string) : value.replace(/^ +/, '').replace(/[ \t]+$/, '');
          expect(presented, `${JSON.stringify(value)} passed as ${String(sub)}`).toBe(own);
        }
      }),
      params(jwtRuns),
    );
  }, fuzzTimeout(jwtRuns, 3));

  const headerRuns = fuzzRuns(400);
  it('a fuzzed Authorization header never gets past the guard, and a malformed one is a 400 or 401', async () => {
    await fc.assert(
      fc.asyncProperty(server(), fc.oneof(headerText(300), fc.tuple(fc.constantFrom('Bearer ', 'bearer  ', 'Bearer\t', 'Basic ', 'DPoP '), headerText(200)).map(([a, b]) => a + b)), async (s, authorization) => {
        const answer = await run('Authorization header (token guard)', s.bearerTokens, { method: 'GET', path: '/api/me', headers: clean({ authorization }) }, [authorization]);
        expect([400, 401]).toContain(answer.status);
      }),
      params(headerRuns),
    );
  }, fuzzTimeout(headerRuns, 3));

  const refreshRuns = fuzzRuns(500);
  it('fuzzed refresh and logout bodies and cookies rotate or revoke nothing unless they carry the refresh token itself', async () => {
    const field = nearMiss(t.refreshTokens);
    // Arbitrary bodies present no credential: a body parser's error may quote them (Express 4's does), as is its right.
    const body = fc.oneof(
      fc.tuple(field, fc.option(fc.constantFrom('refresh_token', 'password', '', 'REFRESH_TOKEN'), { nil: undefined })).map(([v, g]) => ({
        type: 'application/json',
        text: JSON.stringify({ refresh_token: v, ...(g !== undefined ? { grant_type: g } : {}) }),
        value: v,
        decoded: v,
      })),
      fc.tuple(field, fc.boolean()).map(([v, raw]) => {
        const text = raw ? `grant_type=refresh_token&refresh_token=${v}` : `refresh_token=${encodeURIComponent(v)}`;
        return { type: 'application/x-www-form-urlencoded', text, value: v, decoded: new URLSearchParams(text).get('refresh_token') ?? '' };
      }),
      fc.tuple(fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain', 'application/merge-patch+json', ''), fc.oneof(headerText(200), fc.jsonValue().map((j) => JSON.stringify(j)))).map(([type, text]) => ({ type, text, value: '', decoded: '' })),
    );
    await fc.assert(
      fc.asyncProperty(server(), fc.boolean(), fc.boolean(), body, field, async (s, logout, cookie, b, cookieValue) => {
        const path = logout ? LOGOUT : '/auth/refresh';
        let r: Sent;
        let decoded: string;
        if (cookie) {
          decoded = cookieDecoded(cookieValue.split(';')[0] as string);
          r = { method: 'POST', path, headers: clean({ cookie: `${REFRESH_COOKIE}=${cookieValue}`, 'sec-fetch-site': 'same-origin' }) };
        } else {
          decoded = b.decoded;
          r = { method: 'POST', path, headers: clean({ 'content-type': b.type }), body: b.text };
        }
        // The refresh token itself would rotate (and later count as reused): the property is about everything else.
        fc.pre(!t.refreshTokens.includes(decoded));
        const answer = await run('refresh body (refresh and logout endpoints)', cookie ? s.cookieTokens : s.bearerTokens, r, [cookie ? cookieValue : b.value]);
        if (logout) expect(answer.status === 200 ? answer.json?.revoked : false, `${JSON.stringify(r)} revoked a family`).toBe(false);
        else expect(answer.status, `${JSON.stringify(r)} refreshed`).not.toBe(200);
      }),
      params(refreshRuns),
    );
  }, fuzzTimeout(refreshRuns, 3));

  it('still accepts the valid tokens afterwards, in every adapter', async () => {
    // Unless a long run (npm run fuzz) outlived the access token's 5 minutes.
    const live = Date.now() < expiresAt(t.jwts[1]);
    for (const s of t.servers) {
      const answer = await send(s.bearerTokens, { method: 'GET', path: '/api/me', headers: { authorization: `Bearer ${t.jwts[1]}` } });
      expect(answer.status).toBe(live ? 200 : 401);
      if (live) expect((answer.json?.claims as { sub?: string } | undefined)?.sub).toBe('bob');
    }
    for (const token of t.refreshTokens) expect((await t.tokenMode.refresh(token)).ok).toBe(true);
  });
});
