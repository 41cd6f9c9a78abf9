import { describe, expect, it } from 'vitest';
import { createSessions, type SessionsOptions } from '../../src/core/sessions.js';
import { manualClock } from '../../src/core/clock.js';
import { memoryStore } from '../../src/stores/memory.js';
import { sqliteStore } from '../../src/stores/sqlite.js';
import type { Store } from '../../src/core/store.js';
import type { SessionEvents } from '../../src/core/events.js';
import { ConfigError, InvalidDataError, SessionLimitError, StoreUnavailableError } from '../../src/core/errors.js';
import { parseToken } from '../../src/core/token.js';

const CHROME_MAC =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const FIREFOX_WIN = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';
const laptop = { ip: '203.0.113.10', userAgent: CHROME_MAC };

/** Counts the writes that reach a real store. */
function counting(store: Store): Store & { writes: string[] } {
  const writes: string[] = [];
  const wrapped = { ...store, writes } as Store & { writes: string[] };
  for (const op of ['create', 'touch', 'patch', 'replace', 'revoke', 'revokeUser', 'delete', 'sweep'] as const) {
    const fn = store[op].bind(store) as (...a: unknown[]) => Promise<unknown>;
    (wrapped as unknown as Record<string, unknown>)[op] = (...a: unknown[]) => {
      writes.push(op);
      return fn(...a);
    };
  }
  return wrapped;
}

function setup(options: Partial<SessionsOptions> = {}, store: Store = memoryStore()) {
  const clock = manualClock();
  const counted = counting(store);
  const sessions = createSessions({ store: counted, clock, sweepInterval: false, ...options });
  const events: Array<{ name: keyof SessionEvents; event: unknown }> = [];
  for (const name of ['created', 'rotated', 'revoked', 'expired', 'new-device', 'anomaly'] as const) {
    sessions.on(name, (event) => events.push({ name, event }));
  }
  return { sessions, clock, store: counted, events };
}

describe.each([
  ['memory', () => memoryStore()],
  ['sqlite', () => sqliteStore({ path: ':memory:' })],
])('the engine on the %s store', (_name, makeStore) => {
  it('creates a session whose token validates to the same user, data and client', async () => {
    const { sessions } = setup({}, makeStore());
    const { token, session } = await sessions.create({ userId: 'u1', data: { theme: 'dark' }, client: laptop });
    const res = await sessions.validate(token, { client: laptop });
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.session.handle).toBe(session.handle);
    expect(res.session.userId).toBe('u1');
    expect(res.session.data).toEqual({ theme: 'dark' });
    expect(res.session.client).toEqual({ ip: laptop.ip, userAgent: CHROME_MAC, device: { browser: 'Chrome', os: 'macOS', type: 'desktop' } });
    expect(token.startsWith(`${session.handle}.`)).toBe(true);
  });

  it('never confuses a known handle with a wrong secret for a valid token', async () => {
    const { sessions } = setup({}, makeStore());
    const { token, session } = await sessions.create({ userId: 'u1' });
    const forged = `${session.handle}.${'A'.repeat(43)}`;
    expect(await sessions.validate(forged)).toEqual({ ok: false, reason: 'unknown' });
    expect((await sessions.validate(token)).ok).toBe(true);
  });

  it('rotates: the new token works, the old one is revoked at once, data carries over', async () => {
    const { sessions, events } = setup({}, makeStore());
    const { token, session } = await sessions.create({ userId: 'u1', data: { cart: [1] } });
    const rot = await sessions.rotate(token);
    expect(rot.ok).toBe(true);
    if (!rot.ok) return;
    expect(rot.session.handle).not.toBe(session.handle);
    expect(await sessions.validate(token)).toEqual({ ok: false, reason: 'revoked' });
    const res = await sessions.validate(rot.token);
    expect(res.ok && res.session.data).toEqual({ cart: [1] });
    expect(events.filter((e) => e.name === 'rotated')).toHaveLength(1);
  });

  it('loses no key when 50 patches through the engine run at once', async () => {
    const { sessions } = setup({}, makeStore());
    const { token, session } = await sessions.create({ data: { base: 0 } });
    await Promise.all(Array.from({ length: 50 }, (_, i) => sessions.patch(session.handle, { set: { [`k${i}`]: i } })));
    const res = await sessions.validate(token);
    expect(res.ok && Object.keys(res.session.data).length).toBe(51);
  });
});

describe('validation', () => {
  it('refuses malformed tokens without reading the store', async () => {
    const { sessions, store } = setup();
    const getSpy: string[] = [];
    const get = store.get.bind(store);
    store.get = (h) => {
      getSpy.push(h);
      return get(h);
    };
    for (const bad of ['', 'x', 'a.b', null, undefined, 42, {}, `${'a'.repeat(22)}.${'b'.repeat(42)}`, `${'a'.repeat(22)}.${'b'.repeat(42)}=`]) {
      expect(await sessions.validate(bad)).toEqual({ ok: false, reason: 'malformed' });
    }
    expect(getSpy).toEqual([]);
  });

  it('does not write to the store on a read inside the touch interval', async () => {
    const { sessions, store, clock } = setup({ idleTimeout: '30m', touchInterval: '1m' });
    const { token } = await sessions.create({ userId: 'u1' });
    store.writes.length = 0;
    for (let i = 0; i < 10; i++) {
      clock.advance('5s');
      expect((await sessions.validate(token)).ok).toBe(true);
    }
    expect(store.writes).toEqual([]);
    clock.advance('20s');
    await sessions.validate(token);
    expect(store.writes).toEqual(['touch']);
  });

  it('slides the idle deadline and expires an unused session (expired-idle)', async () => {
    const { sessions, clock, events } = setup({ idleTimeout: '30m', absoluteTimeout: '12h' });
    const { token } = await sessions.create({ userId: 'u1' });
    for (let i = 0; i < 5; i++) {
      clock.advance('25m');
      expect((await sessions.validate(token)).ok).toBe(true);
    }
    clock.advance('30m');
    expect(await sessions.validate(token)).toEqual({ ok: false, reason: 'expired-idle' });
    expect(events.find((e) => e.name === 'expired')?.event).toMatchObject({ kind: 'idle', userId: 'u1' });
    expect(await sessions.validate(token)).toEqual({ ok: false, reason: 'unknown' });
  });

  it('expires a session at its absolute deadline however active it is', async () => {
    const { sessions, clock } = setup({ idleTimeout: '30m', absoluteTimeout: '2h' });
    const { token } = await sessions.create({ userId: 'u1' });
    for (let i = 0; i < 7; i++) {
      clock.advance('17m');
      expect((await sessions.validate(token)).ok).toBe(true);
    }
    clock.advance('2m');
    expect(await sessions.validate(token)).toEqual({ ok: false, reason: 'expired-absolute' });
  });

  it('never extends the idle deadline past the absolute deadline', async () => {
    const { sessions, clock } = setup({ idleTimeout: '30m', absoluteTimeout: '1h' });
    const { token, session } = await sessions.create({});
    clock.advance('20m');
    await sessions.validate(token);
    clock.advance('25m');
    const res = await sessions.validate(token);
    expect(res.ok && res.session.idleExpiresAt).toBe(session.absoluteExpiresAt);
  });
});

describe('fixation and rotation', () => {
  it('gives every new session a fresh server-made token', async () => {
    const { sessions } = setup();
    const tokens = new Set<string>();
    for (let i = 0; i < 200; i++) tokens.add((await sessions.create({})).token);
    expect(tokens.size).toBe(200);
  });

  it('signs in by rotation: new token, user set, auth time now, old token dead', async () => {
    const { sessions, clock } = setup();
    const anon = await sessions.create({ data: { cart: ['book'] } });
    clock.advance('3m');
    const login = await sessions.rotate(anon.token, { userId: 'alice', authLevel: 1 });
    expect(login.ok).toBe(true);
    if (!login.ok) return;
    expect(login.session.userId).toBe('alice');
    expect(login.session.authTime).toBe(clock.now());
    expect(login.session.authLevel).toBe(1);
    expect(login.session.data).toEqual({ cart: ['book'] });
    expect(await sessions.validate(anon.token)).toEqual({ ok: false, reason: 'revoked' });
    expect((await sessions.list('alice')).map((d) => d.handle)).toEqual([login.session.handle]);
  });

  it("never carries one user's data into another user's sign-in", async () => {
    const { sessions } = setup();
    const alice = await sessions.create({ userId: 'alice', data: { secretNote: 'for alice' } });
    const bob = await sessions.rotate(alice.token, { userId: 'bob' });
    expect(bob.ok && bob.session.data).toEqual({});
    expect(bob.ok && bob.session.userId).toBe('bob');
    expect(await sessions.list('alice')).toEqual([]);
  });

  it('lets exactly one of 20 concurrent rotations of one token win', async () => {
    const { sessions } = setup();
    const { token } = await sessions.create({ userId: 'u1' });
    const results = await Promise.all(Array.from({ length: 20 }, () => sessions.rotate(token)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.reason === 'conflict')).toHaveLength(19);
    expect(await sessions.list('u1')).toHaveLength(1);
  });

  it('revokes every other session on a password change (revokeOthers)', async () => {
    const { sessions } = setup();
    const a = await sessions.create({ userId: 'u1' });
    const b = await sessions.create({ userId: 'u1' });
    const rot = await sessions.rotate(a.token, { authenticated: true, revokeOthers: true });
    expect(rot.ok).toBe(true);
    expect(await sessions.validate(b.token)).toEqual({ ok: false, reason: 'revoked' });
    expect((await sessions.list('u1')).map((d) => d.handle)).toEqual([rot.ok ? rot.session.handle : '']);
  });
});

describe('automatic renewal', () => {
  it('renews an old token and keeps the old one valid for the overlap only', async () => {
    const { sessions, clock, events } = setup({ renewal: { interval: '15m', overlap: '30s' } });
    const { token } = await sessions.create({ userId: 'u1', data: { a: 1 } });
    clock.advance('16m');
    const first = await sessions.validate(token);
    expect(first.ok && first.renewed?.token).toBeTruthy();
    const renewed = first.ok ? (first.renewed?.token as string) : '';
    clock.advance('10s');
    const inFlight = await sessions.validate(token);
    expect(inFlight.ok && inFlight.session.handle).toBe(parseToken(renewed)?.handle);
    expect(inFlight.ok && inFlight.renewed).toBeUndefined();
    clock.advance('25s');
    expect(await sessions.validate(token)).toEqual({ ok: false, reason: 'revoked' });
    expect((await sessions.validate(renewed)).ok).toBe(true);
    expect(events.filter((e) => e.name === 'rotated').map((e) => (e.event as { cause: string }).cause)).toEqual(['renewal']);
  });

  it('renews once when 20 requests present the due token at the same time', async () => {
    const { sessions, clock } = setup({ renewal: { interval: '15m' } });
    const { token } = await sessions.create({ userId: 'u1' });
    clock.advance('16m');
    const results = await Promise.all(Array.from({ length: 20 }, () => sessions.validate(token)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(results.filter((r) => r.ok && r.renewed !== undefined)).toHaveLength(1);
    expect(new Set(results.map((r) => (r.ok ? r.session.handle : ''))).size).toBe(1);
    expect(await sessions.list('u1')).toHaveLength(1);
  });

  it('renews a token presented after a long pause (afterIdle)', async () => {
    const { sessions, clock } = setup({ idleTimeout: '2h', renewal: { afterIdle: '20m' } });
    const { token } = await sessions.create({});
    clock.advance('10m');
    expect((await sessions.validate(token)).ok && true).toBe(true);
    clock.advance('25m');
    const res = await sessions.validate(token);
    expect(res.ok && res.renewed !== undefined).toBe(true);
  });
});

describe('termination', () => {
  it('revoke kills a session at once and says so', async () => {
    const { sessions, events } = setup();
    const { token, session } = await sessions.create({ userId: 'u1' });
    expect(await sessions.revoke(session.handle)).toBe(true);
    expect(await sessions.validate(token)).toEqual({ ok: false, reason: 'revoked' });
    expect(await sessions.revoke(session.handle)).toBe(false);
    expect(events.filter((e) => e.name === 'revoked')).toHaveLength(1);
  });

  it('forgets revoked tokens after the retention period', async () => {
    const { sessions, clock } = setup({ revokedRetention: '10m' });
    const { token, session } = await sessions.create({});
    await sessions.revoke(session.handle);
    clock.advance('11m');
    await sessions.sweep();
    expect(await sessions.validate(token)).toEqual({ ok: false, reason: 'unknown' });
  });

  it('logs a user out everywhere except the current session', async () => {
    const { sessions } = setup();
    const a = await sessions.create({ userId: 'u1' });
    const b = await sessions.create({ userId: 'u1' });
    const c = await sessions.create({ userId: 'u1' });
    const other = await sessions.create({ userId: 'u2' });
    const revoked = await sessions.revokeUser('u1', { except: a.session.handle });
    expect(revoked.sort()).toEqual([b.session.handle, c.session.handle].sort());
    expect((await sessions.validate(a.token)).ok).toBe(true);
    expect(await sessions.validate(b.token)).toEqual({ ok: false, reason: 'revoked' });
    expect((await sessions.validate(other.token)).ok).toBe(true);
  });

  it('sweeps expired sessions out of the store', async () => {
    const { sessions, clock } = setup({ idleTimeout: '10m' });
    const { session } = await sessions.create({ userId: 'u1' });
    clock.advance('11m');
    expect(await sessions.sweep()).toBe(1);
    expect(await sessions.get(session.handle)).toBeNull();
  });
});

describe('devices', () => {
  it("lists a user's live sessions with their clients, oldest first", async () => {
    const { sessions, clock } = setup();
    const a = await sessions.create({ userId: 'u1', client: laptop });
    clock.advance('1m');
    const b = await sessions.create({ userId: 'u1', client: { ip: '2001:db8::5', userAgent: FIREFOX_WIN } });
    await sessions.create({ userId: 'u2', client: laptop });
    const list = await sessions.list('u1');
    expect(list.map((d) => d.handle)).toEqual([a.session.handle, b.session.handle]);
    expect(list[1]).toMatchObject({ ip: '2001:db8::5', device: { browser: 'Firefox', os: 'Windows', type: 'desktop' } });
  });

  it('announces a sign-in from a client the user has no session on', async () => {
    const { sessions, events } = setup();
    await sessions.create({ userId: 'u1', client: laptop });
    await sessions.create({ userId: 'u1', client: laptop });
    await sessions.create({ userId: 'u1', client: { ip: '198.51.100.7', userAgent: FIREFOX_WIN } });
    const seen = events.filter((e) => e.name === 'new-device').map((e) => (e.event as SessionEvents['new-device']).client.userAgent);
    expect(seen).toEqual([CHROME_MAC, FIREFOX_WIN]);
  });
});

describe('limits', () => {
  it('evicts the oldest session when a user reaches the limit', async () => {
    const { sessions, clock, events } = setup({ maxSessionsPerUser: 2 });
    const a = await sessions.create({ userId: 'u1' });
    clock.advance('1s');
    const b = await sessions.create({ userId: 'u1' });
    clock.advance('1s');
    const c = await sessions.create({ userId: 'u1' });
    expect(await sessions.validate(a.token)).toEqual({ ok: false, reason: 'revoked' });
    expect((await sessions.list('u1')).map((d) => d.handle)).toEqual([b.session.handle, c.session.handle]);
    expect(events.find((e) => e.name === 'revoked')?.event).toMatchObject({ cause: 'limit', handle: a.session.handle });
  });

  it('refuses a session over the limit when told to', async () => {
    const { sessions } = setup({ maxSessionsPerUser: { limit: 1, onLimit: 'refuse' } });
    await sessions.create({ userId: 'u1' });
    await expect(sessions.create({ userId: 'u1' })).rejects.toBeInstanceOf(SessionLimitError);
    await expect(sessions.create({ userId: 'u2' })).resolves.toBeTruthy();
  });
});

describe('freshness', () => {
  it('says whether the last authentication is recent enough', async () => {
    const { sessions, clock } = setup();
    const { token } = await sessions.create({ userId: 'u1' });
    clock.advance('4m');
    let res = await sessions.validate(token);
    expect(res.ok && sessions.isFresh(res.session, '5m')).toBe(true);
    clock.advance('2m');
    res = await sessions.validate(token);
    expect(res.ok && sessions.isFresh(res.session, '5m')).toBe(false);
    const reauth = await sessions.rotate(token, { authenticated: true });
    expect(reauth.ok && sessions.isFresh(reauth.session, '5m')).toBe(true);
    const anon = await sessions.create({});
    expect(sessions.isFresh(anon.session, '1h')).toBe(false);
  });
});

describe('client binding', () => {
  const phone = { ip: '198.51.100.20', userAgent: FIREFOX_WIN };

  it('refuses a token from another client but keeps the session for its owner (reauth)', async () => {
    const { sessions, events } = setup({ binding: { userAgent: true, onMismatch: 'reauth' } });
    const { token } = await sessions.create({ userId: 'u1', client: laptop });
    expect(await sessions.validate(token, { client: phone })).toEqual({ ok: false, reason: 'binding-mismatch' });
    expect((await sessions.validate(token, { client: laptop })).ok).toBe(true);
    expect(events.find((e) => e.name === 'anomaly')?.event).toMatchObject({ kind: 'binding-mismatch', attribute: 'user-agent', action: 'reauth' });
  });

  it('revokes the session on mismatch when told to', async () => {
    const { sessions } = setup({ binding: { userAgent: true, onMismatch: 'revoke' } });
    const { token } = await sessions.create({ userId: 'u1', client: laptop });
    expect(await sessions.validate(token, { client: phone })).toEqual({ ok: false, reason: 'binding-mismatch' });
    expect(await sessions.validate(token, { client: laptop })).toEqual({ ok: false, reason: 'revoked' });
  });

  it('only reports the mismatch when set to log', async () => {
    const { sessions, events } = setup({ binding: { userAgent: true, onMismatch: 'log' } });
    const { token } = await sessions.create({ userId: 'u1', client: laptop });
    expect((await sessions.validate(token, { client: phone })).ok).toBe(true);
    expect(events.filter((e) => e.name === 'anomaly')).toHaveLength(1);
  });

  it('compares IP prefixes: same /24 passes, another network does not', async () => {
    const { sessions } = setup({ binding: { userAgent: false, ip: true } });
    const { token } = await sessions.create({ client: laptop });
    expect((await sessions.validate(token, { client: { ...laptop, ip: '203.0.113.200' } })).ok).toBe(true);
    expect(await sessions.validate(token, { client: { ...laptop, ip: '203.0.114.10' } })).toEqual({ ok: false, reason: 'binding-mismatch' });
    expect((await sessions.validate(token, { client: { ...laptop, ip: '::ffff:203.0.113.1' } })).ok).toBe(true);
  });
});

describe('guessing defence', () => {
  it('raises one anomaly and throttles a client after a burst of invalid tokens', async () => {
    const { sessions, clock, events } = setup({ guessing: { threshold: 5, window: '1m' } });
    const client = { ip: '192.0.2.66' };
    for (let i = 0; i < 8; i++) await sessions.validate(`${'a'.repeat(22)}.${'b'.repeat(43)}`, { client });
    expect(events.filter((e) => e.name === 'anomaly').map((e) => e.event)).toEqual([
      { kind: 'invalid-token-burst', ip: '192.0.2.66', count: 5, at: clock.now() },
    ]);
    expect(sessions.throttled('192.0.2.66')).toBeGreaterThan(0);
    expect(sessions.throttled('192.0.2.67')).toBe(0);
    clock.advance('61s');
    expect(sessions.throttled('192.0.2.66')).toBe(0);
  });
});

describe('events', () => {
  it('never carry a token or a secret', async () => {
    const { sessions, clock, events } = setup({ renewal: { interval: '10m' }, binding: { userAgent: true, onMismatch: 'revoke' }, maxSessionsPerUser: 1 });
    const secrets: string[] = [];
    const a = await sessions.create({ userId: 'u1', client: laptop });
    secrets.push(a.token);
    clock.advance('11m');
    const r = await sessions.validate(a.token, { client: laptop });
    if (r.ok && r.renewed) secrets.push(r.renewed.token);
    const b = await sessions.create({ userId: 'u1', client: laptop });
    secrets.push(b.token);
    await sessions.validate(b.token, { client: { userAgent: 'other' } });
    const text = JSON.stringify(events);
    expect(events.length).toBeGreaterThan(4);
    for (const t of secrets) {
      expect(text).not.toContain(t);
      expect(text).not.toContain(t.split('.')[1]);
    }
  });

  it('keep the engine working when a listener throws', async () => {
    const errors: unknown[] = [];
    const sessions = createSessions({ store: memoryStore(), sweepInterval: false, onError: (e) => errors.push(e) });
    sessions.on('created', () => {
      throw new Error('listener bug');
    });
    const { token } = await sessions.create({});
    expect((await sessions.validate(token)).ok).toBe(true);
    expect(errors).toHaveLength(1);
  });
});

describe('data', () => {
  it('applies compare-and-set patches only at the expected version', async () => {
    const { sessions } = setup();
    const { session } = await sessions.create({ data: { n: 0 } });
    const first = await sessions.patch(session.handle, { set: { n: 1 } }, { expectVersion: session.version });
    expect(first).toEqual({ ok: true, version: 2, data: { n: 1 } });
    expect(await sessions.patch(session.handle, { set: { n: 99 } }, { expectVersion: session.version })).toEqual({ ok: false, reason: 'conflict' });
  });

  it('answers not-found to a patch of a session past its deadline that no sweep removed yet, and writes nothing', async () => {
    const { sessions, clock, store } = setup({ idleTimeout: '30m' });
    const { session } = await sessions.create({ userId: 'u1', data: { n: 0 } });
    clock.advance('29m');
    expect(await sessions.patch(session.handle, { set: { n: 1 } })).toEqual({ ok: true, version: 2, data: { n: 1 } });
    clock.advance('1m');
    const before = await store.get(session.handle);
    expect(before?.status).toBe('active');
    expect(await sessions.get(session.handle)).toBeNull();
    expect(await sessions.patch(session.handle, { set: { n: 99 } })).toEqual({ ok: false, reason: 'not-found' });
    expect(await sessions.patch(session.handle, { unset: ['n'] }, { expectVersion: 2 })).toEqual({ ok: false, reason: 'not-found' });
    expect(await store.get(session.handle)).toEqual(before);
  });

  it('refuses data that JSON cannot hold or that is too large, storing nothing', async () => {
    const { sessions, store } = setup({ maxDataBytes: 100 });
    store.writes.length = 0;
    await expect(sessions.create({ data: { big: 'x'.repeat(200) } })).rejects.toBeInstanceOf(InvalidDataError);
    await expect(sessions.create({ data: { n: 10n } as Record<string, unknown> })).rejects.toBeInstanceOf(InvalidDataError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(sessions.create({ data: cyclic })).rejects.toBeInstanceOf(InvalidDataError);
    await expect(sessions.create({ data: JSON.parse('{"__proto__": {"admin": true}}') })).rejects.toBeInstanceOf(InvalidDataError);
    expect(store.writes).toEqual([]);
  });

  it('hands out data that cannot be changed behind the store', async () => {
    const { sessions } = setup();
    const input = { prefs: { lang: 'en' } };
    const { token } = await sessions.create({ data: input });
    input.prefs.lang = 'fr';
    const res = await sessions.validate(token);
    expect(res.ok && res.session.data).toEqual({ prefs: { lang: 'en' } });
  });
});

describe('store failure', () => {
  it('turns a store error into StoreUnavailableError and keeps the cause', async () => {
    const store = memoryStore();
    const broken: Store = { ...store, get: () => Promise.reject(new Error('ECONNREFUSED')) };
    const sessions = createSessions({ store: broken, sweepInterval: false });
    const err = await sessions.validate(`${'a'.repeat(22)}.${'b'.repeat(43)}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as StoreUnavailableError).code).toBe('ERR_STORE_UNAVAILABLE');
    expect(((err as Error).cause as Error).message).toBe('ECONNREFUSED');
  });

  it('gives up on a network store that does not answer within storeTimeout', async () => {
    const store = memoryStore();
    const hanging: Store = { ...store, capabilities: { expiresByItself: false, inProcess: false }, get: () => new Promise(() => {}) };
    const sessions = createSessions({ store: hanging, sweepInterval: false, storeTimeout: 50 });
    // The store never answers: only the engine's own 50 ms deadline ends the call, and the error names it.
    const failure = sessions.validate(`${'a'.repeat(22)}.${'b'.repeat(43)}`);
    await expect(failure).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(failure).rejects.toThrow('the session store did not answer within 50 ms');
  });
});

describe('configuration', () => {
  const store = memoryStore();
  it.each([
    [{ idleTimeout: 'soon' }, /idleTimeout must be a duration/],
    [{ idleTimeout: '2h', absoluteTimeout: '1h' }, /idleTimeout .* is longer than absoluteTimeout/],
    [{ touchInterval: '1h', idleTimeout: '30m' }, /touchInterval .* must be shorter than idleTimeout/],
    [{ maxSessionsPerUser: 0 }, /maxSessionsPerUser must be a positive whole number/],
    [{ maxSessionsPerUser: { limit: 3, onLimit: 'drop' } }, /onLimit must be 'evict-oldest' or 'refuse'/],
    [{ binding: { onMismatch: 'panic' } }, /binding.onMismatch must be/],
    [{ binding: { userAgent: false } }, /binds nothing/],
    [{ binding: { ip: { v4: 33 } } }, /binding.ip.v4 must be a prefix length from 0 to 32/],
    [{ renewal: {} }, /renewal needs renewal.interval or renewal.afterIdle/],
    [{ renewal: { interval: '1m', overlap: '1h' } }, /renewal.overlap must be at most 10 minutes/],
    [{ binding: null }, /binding must be an object/],
    [{ renewal: null }, /renewal must be an object/],
    [{ maxSessionsPerUser: null }, /maxSessionsPerUser must be a number or/],
  ])('refuses %j with a message that says how to fix it', (bad, message) => {
    expect(() => createSessions({ store, ...(bad as Partial<SessionsOptions>) })).toThrow(ConfigError);
    expect(() => createSessions({ store, ...(bad as Partial<SessionsOptions>) })).toThrow(message);
  });

  it('refuses something that is not a store', () => {
    expect(() => createSessions({ store: {} as Store })).toThrow(/store must be a latchkey Store/);
  });
});

describe('engines sharing one store (kinds)', () => {
  const setup = (cache: boolean) => {
    const clock = manualClock();
    const store = counting(memoryStore({ clock }));
    const common = { store, clock, sweepInterval: false as const, idleTimeout: '30m', touchInterval: '1m' };
    const families = createSessions({ ...common, idleTimeout: '14d', absoluteTimeout: '30d', kind: 'refresh' });
    const cookies = createSessions({
      ...common,
      binding: { userAgent: true, onMismatch: 'revoke' },
      renewal: { interval: '5m' },
      ...(cache ? { cache: { staleness: '5s' } } : {}),
    });
    return { clock, store, families, cookies };
  };

  it.each([false, true])('treat another engine\'s token as unknown and leave its record untouched (cache: %s)', async (cache) => {
    const { clock, store, families, cookies } = setup(cache);
    const { token, session } = await families.create({ userId: 'u1', client: laptop });
    expect(session.kind).toBe('refresh');
    clock.advance(10 * 60_000); // past the touch interval and the renewal interval of the cookie engine
    const before = await store.get(session.handle);
    const writes = store.writes.length;
    for (let i = 0; i < 2; i++) {
      expect(await cookies.validate(token, { client: { ...laptop, userAgent: FIREFOX_WIN } })).toEqual({ ok: false, reason: 'unknown' });
    }
    expect(await cookies.rotate(token)).toEqual({ ok: false, reason: 'unknown' });
    expect(store.writes.length).toBe(writes); // no touch, renewal, binding revocation or rotation
    expect(await store.get(session.handle)).toEqual(before);
    // Its own engine still honours it, and the operator's calls by handle are not filtered.
    expect((await families.validate(token, { client: laptop })).ok).toBe(true);
    expect((await cookies.get(session.handle))?.kind).toBe('refresh');
    expect((await cookies.list('u1')).map((d) => [d.handle, d.kind])).toEqual([[session.handle, 'refresh']]);
    expect(await cookies.revoke(session.handle)).toBe(true);
    expect(await families.validate(token)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('writes records of its kind, and keeps the kind through a rotation and a renewal', async () => {
    const { clock, store, cookies, families } = setup(false);
    const a = await cookies.create({ userId: 'u1' });
    expect((await store.get(a.session.handle))?.kind).toBe('session');
    const rotated = await families.rotate((await families.create({ userId: 'u1' })).token);
    expect(rotated.ok && rotated.session.kind).toBe('refresh');
    expect(rotated.ok && (await store.get(rotated.session.handle))?.kind).toBe('refresh');
    clock.advance('6m');
    const renewed = await cookies.validate(a.token);
    expect(renewed.ok && renewed.renewed !== undefined && (await store.get(renewed.session.handle))?.kind).toBe('session');
  });

  it('lists and revokes a user’s sessions of every kind by default ("log out everywhere"), or of the kinds asked for', async () => {
    const { cookies, families } = setup(false);
    const cookie = await cookies.create({ userId: 'u1' });
    const family = await families.create({ userId: 'u1' });
    expect((await cookies.list('u1', { kinds: ['refresh'] })).map((d) => d.handle)).toEqual([family.session.handle]);
    expect((await cookies.list('u1', { kinds: ['session', 'refresh'] })).map((d) => d.kind)).toEqual(['session', 'refresh']);
    expect(await cookies.revokeUser('u1', { kinds: ['refresh'] })).toEqual([family.session.handle]);
    expect((await cookies.validate(cookie.token)).ok).toBe(true);
    const again = await families.create({ userId: 'u1' });
    expect((await cookies.revokeUser('u1')).sort()).toEqual([cookie.session.handle, again.session.handle].sort());
    expect(await families.validate(again.token)).toEqual({ ok: false, reason: 'revoked' });
    await expect(cookies.list('u1', { kinds: [] })).rejects.toThrow(/kinds must be a non-empty list/);
    await expect(cookies.revokeUser('u1', { kinds: ['Not A Kind'] })).rejects.toThrow(/kinds must be a non-empty list/);
  });

  it('counts only sessions of its own kind against maxSessionsPerUser and for new devices', async () => {
    const clock = manualClock();
    const store = memoryStore({ clock });
    const demo = createSessions({ store, clock, kind: 'demo', maxSessionsPerUser: 2, sweepInterval: false });
    const app = createSessions({ store, clock, maxSessionsPerUser: 2, sweepInterval: false });
    const devices: string[] = [];
    demo.on('new-device', (e) => devices.push(e.handle));
    const mine = [await app.create({ userId: 'alice', client: laptop }), await app.create({ userId: 'alice', client: laptop })];
    // The demo's alice signs in three times from the laptop: its own oldest is evicted, never the application's.
    const theirs = [];
    for (let i = 0; i < 3; i++) theirs.push(await demo.create({ userId: 'alice', client: laptop }));
    for (const s of mine) expect((await app.validate(s.token, { client: laptop })).ok).toBe(true);
    expect(await demo.validate(theirs[0]?.token)).toEqual({ ok: false, reason: 'revoked' });
    expect((await demo.list('alice', { kinds: ['demo'] })).length).toBe(2);
    // The laptop was new to the demo's alice the first time, although the application's alice uses it.
    expect(devices).toEqual([theirs[0]?.session.handle]);
  });

  it('refuses accepts, naming kind, and a malformed kind', () => {
    expect(() => createSessions({ store: memoryStore(), accepts: () => true } as never)).toThrow(ConfigError);
    expect(() => createSessions({ store: memoryStore(), accepts: () => true } as never)).toThrow(/accepts is no longer an option of createSessions\(\): records know their kind.*kind: 'refresh'/);
    for (const bad of ['', 'Session', 'has space', '9lives', 'x'.repeat(33), 42, null]) {
      expect(() => createSessions({ store: memoryStore(), kind: bad as never })).toThrow(/kind must be a lower-case name/);
    }
    expect(createSessions({ store: memoryStore(), kind: 'x'.repeat(32) })).toBeDefined();
  });

  it('refuses a store without the key-value facet, naming it', () => {
    const old: Record<string, unknown> = { ...memoryStore() };
    delete old.kv;
    expect(() => createSessions({ store: old as unknown as Store })).toThrow(/key-value facet store\.kv/);
  });
});
