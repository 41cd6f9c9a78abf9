/**
 * The scenario table every adapter runs. Each scenario drives a real
 * listening server with plain HTTP requests and checks what a browser (or an
 * attacker) would see, plus the store behind it.
 */
import { expect } from 'vitest';
import type { ManualClock } from '../../src/core/clock.js';
import type { InvalidTokenEvent } from '../../src/core/events.js';
import type { Sessions } from '../../src/core/sessions.js';
import { holdGate } from './support/apps.js';
import { call, cookieHeader, cookieValue, type Call, type Reply } from './support/client.js';
import type { TestStore } from './support/store.js';

/** How the server keeps sessions: the engine and a store, or sealed in the cookie (with a store for revocation). */
export type Mode = 'stateful' | 'sealed';
export const MODES: readonly Mode[] = ['stateful', 'sealed'];

export interface Env {
  url: string;
  /**
   * The same application with every opt-in on: `cookie.persistent`, the
   * CSRF double-submit cookie, `clearSiteData: { storage, cookies }`; its
   * engine (or sealed sessions) has a 200-day idle and a 500-day absolute
   * timeout, over the same store and clock.
   */
  optIn: string;
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
const SECURE_ATTRS = '; Path=/; HttpOnly; Secure; SameSite=Lax';
const CLEARED = '__Host-session=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax';
const CSRF_CLEARED = '__Host-csrf=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; SameSite=Lax';
/** 400 days, RFC 6265bis's cap on a cookie's lifetime, in seconds. */
const MAX_AGE_CAP = 34_560_000;

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
    name: 'sign-in sets a __Host-session browser-session cookie (no Max-Age) with exactly the secure attributes',
    async run(env) {
      const r = await req(env, '/login?user=alice', { method: 'POST' });
      expect(r.status).toBe(200);
      expect(r.setCookies).toHaveLength(1);
      const value = env.mode === 'stateful' ? '[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}' : '[A-Za-z0-9_-]{60,}';
      expect(r.setCookies[0]).toMatch(new RegExp(`^__Host-session=${value}${SECURE_ATTRS.replace(/[.;/]/g, '\\$&')}$`));
    },
  },
  {
    name: 'every response that sets or clears the session cookie is Cache-Control: no-store, and no other response is touched',
    async run(env) {
      const plain = await req(env, '/me');
      expect(plain.setCookies).toEqual([]);
      expect(plain.headers.get('cache-control')).toBeNull();
      const created = await req(env, '/set?key=a&value=1', { method: 'POST' });
      expect(cookieValue(created.setCookies)).toMatch(tokenPattern(env));
      expect(created.headers.get('cache-control')).toBe('no-store');
      const login = await req(env, '/login?user=nora', { method: 'POST', cookie: cookieHeader(cookieValue(created.setCookies) as string) });
      const token = cookieValue(login.setCookies);
      expect(token).toMatch(tokenPattern(env));
      // The sign-in route asked for 'private, max-age=60': latchkey's no-store wins.
      expect(login.headers.get('cache-control')).toBe('no-store');
      const read = await me(env, token as string);
      expect(read.setCookies).toEqual([]);
      expect(read.headers.get('cache-control')).toBeNull();
      // A renewed (stateful) or re-sealed (sealed, sliding idle deadline) cookie on a read.
      let renewed: Reply | null = null;
      let current = token as string;
      for (let i = 0; i < 6 && renewed === null; i++) {
        env.clock.advance('20m');
        const r = await me(env, current);
        expect(r.body).toMatchObject({ userId: 'nora' });
        if (r.setCookies.length > 0) renewed = r;
      }
      expect(renewed?.headers.get('cache-control')).toBe('no-store');
      current = cookieValue(renewed?.setCookies ?? []) as string;
      const refused = await me(env, `${'R'.repeat(22)}.${'S'.repeat(43)}`);
      expect(refused.setCookies[0]).toBe(CLEARED);
      expect(refused.headers.get('cache-control')).toBe('no-store');
      const out = await req(env, '/logout', { method: 'POST', cookie: cookieHeader(current) });
      expect(out.setCookies).toEqual([CLEARED]);
      expect(out.headers.get('cache-control')).toBe('no-store');
    },
  },
  {
    name: 'a persistent cookie is an opt-in: its Max-Age follows the absolute deadline, capped at 400 days, and the CSRF cookie follows it',
    async run(env) {
      const r = await call(env.optIn, '/login?user=pat', { method: 'POST', ip: env.ip });
      const token = cookieValue(r.setCookies) as string;
      expect(token).toMatch(tokenPattern(env));
      const csrf = r.body.csrf as string;
      // The absolute deadline is 500 days away: the cookie asks for 400.
      expect(r.setCookies).toEqual([
        `__Host-session=${token}; Max-Age=${MAX_AGE_CAP}; Path=/; HttpOnly; Secure; SameSite=Lax`,
        `__Host-csrf=${csrf}; Max-Age=${MAX_AGE_CAP}; Path=/; Secure; SameSite=Lax`,
      ]);
      expect(r.headers.get('cache-control')).toBe('no-store');
      env.clock.advance('150d');
      const later = await call(env.optIn, '/me', { cookie: cookieHeader(token), ip: env.ip });
      expect(later.body).toMatchObject({ userId: 'pat' });
      // Renewed (stateful) or re-sealed (sealed): 350 days are left.
      const next = cookieValue(later.setCookies) as string;
      expect(later.setCookies).toEqual([
        `__Host-session=${next}; Max-Age=${350 * 86_400}; Path=/; HttpOnly; Secure; SameSite=Lax`,
        `__Host-csrf=${later.body.csrf as string}; Max-Age=${350 * 86_400}; Path=/; Secure; SameSite=Lax`,
      ]);
    },
  },
  {
    name: 'sign-out on the opt-in server also asks the browser to clear storage and every cookie, and clears the CSRF cookie',
    async run(env) {
      const r = await call(env.optIn, '/login?user=quinn', { method: 'POST', ip: env.ip });
      const token = cookieValue(r.setCookies) as string;
      const out = await call(env.optIn, '/logout', { method: 'POST', cookie: cookieHeader(token), ip: env.ip });
      expect(out.status).toBe(200);
      expect(out.setCookies).toEqual([CLEARED, CSRF_CLEARED]);
      expect(out.headers.get('clear-site-data')).toBe('"cache", "storage", "cookies"');
      expect(out.headers.get('cache-control')).toBe('no-store');
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
        for (const line of anon.setCookies) expect(line).toMatch(/^__Host-session(\.\d+)?=; Max-Age=0;/);
      }
      const token = await signIn(env, 'victim', cookieHeader(planted));
      expect(token).not.toBe(planted);
      expect(token.slice(0, 22)).not.toBe('A'.repeat(22));
      if (env.mode === 'stateful') expect(await engine(env).get('A'.repeat(22))).toBeNull();
    },
  },
  {
    name: 'login issues a new token, kills the old one and keeps anonymous data',
    // Stateful only: sealed sign-in starts from a fresh payload (the next scenario).
    modes: ['stateful'],
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
    name: 'sealed sign-in starts from a fresh payload: nothing of the anonymous session survives, and its cookie is revoked',
    // Sealed only: a stateful sign-in rotates the session in the store and keeps its data (the scenario above).
    modes: ['sealed'],
    async run(env) {
      const set = await req(env, '/set?key=cart&value=3', { method: 'POST' });
      const anonymous = cookieValue(set.setCookies) as string;
      const before = await me(env, anonymous);
      expect(before.body).toMatchObject({ userId: null, data: { cart: '3' } });
      const token = await signIn(env, 'bob', cookieHeader(anonymous));
      const now = await me(env, token);
      expect(now.body).toMatchObject({ userId: 'bob' });
      expect(now.body.data).toEqual({});
      expect(now.body.handle).not.toBe(before.body.handle);
      expect(now.body.csrf).not.toBe(before.body.csrf);
      expect((await me(env, anonymous)).body).toMatchObject({ userId: null, invalid: 'revoked' });
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
      expect(r.headers.get('clear-site-data')).toBe('"cache"');
      if (env.mode === 'stateful') expect(await engine(env).get(handle)).toBeNull();
      // A copy of the cookie taken before sign-out is refused after it.
      const replay = await me(env, token);
      expect(replay.body).toMatchObject({ userId: null, invalid: 'revoked' });
      expect(replay.headers.get('clear-site-data')).toBeNull();
    },
  },
  {
    name: 'a request in flight during sign-out does not sign the browser in again',
    async run(env) {
      const token = await signIn(env, 'olga');
      const id = `${env.url} ${env.ip}`;
      const gate = holdGate(id);
      const slow = req(env, `/held?gate=${encodeURIComponent(id)}&key=late&value=1`, { method: 'POST', cookie: cookieHeader(token) });
      await gate.arrived;
      const out = await req(env, '/logout', { method: 'POST', cookie: cookieHeader(token) });
      expect(out.setCookies).toEqual([CLEARED]);
      gate.release();
      const late = await slow;
      expect(late.status).toBe(200);
      // Stateful: the session is gone, nothing to write to, the cookie is cleared. Sealed: the late
      // re-seal carries a session revoked in the store. Either way the browser holds no live session.
      const left = cookieValue(late.setCookies);
      if (env.mode === 'stateful') expect(late.setCookies).toEqual([CLEARED]);
      else expect(left).toMatch(SEALED);
      for (const held of [left, token]) {
        if (held === null || held === '') continue;
        expect((await me(env, held)).body).toMatchObject({ userId: null, invalid: 'revoked' });
      }
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
      expect(r.headers.get('clear-site-data')).toBe('"cache"');
      expect(r.headers.get('cache-control')).toBe('no-store');
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
          // A browser-session cookie: the server's deadlines decide, not the browser's.
          expect(r.setCookies[0]).not.toMatch(/Max-Age|Expires/i);
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
    name: 'invalid tokens below the burst threshold are reported once per client, carrier and reason, with a count and never the token',
    // Stateful only: the reports are the engine's, and sealed mode has no engine (nor any token to guess).
    modes: ['stateful'],
    async run(env) {
      const reports: InvalidTokenEvent[] = [];
      const off = engine(env).on('invalid-token', (e) => reports.push(e));
      try {
        env.clock.advance('2m'); // every earlier window has ended: what follows opens windows of its own
        const revoked = await signIn(env, 'nina');
        expect((await req(env, '/logout', { method: 'POST', cookie: cookieHeader(revoked) })).status).toBe(200);
        const neverIssued = `${'N'.repeat(22)}.${'x'.repeat(43)}`;
        const presented = [neverIssued, revoked, 'not-a-token'];
        const opened = env.clock.now();
        // Four invalid tokens in all: under the burst threshold (5), so nothing is throttled and no anomaly says a word.
        expect((await me(env, neverIssued)).body).toMatchObject({ invalid: 'unknown' });
        env.clock.advance('1s');
        expect((await me(env, neverIssued)).body).toMatchObject({ invalid: 'unknown' });
        expect((await req(env, '/me', { headers: { authorization: 'Bearer not-a-token' } })).body).toMatchObject({ invalid: 'malformed' });
        expect((await me(env, revoked)).body).toMatchObject({ invalid: 'revoked' });
        // Counted, not yet reported: one report per window, when it ends.
        expect(reports.filter((r) => r.ip === env.ip)).toEqual([]);

        env.clock.advance('1m');
        // The next refusal (here a new window of the same client) reports the windows that ended.
        await me(env, neverIssued);
        const mine = reports.filter((r) => r.ip === env.ip);
        expect(mine).toEqual([
          { ip: env.ip, carrier: 'cookie', reason: 'unknown', count: 2, since: opened, at: opened + 1000 },
          { ip: env.ip, carrier: 'bearer', reason: 'malformed', count: 1, since: opened + 1000, at: opened + 1000 },
          { ip: env.ip, carrier: 'cookie', reason: 'revoked', count: 1, since: opened + 1000, at: opened + 1000 },
        ]);
        const text = JSON.stringify(mine);
        for (const token of presented) expect(text).not.toContain(token);
        expect(text).not.toContain(revoked.split('.')[0]);
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
    name: 'a bearer token works without cookies, a rotated one is handed out uncacheable, and a bad one gets WWW-Authenticate',
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
      // The application hands the new token out in its body: the response must not be cached.
      expect(post.headers.get('cache-control')).toBe('no-store');
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
      expect(parts.map(([name]) => name)).toEqual(['__Host-session', '__Host-session.1']);
      const jar = parts.map(([name, value]) => `${name}=${value}`).join('; ');
      const read = await req(env, '/me', { cookie: jar });
      expect(read.body).toMatchObject({ userId: 'mona', data: { big } });
      const shrunk = await req(env, '/set?key=big', { method: 'POST', cookie: jar });
      expect(shrunk.setCookies).toHaveLength(2);
      expect(shrunk.setCookies[1]).toMatch(/^__Host-session\.1=; Max-Age=0;/);
      expect((await me(env, cookieValue(shrunk.setCookies) as string)).body).toMatchObject({ userId: 'mona', data: {} });
    },
  },
  {
    name: 'garbage, oversized and duplicated cookie headers never reach the store',
    async run(env) {
      const token = await signIn(env, 'leo');
      const reads = env.store.reads;
      const headers = [
        '__Host-session=%%%; ;;=;==',
        `__Host-session=${token}; pad=${'x'.repeat(9000)}`,
        `__Host-session=${token}; __Host-session=${'A'.repeat(22)}.${'B'.repeat(43)}`,
        '__Host-session="unterminated',
        '__Host-session=\u00e9t\u00e9.\u00ff',
        `__Host-session=${token.slice(0, 40)}`,
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
