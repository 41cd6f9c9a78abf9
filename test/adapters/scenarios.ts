/**
 * The scenario table every adapter runs. Each scenario drives a real
 * listening server with plain HTTP requests and checks what a browser (or an
 * attacker) would see, plus the store behind it.
 */
import { expect } from 'vitest';
import type { ManualClock } from '../../src/core/clock.js';
import type { Sessions } from '../../src/core/sessions.js';
import { call, cookieHeader, cookieValue, type Call, type Reply } from './support/client.js';
import type { TestStore } from './support/store.js';

/** How the server keeps sessions: the engine and a store, or sealed in the cookie (with a store for revocation). */
export type Mode = 'stateful' | 'sealed';
export const MODES: readonly Mode[] = ['stateful', 'sealed'];

export interface Env {
  url: string;
  mode: Mode;
  /** The store behind the engine (stateful) or behind sealed mode's revocation records (sealed). */
  store: TestStore;
  clock: ManualClock;
  /** The engine; `null` in sealed mode, which has none. */
  sessions: Sessions | null;
  /** A client IP of its own for this scenario (sent through the trusted proxy header). */
  ip: string;
}

export interface Scenario {
  name: string;
  /**
   * The modes the scenario runs in; every mode when absent. A scenario is
   * limited to `['stateful']` only when what it checks cannot exist in
   * sealed mode, and says why next to this field.
   */
  modes?: readonly Mode[];
  run(env: Env): Promise<void>;
}

const TOKEN = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/;
/** A sealed session blob (one cookie): base64url, well over 43 characters. */
const SEALED = /^[A-Za-z0-9_-]{60,}$/;

/** What a session cookie's value looks like in this mode. */
function tokenPattern(env: Env): RegExp {
  return env.mode === 'stateful' ? TOKEN : SEALED;
}

/** The engine, in scenarios (or parts of them) that run in stateful mode only. */
function engine(env: Env): Sessions {
  if (env.sessions === null) throw new Error('this check needs the stateful engine');
  return env.sessions;
}
const SECURE_ATTRS = '; Max-Age=43200; Path=/; HttpOnly; Secure; SameSite=Lax';
const CLEARED = '__Host-latchkey=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax';

function req(env: Env, path: string, c: Call = {}): Promise<Reply> {
  return call(env.url, path, { ip: env.ip, ...c });
}

async function signIn(env: Env, user: string, cookie?: string): Promise<string> {
  const r = await req(env, `/login?user=${user}`, { method: 'POST', cookie });
  expect(r.status).toBe(200);
  const token = cookieValue(r.setCookies);
  expect(token).toMatch(tokenPattern(env));
  return token as string;
}

async function me(env: Env, token: string | null): Promise<Reply> {
  return req(env, '/me', { cookie: token === null ? null : cookieHeader(token) });
}

export const scenarios: Scenario[] = [
  {
    name: 'a request that never touches the session reads nothing and sets no cookie',
    async run(env) {
      const token = await signIn(env, 'lazy');
      const before = env.store.reads + env.store.writes;
      const r = await req(env, '/health', { cookie: cookieHeader(token) });
      expect(r.status).toBe(200);
      expect(r.setCookies).toEqual([]);
      expect(env.store.reads + env.store.writes).toBe(before);
    },
  },
  {
    name: 'reading a valid session writes nothing and sets no cookie',
    async run(env) {
      const token = await signIn(env, 'reader');
      const writes = env.store.writes;
      const r = await me(env, token);
      expect(r.body).toMatchObject({ userId: 'reader', carrier: 'cookie' });
      expect(r.setCookies).toEqual([]);
      expect(env.store.writes).toBe(writes);
    },
  },
  {
    name: 'login sets a __Host- cookie with exactly the secure attributes',
    async run(env) {
      const r = await req(env, '/login?user=alice', { method: 'POST' });
      expect(r.status).toBe(200);
      expect(r.setCookies).toHaveLength(1);
      const value = env.mode === 'stateful' ? '[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}' : '[A-Za-z0-9_-]{60,}';
      expect(r.setCookies[0]).toMatch(new RegExp(`^__Host-latchkey=${value}${SECURE_ATTRS.replace(/[.;/]/g, '\\$&')}$`));
    },
  },
  {
    name: 'a pre-planted cookie value is never adopted (fixation)',
    async run(env) {
      const planted = `${'A'.repeat(22)}.${'B'.repeat(43)}`;
      const anon = await me(env, planted);
      if (env.mode === 'stateful') {
        expect(anon.body).toMatchObject({ handle: null, userId: null, invalid: 'unknown' });
        expect(anon.setCookies).toEqual([CLEARED]);
      } else {
        // The planted value has the shape of a chunked session (`<count>.<part>`): every part a session may have is deleted.
        expect(anon.body).toMatchObject({ handle: null, userId: null, invalid: 'malformed' });
        expect(anon.setCookies[0]).toBe(CLEARED);
        for (const line of anon.setCookies) expect(line).toMatch(/^__Host-latchkey(\.\d+)?=; Max-Age=0;/);
      }
      const token = await signIn(env, 'victim', cookieHeader(planted));
      expect(token).not.toBe(planted);
      expect(token.slice(0, 22)).not.toBe('A'.repeat(22));
      if (env.mode === 'stateful') expect(await engine(env).get('A'.repeat(22))).toBeNull();
    },
  },
  {
    name: 'login issues a new token, kills the old one and keeps anonymous data',
    async run(env) {
      const set = await req(env, '/set?key=cart&value=3', { method: 'POST' });
      const anonymous = cookieValue(set.setCookies);
      expect(anonymous).toMatch(tokenPattern(env));
      const token = await signIn(env, 'bob', cookieHeader(anonymous as string));
      expect(token).not.toBe(anonymous);
      const now = await me(env, token);
      expect(now.body).toMatchObject({ userId: 'bob', data: { cart: '3' } });
      const old = await me(env, anonymous);
      expect(old.body).toMatchObject({ userId: null, invalid: 'revoked' });
    },
  },
  {
    name: 'the client IP (through the trusted proxy) and user agent reach the engine; a forged hop does not',
    // Stateful only: the devices list (client IP and user agent per session) is server state; sealed sessions record no client.
    modes: ['stateful'],
    async run(env) {
      const ua = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
      const r = await call(env.url, '/login?user=mallory-target', {
        method: 'POST',
        headers: { 'user-agent': ua, 'x-forwarded-for': `6.6.6.6, ${env.ip}` },
      });
      expect(r.status).toBe(200);
      const [device] = await engine(env).list('mallory-target');
      expect(device).toMatchObject({ ip: env.ip, userAgent: ua, device: { browser: 'Firefox', os: 'Linux' } });
    },
  },
  {
    name: 'logout kills the session on the server and expires the cookie',
    async run(env) {
      const token = await signIn(env, 'carol');
      const handle = token.slice(0, 22);
      const r = await req(env, '/logout', { method: 'POST', cookie: cookieHeader(token) });
      expect(r.status).toBe(200);
      expect(r.setCookies).toEqual([CLEARED]);
      if (env.mode === 'stateful') expect(await engine(env).get(handle)).toBeNull();
      const replay = await me(env, token);
      expect(replay.body).toMatchObject({ userId: null, invalid: 'revoked' });
    },
  },
  {
    name: 'sign out everywhere revokes every session of the user',
    async run(env) {
      const laptop = await signIn(env, 'dave');
      const phone = await signIn(env, 'dave');
      const other = await signIn(env, 'erin');
      const r = await req(env, '/logout-everywhere', { method: 'POST', cookie: cookieHeader(laptop) });
      // Sealed mode cannot count the user's other sessions (they live in their cookies): it answers 1, this one.
      expect(r.body).toEqual({ revoked: env.mode === 'stateful' ? 2 : 1 });
      expect(r.setCookies).toEqual([CLEARED]);
      expect((await me(env, phone)).body).toMatchObject({ userId: null });
      expect((await me(env, other)).body).toMatchObject({ userId: 'erin' });
    },
  },
  {
    name: 'an idle session expires on the server (injected clock)',
    async run(env) {
      const token = await signIn(env, 'idle');
      env.clock.advance('29m');
      expect((await me(env, token)).body).toMatchObject({ userId: 'idle' });
      env.clock.advance('31m');
      const r = await me(env, token);
      expect(r.body).toMatchObject({ userId: null, invalid: 'expired-idle' });
      expect(r.setCookies).toEqual([CLEARED]);
    },
  },
  {
    name: 'an active session still ends at the absolute timeout, following renewed cookies',
    async run(env) {
      let token = await signIn(env, 'busy');
      let renewed = 0;
      for (let elapsed = 0; elapsed < 11 * 60; elapsed += 20) {
        env.clock.advance('20m');
        const r = await me(env, token);
        expect(r.body).toMatchObject({ userId: 'busy' });
        const next = cookieValue(r.setCookies);
        if (next !== null) {
          // Renewal keeps the absolute deadline: Max-Age shrinks.
          expect(Number(/Max-Age=(\d+)/.exec(r.setCookies[0] as string)?.[1])).toBeLessThan(43200);
          token = next;
          renewed++;
        }
      }
      expect(renewed).toBeGreaterThan(5);
      env.clock.advance('61m');
      const r = await me(env, token);
      expect(r.body).toMatchObject({ userId: null, invalid: 'expired-absolute' });
    },
  },
  {
    name: 'a cross-site POST is refused with 403 and a reason code',
    async run(env) {
      const token = await signIn(env, 'frank');
      const cross = await req(env, '/form', {
        form: { x: '1' },
        cookie: cookieHeader(token),
        headers: { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
      });
      expect(cross.status).toBe(403);
      expect(cross.body).toMatchObject({ error: 'csrf-cross-site' });
      const foreign = await req(env, '/form', {
        form: { x: '1' },
        cookie: cookieHeader(token),
        headers: { 'no-fetch-metadata': '1', origin: 'https://evil.example' },
      });
      expect(foreign.status).toBe(403);
      expect(foreign.body).toMatchObject({ error: 'csrf-origin-mismatch' });
      const setAttempt = await req(env, '/set?key=x&value=y', { method: 'POST', cookie: cookieHeader(token), headers: { 'sec-fetch-site': 'cross-site' } });
      expect(setAttempt.status).toBe(403);
      expect((await me(env, token)).body).toMatchObject({ data: {} });
    },
  },
  {
    name: 'a same-site form POST is accepted with the CSRF token and refused without it',
    async run(env) {
      const token = await signIn(env, 'grace');
      const csrf = (await me(env, token)).body.csrf as string;
      expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const sameSite = { 'sec-fetch-site': 'same-site', origin: 'https://blog.example.test' };
      const ok = await req(env, '/form', { form: { _csrf: csrf, title: 'hi' }, cookie: cookieHeader(token), headers: sameSite });
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ userId: 'grace' });
      const missing = await req(env, '/form', { form: { title: 'hi' }, cookie: cookieHeader(token), headers: sameSite });
      expect(missing.status).toBe(403);
      expect(missing.body).toMatchObject({ error: 'csrf-token-missing' });
      const wrong = await req(env, '/form', { form: { _csrf: 'x'.repeat(43) }, cookie: cookieHeader(token), headers: sameSite });
      expect(wrong.body).toMatchObject({ error: 'csrf-token-invalid' });
      const spa = await req(env, '/form', { method: 'POST', cookie: cookieHeader(token), headers: { 'no-fetch-metadata': '1', 'x-csrf-token': csrf } });
      expect(spa.status).toBe(200);
    },
  },
  {
    name: '50 concurrent requests setting different keys of one session lose none',
    // Stateful only: merging concurrent patches needs the session on the server; each sealed request re-seals its own copy, the last cookie wins.
    modes: ['stateful'],
    async run(env) {
      const token = await signIn(env, 'heidi');
      // Latency makes the 50 read-modify-write cycles overlap, as they would against a network store.
      env.store.latencyMs = 3;
      let replies: Reply[];
      try {
        replies = await Promise.all(
          Array.from({ length: 50 }, (_, i) => req(env, `/set?key=k${i}&value=${i}`, { method: 'POST', cookie: cookieHeader(token) })),
        );
      } finally {
        env.store.latencyMs = 0;
      }
      for (const r of replies) {
        expect(r.status).toBe(200);
        expect(r.setCookies).toEqual([]);
      }
      const data = (await me(env, token)).body.data as Record<string, string>;
      expect(Object.keys(data)).toHaveLength(50);
      for (let i = 0; i < 50; i++) expect(data[`k${i}`]).toBe(String(i));
    },
  },
  {
    name: 'a store outage answers 503 store-unavailable, then recovers by itself',
    async run(env) {
      const token = await signIn(env, 'ivan');
      env.store.down = true;
      try {
        const read = await me(env, token);
        expect(read.status).toBe(503);
        expect(read.body).toMatchObject({ error: 'store-unavailable' });
        const write = await req(env, '/set?key=a&value=1', { method: 'POST', cookie: cookieHeader(token) });
        expect(write.status).toBe(503);
        expect(write.body).toMatchObject({ error: 'store-unavailable' });
        expect(write.setCookies).toEqual([]);
        const login = await req(env, '/login?user=ivan', { method: 'POST' });
        expect(login.status).toBe(503);
      } finally {
        env.store.down = false;
      }
      expect((await me(env, token)).body).toMatchObject({ userId: 'ivan', data: {} });
    },
  },
  {
    name: 'repeated invalid tokens from one client are throttled with 429 and Retry-After',
    // Stateful only: the throttle is the engine's guessing defence; a sealed blob cannot be guessed (AES-GCM) and there is no engine.
    modes: ['stateful'],
    async run(env) {
      const anomalies: string[] = [];
      const off = engine(env).on('anomaly', (e) => {
        if (e.kind === 'invalid-token-burst') anomalies.push(e.ip);
      });
      try {
        let last: Reply | null = null;
        for (let i = 0; i < 8; i++) {
          last = await me(env, `${String(i).padStart(22, 'Q')}.${'Z'.repeat(43)}`);
          if (last.status === 429) break;
        }
        expect(last?.status).toBe(429);
        expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(last?.body).toMatchObject({ error: 'throttled' });
        expect(anomalies).toContain(env.ip);
      } finally {
        off();
        env.clock.advance('2m');
      }
    },
  },
  {
    name: 'a sensitive route answers "re-authentication required" once the sign-in is stale',
    async run(env) {
      const token = await signIn(env, 'judy');
      expect((await req(env, '/sensitive', { cookie: cookieHeader(token) })).status).toBe(200);
      env.clock.advance('6m');
      const stale = await req(env, '/sensitive', { cookie: cookieHeader(token) });
      expect(stale.status).toBe(401);
      expect(stale.body).toMatchObject({ error: 'reauth-required' });
      const anonymous = await req(env, '/sensitive');
      expect(anonymous.body).toMatchObject({ error: 'unauthenticated' });
      const step = await req(env, '/rotate', { method: 'POST', cookie: cookieHeader(token) });
      const fresh = cookieValue(step.setCookies) as string;
      expect(fresh).toMatch(tokenPattern(env));
      expect(fresh).not.toBe(token);
      expect((await req(env, '/sensitive', { cookie: cookieHeader(fresh) })).status).toBe(200);
    },
  },
  {
    name: 'a bearer token works without cookies, and a bad one gets WWW-Authenticate',
    // Stateful only: sealed mode supports the cookie carrier only (the HTTP layer refuses others with a ConfigError).
    modes: ['stateful'],
    async run(env) {
      const token = await signIn(env, 'ken');
      const ok = await req(env, '/me', { headers: { authorization: `Bearer ${token}` } });
      expect(ok.body).toMatchObject({ userId: 'ken', carrier: 'bearer' });
      expect(ok.setCookies).toEqual([]);
      // Bearer requests are not CSRF-checked: browsers never attach them by themselves.
      const post = await req(env, '/rotate', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'sec-fetch-site': 'cross-site' } });
      expect(post.status).toBe(200);
      expect(post.setCookies).toEqual([]);
      expect(post.body.token).toMatch(TOKEN);
      expect(post.body.token).not.toBe(token);
      const bad = await req(env, '/sensitive', { headers: { authorization: `Bearer ${'C'.repeat(22)}.${'D'.repeat(43)}` } });
      expect(bad.status).toBe(401);
      expect(bad.headers.get('www-authenticate')).toBe('Bearer realm="latchkey", error="invalid_token"');
    },
  },
  {
    name: 'a session too big for one cookie is split across numbered cookies, read back whole, and shrinks again',
    // Sealed only: stateful sessions keep their data in the store, the cookie only carries the token.
    modes: ['sealed'],
    async run(env) {
      const token = await signIn(env, 'mona');
      const big = 'x'.repeat(3000);
      const grown = await req(env, `/set?key=big&value=${big}`, { method: 'POST', cookie: cookieHeader(token) });
      expect(grown.status).toBe(200);
      const parts = grown.setCookies.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1, line.indexOf(';'))]);
      expect(parts.map(([name]) => name)).toEqual(['__Host-latchkey', '__Host-latchkey.1']);
      const jar = parts.map(([name, value]) => `${name}=${value}`).join('; ');
      const read = await req(env, '/me', { cookie: jar });
      expect(read.body).toMatchObject({ userId: 'mona', data: { big } });
      const shrunk = await req(env, '/set?key=big', { method: 'POST', cookie: jar });
      expect(shrunk.setCookies).toHaveLength(2);
      expect(shrunk.setCookies[1]).toMatch(/^__Host-latchkey\.1=; Max-Age=0;/);
      expect((await me(env, cookieValue(shrunk.setCookies) as string)).body).toMatchObject({ userId: 'mona', data: {} });
    },
  },
  {
    name: 'garbage, oversized and duplicated cookie headers never reach the store',
    async run(env) {
      const token = await signIn(env, 'leo');
      const reads = env.store.reads;
      const headers = [
        '__Host-latchkey=%%%; ;;=;==',
        `__Host-latchkey=${token}; pad=${'x'.repeat(9000)}`,
        `__Host-latchkey=${token}; __Host-latchkey=${'A'.repeat(22)}.${'B'.repeat(43)}`,
        '__Host-latchkey="unterminated',
        '__Host-latchkey=\u00e9t\u00e9.\u00ff',
        `__Host-latchkey=${token.slice(0, 40)}`,
      ];
      for (const cookie of headers) {
        const r = await req(env, '/me', { cookie });
        expect(r.status).toBe(200);
        expect(r.body).toMatchObject({ userId: null });
      }
      expect(env.store.reads).toBe(reads);
    },
  },
  {
    name: "a save the session cannot hold answers 500 session-not-saved, never the handler's 200",
    async run(env) {
      // Stateful: over maxDataBytes (64 KiB); sealed: within it, but over the cookie budget (6,000 bytes in all).
      const bytes = env.mode === 'stateful' ? 70_000 : 20_000;
      const token = await signIn(env, 'olga');
      for (const cookie of [cookieHeader(token), null]) {
        const r = await req(env, `/set-big?bytes=${bytes}`, { method: 'POST', cookie });
        expect(r.status).toBe(500);
        expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
        expect(r.body).toEqual({ error: 'session-not-saved', message: 'the session could not be saved' });
        expect(r.setCookies).toEqual([]);
      }
      expect((await me(env, token)).body).toMatchObject({ userId: 'olga', data: {} });
    },
  },
  {
    name: "reads see the request's own writes, also while they are being committed",
    async run(env) {
      let cookie: string | null = null;
      for (let visit = 1; visit <= 3; visit++) {
        const r = await req(env, '/visit', { cookie: cookie === null ? null : cookieHeader(cookie) });
        expect(r.status).toBe(200);
        expect(r.body).toEqual({ visits: visit });
        cookie = cookieValue(r.setCookies) ?? cookie;
        expect(cookie).toMatch(tokenPattern(env));
      }
      expect((await me(env, cookie)).body).toMatchObject({ data: { visits: 3 } });
    },
  },
  {
    name: 'a session change after the answer went out is refused with HeadersSentError, never silently lost',
    async run(env) {
      const token = await signIn(env, 'pat');
      // A request that had nothing to write, and one whose own change was committed with its answer.
      for (const dirty of ['0', '1']) {
        const id = `${env.ip}-${dirty}-${Math.random()}`;
        const answered = await req(env, `/late?id=${id}&dirty=${dirty}`, { method: 'POST', cookie: cookieHeader(token) });
        expect(answered.status).toBe(200);
        const late = await req(env, `/late-change?id=${id}`, { method: 'POST', cookie: cookieHeader(token) });
        expect(late.body).toEqual({ refused: 'ERR_HEADERS_SENT' });
      }
      expect((await me(env, token)).body.data).not.toHaveProperty('late');
    },
  },
];
