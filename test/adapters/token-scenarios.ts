/**
 * The token-mode scenario table every adapter runs: a real listening server
 * per carrier (bearer and cookie), driven with plain HTTP requests, checking
 * what a client (or an attacker) sees and what the store behind it holds.
 */
import { expect } from 'vitest';
import type { ManualClock } from '../../src/core/clock.js';
import type { Sessions } from '../../src/core/sessions.js';
import type { AccessTokens } from '../../src/tokens/access.js';
import type { TokenTheftEvent } from '../../src/tokens/refresh.js';
import type { Tokens } from '../../src/tokens/tokens.js';
import { call, cookieHeader, cookieValue, type Call, type Reply } from './support/client.js';
import { LOGOUT } from './support/token-apps.js';

export interface TokenEnv {
  /** The application with the bearer carrier. */
  bearer: string;
  /** The application with the cookie carrier. */
  cookie: string;
  /** The cookie carrier with every opt-in: `refreshCookie.persistent`, `clearSiteData: { storage: true }`. */
  optIn: string;
  tokens: Tokens;
  /** Another engine over the same store (the application's cookie sessions, say), which can end a user's families too. */
  otherEngine: Sessions;
  clock: ManualClock;
  thefts: TokenTheftEvent[];
  /** Signs access tokens with the same keys and issuer for another audience. */
  foreign: AccessTokens;
  /** A user id of its own for this scenario ("log out everywhere" is per user). */
  user: string;
}

export interface TokenScenario {
  name: string;
  run(env: TokenEnv): Promise<void>;
}

/**
 * Client addresses of the throttle scenario, one per run (the adapters' servers trust 127.0.0.1 for
 * X-Forwarded-For), in a range no other scenario uses: a client another scenario made fail a refresh
 * would start the burst with a failure already counted.
 */
let throttledClients = 0;

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const REFRESH = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/;
const ACCESS_COOKIE = '__Host-access';
const REFRESH_COOKIE = '__Secure-refresh';
const CHALLENGE = 'Bearer realm="latchkey"';
const invalid = (description: string): string => `${CHALLENGE}, error="invalid_token", error_description="${description}"`;

interface Pair {
  access_token: string;
  refresh_token: string;
}

async function signIn(base: string, user: string): Promise<Reply> {
  const r = await call(base, `/auth/login?user=${user}`, { method: 'POST' });
  expect(r.status).toBe(200);
  return r;
}

async function bearerPair(env: TokenEnv, user = env.user): Promise<Pair> {
  return (await signIn(env.bearer, user)).body as unknown as Pair;
}

function bearer(token: string): Call {
  return { headers: { authorization: `Bearer ${token}` } };
}

function refreshWith(env: TokenEnv, token: string): Promise<Reply> {
  return call(env.bearer, '/auth/refresh', { json: { grant_type: 'refresh_token', refresh_token: token } });
}

function expectNoSecretIn(r: Reply, ...secrets: string[]): void {
  const all = r.text + JSON.stringify([...r.headers]);
  for (const s of secrets) expect(all).not.toContain(s);
}

/** Changes the `sub` claim of a JWT while keeping its signature. */
function tamper(jwt: string): string {
  const [header, payload, signature] = jwt.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  claims.sub = 'mallory';
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}

/** Both cookies a cookie-carrier answer set, by name. */
function cookiesOf(r: Reply): { access: string; refresh: string } {
  const access = cookieValue(r.setCookies, ACCESS_COOKIE);
  const refresh = cookieValue(r.setCookies, REFRESH_COOKIE);
  expect(access).toMatch(JWT);
  expect(refresh).toMatch(REFRESH);
  return { access: access as string, refresh: refresh as string };
}

export const tokenScenarios: TokenScenario[] = [
  {
    name: 'a valid bearer token reaches the handler with its claims',
    async run(env) {
      const pair = await bearerPair(env);
      const r = await call(env.bearer, '/api/me', bearer(pair.access_token));
      expect(r.status).toBe(200);
      expect(r.body.claims).toMatchObject({ sub: env.user, iss: 'https://auth.example.test', aud: 'api', scope: 'read' });
      expect((r.body.claims as { sid: string }).sid).toMatch(/^[A-Za-z0-9_-]{22}$/);
    },
  },
  {
    name: 'sign-in answers the pair as JSON, uncacheable, with exactly the OAuth fields',
    async run(env) {
      const r = await signIn(env.bearer, env.user);
      expect(Object.keys(r.body).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type']);
      expect(r.body).toMatchObject({ token_type: 'Bearer', expires_in: 300 });
      expect(r.body.access_token).toMatch(JWT);
      expect(r.body.refresh_token).toMatch(REFRESH);
      expect(r.headers.get('cache-control')).toBe('no-store');
      expect(r.headers.get('pragma')).toBe('no-cache');
      expect(r.setCookies).toEqual([]);
    },
  },
  {
    name: 'no token gets 401 with a WWW-Authenticate challenge without an error code',
    async run(env) {
      const r = await call(env.bearer, '/api/me');
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe(CHALLENGE);
      expect(r.body).toMatchObject({ error: 'unauthenticated' });
      const basic = await call(env.bearer, '/api/me', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
      expect(basic.status).toBe(401);
      expect(basic.headers.get('www-authenticate')).toBe(CHALLENGE);
    },
  },
  {
    name: 'a malformed Bearer header gets 400 invalid_request',
    async run(env) {
      const r = await call(env.bearer, '/api/me', { headers: { authorization: 'Bearer two words' } });
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ error: 'invalid_request', detail: 'malformed-authorization' });
      expect(r.headers.get('www-authenticate')).toBe(`${CHALLENGE}, error="invalid_request", error_description="malformed Authorization header"`);
    },
  },
  {
    name: 'an expired access token gets 401 invalid_token, and the token appears nowhere in the answer',
    async run(env) {
      const pair = await bearerPair(env);
      env.clock.advance('11m');
      const r = await call(env.bearer, '/api/me', bearer(pair.access_token));
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe(invalid('the access token expired'));
      expect(r.body).toEqual({ error: 'invalid_token', message: 'the access token expired', detail: 'expired' });
      expectNoSecretIn(r, pair.access_token, pair.access_token.split('.')[2] as string);
    },
  },
  {
    name: 'a tampered access token gets 401 invalid_token',
    async run(env) {
      const pair = await bearerPair(env);
      const forged = tamper(pair.access_token);
      const r = await call(env.bearer, '/api/me', bearer(forged));
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe(invalid('the access token signature is invalid'));
      expect(r.body).toMatchObject({ error: 'invalid_token', detail: 'bad-signature' });
      expectNoSecretIn(r, forged);
    },
  },
  {
    name: 'an access token for another audience gets 401 invalid_token',
    async run(env) {
      const jwt = await env.foreign.sign({ subject: env.user, sessionId: 'A'.repeat(22) });
      const r = await call(env.bearer, '/api/me', bearer(jwt));
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe(invalid('the access token is not meant for this audience'));
      expect(r.body).toMatchObject({ error: 'invalid_token', detail: 'wrong-audience' });
    },
  },
  {
    name: 'a missing scope gets 403 insufficient_scope naming the scope; holding it passes',
    async run(env) {
      const pair = await bearerPair(env);
      const r = await call(env.bearer, '/api/admin', bearer(pair.access_token));
      expect(r.status).toBe(403);
      expect(r.headers.get('www-authenticate')).toBe(
        `${CHALLENGE}, error="insufficient_scope", error_description="the access token lacks a required scope", scope="admin"`,
      );
      expect(r.body).toMatchObject({ error: 'insufficient_scope' });
      const root = await bearerPair(env, `root-${env.user}`);
      const ok = await call(env.bearer, '/api/admin', bearer(root.access_token));
      expect(ok.status).toBe(200);
      expect(ok.body.claims).toMatchObject({ scope: 'read admin' });
    },
  },
  {
    name: 'refresh through a JSON body answers a new pair; the old token converges within the grace window',
    async run(env) {
      const first = await bearerPair(env);
      const r = await refreshWith(env, first.refresh_token);
      expect(r.status).toBe(200);
      expect(Object.keys(r.body).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type']);
      expect(r.headers.get('cache-control')).toBe('no-store');
      const next = r.body as unknown as Pair;
      expect(next.refresh_token).not.toBe(first.refresh_token);
      expect((await call(env.bearer, '/api/live', bearer(next.access_token))).status).toBe(200);
      env.clock.advance('5s');
      // A second tab (or a retried request) with the old token lands on the same successor.
      const again = await refreshWith(env, first.refresh_token);
      expect(again.status).toBe(200);
      expect(again.body.refresh_token).toBe(next.refresh_token);
      expect(env.thefts).toEqual([]);
    },
  },
  {
    name: 'refresh through a form body works too',
    async run(env) {
      const first = await bearerPair(env);
      const r = await call(env.bearer, '/auth/refresh', { form: { grant_type: 'refresh_token', refresh_token: first.refresh_token } });
      expect(r.status).toBe(200);
      expect(r.body.refresh_token).toMatch(REFRESH);
    },
  },
  {
    name: 'reusing a rotated refresh token after the grace window is theft: 401 invalid_grant reused, and the family is dead',
    async run(env) {
      const first = await bearerPair(env);
      const second = (await refreshWith(env, first.refresh_token)).body as unknown as Pair;
      env.clock.advance('11s');
      const stolen = await call(env.bearer, '/auth/refresh', { json: { refresh_token: first.refresh_token }, ip: '198.51.100.9' });
      expect(stolen.status).toBe(401);
      expect(stolen.body).toMatchObject({ error: 'invalid_grant', detail: 'reused' });
      expectNoSecretIn(stolen, first.refresh_token);
      expect(env.thefts).toHaveLength(1);
      expect(env.thefts[0]).toMatchObject({ userId: env.user, ip: '198.51.100.9' });
      // The family's access tokens of every generation are refused (by the default guard too), and its live refresh token is revoked.
      for (const copy of [first.access_token, second.access_token]) {
        const me = await call(env.bearer, '/api/me', bearer(copy));
        expect(me.status).toBe(401);
        expect(me.body).toMatchObject({ error: 'invalid_token', detail: 'revoked' });
      }
      const live = await call(env.bearer, '/api/live', bearer(second.access_token));
      expect(live.status).toBe(401);
      expect(live.body).toMatchObject({ error: 'invalid_token', detail: 'revoked' });
      expect(live.headers.get('www-authenticate')).toBe(invalid('the access token was revoked'));
      const after = await refreshWith(env, second.refresh_token);
      expect(after.status).toBe(401);
      expect(after.body).toMatchObject({ error: 'invalid_grant', detail: 'revoked' });
      env.thefts.length = 0;
    },
  },
  {
    name: 'bad refresh requests get invalid_request: no token, another grant type, a GET',
    async run(env) {
      const pair = await bearerPair(env);
      const none = await call(env.bearer, '/auth/refresh', { json: {} });
      expect(none.status).toBe(400);
      expect(none.body).toMatchObject({ error: 'invalid_request', detail: 'missing' });
      const grant = await call(env.bearer, '/auth/refresh', { json: { grant_type: 'password', refresh_token: pair.refresh_token } });
      expect(grant.status).toBe(400);
      expect(grant.body).toMatchObject({ error: 'invalid_request', detail: 'unsupported-grant-type' });
      const junk = await call(env.bearer, '/auth/refresh', { json: { refresh_token: 'not-a-token' } });
      expect(junk.status).toBe(401);
      expect(junk.body).toMatchObject({ error: 'invalid_grant', detail: 'malformed' });
      // The token still refreshes: nothing above consumed it.
      expect((await refreshWith(env, pair.refresh_token)).status).toBe(200);
    },
  },
  {
    name: 'a burst of invalid refresh tokens from one client is answered 429 throttled with Retry-After; another client still refreshes',
    async run(env) {
      const pair = await bearerPair(env);
      const guesser = `203.0.113.${++throttledClients}`;
      const guess = (): Promise<Reply> =>
        call(env.bearer, '/auth/refresh', { ip: guesser, json: { refresh_token: `${'A'.repeat(21)}${throttledClients % 10}.${'B'.repeat(43)}` } });
      for (let i = 0; i < 20; i++) expect((await guess()).status).toBe(401);
      const refused = await call(env.bearer, '/auth/refresh', { ip: guesser, json: { refresh_token: pair.refresh_token } });
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ error: 'throttled' });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      expectNoSecretIn(refused, pair.refresh_token);
      // The token was not consumed, and the throttle is the guesser's alone.
      expect((await refreshWith(env, pair.refresh_token)).status).toBe(200);
    },
  },
  {
    name: 'logout revokes the family: its refresh token and its session-checked access tokens stop working',
    async run(env) {
      const pair = await bearerPair(env);
      const r = await call(env.bearer, LOGOUT, { json: { refresh_token: pair.refresh_token } });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ revoked: true });
      expect(r.headers.get('clear-site-data')).toBe('"cache"');
      expect(r.headers.get('cache-control')).toBe('no-store');
      expect((await refreshWith(env, pair.refresh_token)).body).toMatchObject({ error: 'invalid_grant', detail: 'revoked' });
      expect((await call(env.bearer, '/api/live', bearer(pair.access_token))).body).toMatchObject({ detail: 'revoked' });
      const twice = await call(env.bearer, LOGOUT, { json: { refresh_token: pair.refresh_token } });
      expect(twice.body).toEqual({ revoked: false });
    },
  },
  {
    name: 'after logout, a copied access token is refused by the default guard (401 invalid_token revoked)',
    async run(env) {
      const pair = await bearerPair(env);
      const copy = pair.access_token;
      expect((await call(env.bearer, '/api/me', bearer(copy))).status).toBe(200);
      expect((await call(env.bearer, LOGOUT, { json: { refresh_token: pair.refresh_token } })).body).toEqual({ revoked: true });
      const r = await call(env.bearer, '/api/me', bearer(copy));
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ error: 'invalid_token', detail: 'revoked' });
      expect(r.headers.get('www-authenticate')).toBe(invalid('the access token was revoked'));
      expectNoSecretIn(r, copy);
    },
  },
  {
    name: 'cookie carrier: after logout, a copied access cookie is refused by the default guard, as a cookie or as a bearer header',
    async run(env) {
      const { access, refresh } = cookiesOf(await signIn(env.cookie, env.user));
      expect((await call(env.cookie, '/api/me', { cookie: cookieHeader(access, ACCESS_COOKIE) })).status).toBe(200);
      expect((await call(env.cookie, LOGOUT, { method: 'POST', cookie: cookieHeader(refresh, REFRESH_COOKIE) })).body).toEqual({ revoked: true });
      const viaCookie = await call(env.cookie, '/api/me', { cookie: cookieHeader(access, ACCESS_COOKIE) });
      expect(viaCookie.status).toBe(401);
      expect(viaCookie.body).toMatchObject({ error: 'invalid_token', detail: 'revoked' });
      const viaHeader = await call(env.cookie, '/api/me', bearer(access));
      expect(viaHeader.status).toBe(401);
      expect(viaHeader.body).toMatchObject({ error: 'invalid_token', detail: 'revoked' });
    },
  },
  {
    name: 'after log out everywhere, copied access tokens of every family and both carriers are refused; another user’s are not',
    async run(env) {
      const viaBearer = await bearerPair(env);
      const viaCookie = cookiesOf(await signIn(env.cookie, env.user)).access;
      const other = await bearerPair(env, `other-${env.user}`);
      expect((await call(env.bearer, '/api/me', bearer(viaBearer.access_token))).status).toBe(200);
      expect((await call(env.cookie, '/api/me', { cookie: cookieHeader(viaCookie, ACCESS_COOKIE) })).status).toBe(200);
      expect(await env.tokens.revokeUser(env.user)).toHaveLength(2);
      const a = await call(env.bearer, '/api/me', bearer(viaBearer.access_token));
      expect(a.status).toBe(401);
      expect(a.body).toMatchObject({ error: 'invalid_token', detail: 'revoked' });
      const b = await call(env.cookie, '/api/me', { cookie: cookieHeader(viaCookie, ACCESS_COOKIE) });
      expect(b.status).toBe(401);
      expect(b.body).toMatchObject({ error: 'invalid_token', detail: 'revoked' });
      expect((await call(env.bearer, '/api/me', bearer(other.access_token))).status).toBe(200);
      // Another engine over the same store logging that user out everywhere ends their families just as well.
      expect(await env.otherEngine.revokeUser(`other-${env.user}`)).toHaveLength(1);
      const c = await call(env.bearer, '/api/me', bearer(other.access_token));
      expect(c.status).toBe(401);
      expect(c.body).toMatchObject({ error: 'invalid_token', detail: 'revoked' });
    },
  },
  {
    name: 'cookie carrier: after theft of the refresh cookie, the family’s copied access cookies of every generation are refused',
    async run(env) {
      const first = cookiesOf(await signIn(env.cookie, env.user));
      const second = cookiesOf(await call(env.cookie, '/auth/refresh', { method: 'POST', cookie: cookieHeader(first.refresh, REFRESH_COOKIE) }));
      for (const access of [first.access, second.access]) expect((await call(env.cookie, '/api/me', { cookie: cookieHeader(access, ACCESS_COOKIE) })).status).toBe(200);
      env.clock.advance('11s');
      const replay = await call(env.cookie, '/auth/refresh', { method: 'POST', cookie: cookieHeader(first.refresh, REFRESH_COOKIE) });
      expect(replay.body).toMatchObject({ error: 'invalid_grant', detail: 'reused' });
      expect(env.thefts).toHaveLength(1);
      for (const access of [first.access, second.access]) {
        const r = await call(env.cookie, '/api/me', { cookie: cookieHeader(access, ACCESS_COOKIE) });
        expect(r.status).toBe(401);
        expect(r.body).toMatchObject({ error: 'invalid_token', detail: 'revoked' });
      }
      env.thefts.length = 0;
    },
  },
  {
    name: 'an access token sent twice (Authorization header and access_token in the query or a form body) gets 400 invalid_request',
    async run(env) {
      const pair = await bearerPair(env);
      const expectTwice = (r: Reply): void => {
        expect(r.status).toBe(400);
        expect(r.body).toMatchObject({ error: 'invalid_request', detail: 'duplicate-token' });
        expect(r.headers.get('www-authenticate')).toBe(`${CHALLENGE}, error="invalid_request", error_description="the access token was sent more than once"`);
        expectNoSecretIn(r, pair.access_token);
      };
      expectTwice(await call(env.bearer, `/api/me?access_token=${pair.access_token}`, bearer(pair.access_token)));
      expectTwice(await call(env.bearer, '/api/me?x=1&access_token=other', bearer(pair.access_token)));
      expectTwice(await call(env.bearer, '/api/me', { ...bearer(pair.access_token), form: { access_token: pair.access_token } }));
      const { access } = cookiesOf(await signIn(env.cookie, env.user));
      expectTwice(await call(env.cookie, `/api/me?access_token=${access}`, bearer(access)));
      // Once is fine, and so is an unrelated parameter or a JSON field of that name.
      expect((await call(env.bearer, '/api/me?access=1', bearer(pair.access_token))).status).toBe(200);
      expect((await call(env.bearer, '/api/me', { ...bearer(pair.access_token), form: { note: 'access_token' } })).status).toBe(200);
      expect((await call(env.bearer, '/api/me', { ...bearer(pair.access_token), json: { access_token: 'linked account' } })).status).toBe(200);
    },
  },
  {
    name: 'an access token of ordinary RS256 size (over 1,050 characters) passes the guard; one over the 8,192-character limit does not',
    async run(env) {
      const pair = await bearerPair(env);
      const sized = async (length: number): Promise<string> => {
        // The family's live session, so that only the size differs from a token it issued.
        const sessionId = (JSON.parse(Buffer.from(pair.access_token.split('.')[1] as string, 'base64url').toString()) as { sid: string }).sid;
        const bare = await env.tokens.access.sign({ subject: env.user, sessionId, claims: { pad: '' } });
        return env.tokens.access.sign({ subject: env.user, sessionId, claims: { pad: 'p'.repeat(Math.ceil(((length - bare.length) * 3) / 4)) } });
      };
      const ordinary = await sized(1100);
      expect(ordinary.length).toBeGreaterThanOrEqual(1050);
      const r = await call(env.bearer, '/api/me', bearer(ordinary));
      expect(r.status).toBe(200);
      expect((r.body.claims as { sub: string }).sub).toBe(env.user);
      const large = await sized(8100);
      expect(large.length).toBeLessThanOrEqual(8192);
      expect((await call(env.bearer, '/api/me', bearer(large))).status).toBe(200);
      const huge = await sized(8300);
      expect(huge.length).toBeGreaterThan(8192);
      const refused = await call(env.bearer, '/api/me', bearer(huge));
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ error: 'invalid_request', detail: 'malformed-authorization' });
    },
  },
  {
    name: 'cookie carrier: sign-in sets both cookies with exactly the secure attributes (a browser-session refresh cookie), uncacheable, and no token in the body',
    async run(env) {
      const r = await signIn(env.cookie, env.user);
      expect(r.body).toEqual({ token_type: 'Bearer', expires_in: 300 });
      const { access, refresh } = cookiesOf(r);
      expect(r.setCookies).toEqual([
        `${ACCESS_COOKIE}=${access}; Max-Age=300; Path=/; HttpOnly; Secure; SameSite=Strict`,
        `${REFRESH_COOKIE}=${refresh}; Path=/auth/refresh; HttpOnly; Secure; SameSite=Strict`,
      ]);
      expect(r.headers.get('cache-control')).toBe('no-store');
      const me = await call(env.cookie, '/api/me', { cookie: cookieHeader(access, ACCESS_COOKIE) });
      expect(me.status).toBe(200);
      expect(me.body.claims).toMatchObject({ sub: env.user });
    },
  },
  {
    name: 'cookie carrier: refresh through the cookie sets both cookies anew',
    async run(env) {
      const first = cookiesOf(await signIn(env.cookie, env.user));
      env.clock.advance('1m');
      const r = await call(env.cookie, '/auth/refresh', { method: 'POST', cookie: cookieHeader(first.refresh, REFRESH_COOKIE) });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ token_type: 'Bearer', expires_in: 300 });
      const next = cookiesOf(r);
      expect(next.refresh).not.toBe(first.refresh);
      expect(r.setCookies).toEqual([
        `${ACCESS_COOKIE}=${next.access}; Max-Age=300; Path=/; HttpOnly; Secure; SameSite=Strict`,
        `${REFRESH_COOKIE}=${next.refresh}; Path=/auth/refresh; HttpOnly; Secure; SameSite=Strict`,
      ]);
      expect(r.headers.get('cache-control')).toBe('no-store');
      expect((await call(env.cookie, '/api/live', { cookie: cookieHeader(next.access, ACCESS_COOKIE) })).status).toBe(200);
    },
  },
  {
    name: 'cookie carrier: a cross-site (or unvouched) POST to the refresh endpoint is refused with 403 and consumes nothing',
    async run(env) {
      const { refresh } = cookiesOf(await signIn(env.cookie, env.user));
      const cookie = cookieHeader(refresh, REFRESH_COOKIE);
      const cases: Array<[Record<string, string>, string]> = [
        [{ 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }, 'csrf-cross-site'],
        [{ 'no-fetch-metadata': '', origin: 'https://evil.example' }, 'csrf-origin-mismatch'],
        [{ 'sec-fetch-site': 'same-site', origin: 'https://sub.example.test' }, 'csrf-origin-mismatch'],
        [{ 'no-fetch-metadata': '' }, 'csrf-origin-mismatch'],
      ];
      for (const [headers, error] of cases) {
        const r = await call(env.cookie, '/auth/refresh', { method: 'POST', cookie, headers });
        expect(r.status).toBe(403);
        expect(r.body).toMatchObject({ error });
        expect(r.setCookies).toEqual([]);
      }
      const ok = await call(env.cookie, '/auth/refresh', { method: 'POST', cookie });
      expect(ok.status).toBe(200);
      expect(env.thefts).toEqual([]);
    },
  },
  {
    name: 'cookie carrier: an unsafe cross-site request authenticated by the access cookie is refused; a bearer one is not',
    async run(env) {
      const { access } = cookiesOf(await signIn(env.cookie, env.user));
      const crossSite = { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' };
      const viaCookie = await call(env.cookie, '/api/me', { method: 'POST', cookie: cookieHeader(access, ACCESS_COOKIE), headers: crossSite });
      expect(viaCookie.status).toBe(403);
      expect(viaCookie.body).toMatchObject({ error: 'csrf-cross-site' });
      const viaHeader = await call(env.cookie, '/api/me', { method: 'POST', headers: { ...crossSite, authorization: `Bearer ${access}` } });
      expect(viaHeader.status).toBe(200);
      const sameOrigin = await call(env.cookie, '/api/me', { method: 'POST', cookie: cookieHeader(access, ACCESS_COOKIE) });
      expect(sameOrigin.status).toBe(200);
    },
  },
  {
    name: 'cookie carrier: logout revokes the family and clears both cookies',
    async run(env) {
      const { access, refresh } = cookiesOf(await signIn(env.cookie, env.user));
      const r = await call(env.cookie, LOGOUT, { method: 'POST', cookie: cookieHeader(refresh, REFRESH_COOKIE) });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ revoked: true });
      expect(r.setCookies).toEqual([
        `${ACCESS_COOKIE}=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict`,
        `${REFRESH_COOKIE}=; Max-Age=0; Path=/auth/refresh; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict`,
      ]);
      expect(r.headers.get('cache-control')).toBe('no-store');
      expect(r.headers.get('clear-site-data')).toBe('"cache"');
      const live = await call(env.cookie, '/api/live', { cookie: cookieHeader(access, ACCESS_COOKIE) });
      expect(live.status).toBe(401);
      expect(live.body).toMatchObject({ error: 'invalid_token', detail: 'revoked' });
      const again = await call(env.cookie, '/auth/refresh', { method: 'POST', cookie: cookieHeader(refresh, REFRESH_COOKIE) });
      expect(again.status).toBe(401);
      expect(again.body).toMatchObject({ error: 'invalid_grant', detail: 'revoked' });
      const crossSite = await call(env.cookie, LOGOUT, { method: 'POST', cookie: cookieHeader(refresh, REFRESH_COOKIE), headers: { 'sec-fetch-site': 'cross-site' } });
      expect(crossSite.status).toBe(403);
    },
  },
  {
    name: 'cookie carrier: a persistent refresh cookie is an opt-in whose Max-Age follows the family deadline, and logout can clear storage too',
    async run(env) {
      const r = await signIn(env.optIn, env.user);
      const { access, refresh } = cookiesOf(r);
      // The family's idle deadline (14 days) comes before its absolute one (30 days).
      expect(r.setCookies).toEqual([
        `${ACCESS_COOKIE}=${access}; Max-Age=300; Path=/; HttpOnly; Secure; SameSite=Strict`,
        `${REFRESH_COOKIE}=${refresh}; Max-Age=1209600; Path=/auth/refresh; HttpOnly; Secure; SameSite=Strict`,
      ]);
      const out = await call(env.optIn, LOGOUT, { method: 'POST', cookie: cookieHeader(refresh, REFRESH_COOKIE) });
      expect(out.body).toEqual({ revoked: true });
      expect(out.headers.get('clear-site-data')).toBe('"cache", "storage"');
    },
  },
];
