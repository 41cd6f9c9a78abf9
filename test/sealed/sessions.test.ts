import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createSealedSessions, createSealer, type CookieWrite, type SealedSessionsOptions } from '../../src/sealed/index.js';
import { manualClock } from '../../src/core/clock.js';
import { ConfigError, InvalidDataError, StoreUnavailableError } from '../../src/core/errors.js';
import { memoryStore } from '../../src/stores/memory.js';
import type { Store } from '../../src/core/store.js';

const K1 = 'k1-0123456789abcdef0123456789abcdef';
const K2 = 'k2-0123456789abcdef0123456789abcdef';

/** A browser's cookie jar: applies Set-Cookie writes, reads by name. */
function jar() {
  const cookies = new Map<string, string>();
  return {
    cookies,
    apply(writes: CookieWrite[]) {
      for (const w of writes) {
        if (w.maxAge === 0) cookies.delete(w.name);
        else cookies.set(w.name, w.value);
      }
    },
    read: (name: string) => cookies.get(name),
  };
}

/** Counts the store's calls: records' (`get`...) and the key-value facet's (`kv.get`...), where sealed mode keeps its values. */
function counting(store: Store) {
  const calls: string[] = [];
  const wrapped = { ...store, kv: { ...store.kv } } as Store;
  for (const op of ['create', 'get', 'touch', 'patch', 'revoke', 'delete'] as const) {
    const fn = store[op].bind(store) as (...a: unknown[]) => Promise<unknown>;
    (wrapped as unknown as Record<string, unknown>)[op] = (...a: unknown[]) => {
      calls.push(op);
      return fn(...a);
    };
  }
  for (const op of ['get', 'set', 'take', 'delete', 'list'] as const) {
    const fn = store.kv[op].bind(store.kv) as (...a: unknown[]) => Promise<unknown>;
    (wrapped.kv as unknown as Record<string, unknown>)[op] = (...a: unknown[]) => {
      calls.push(`kv.${op}`);
      return fn(...a);
    };
  }
  return { store: wrapped, calls };
}

/** Sealed sessions on a manual clock; without a store in `options`, explicitly not revocable. */
function setup(options: Partial<SealedSessionsOptions> = {}) {
  const clock = manualClock();
  const revocable = options.store === undefined ? { revocable: false } : {};
  const sealed = createSealedSessions({ secrets: [K1], clock, idleTimeout: '30m', absoluteTimeout: '12h', ...revocable, ...options });
  return { clock, sealed, browser: jar() };
}

describe('sealed sessions', () => {
  it('carries the session model through the cookie', async () => {
    const { sealed, browser, clock } = setup();
    const created = await sealed.create({ userId: 'u1', data: { theme: 'dark' }, authLevel: 2 });
    browser.apply(await sealed.seal(created));
    expect([...browser.cookies.keys()]).toEqual(['__Host-session']);
    const opened = await sealed.open(browser.read);
    expect(opened).toEqual({ ok: true, session: created, reseal: null, chunks: 1 });
    expect(created).toMatchObject({ userId: 'u1', authTime: clock.now(), authLevel: 2, data: { theme: 'dark' }, version: 1 });
    expect(created.handle).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('answers missing without a cookie and malformed for garbage, never throwing', async () => {
    const { sealed } = setup();
    expect(await sealed.open(() => undefined)).toEqual({ ok: false, reason: 'missing', chunks: 0 });
    expect(await sealed.open(() => 'garbage')).toMatchObject({ ok: false, reason: 'malformed' });
    expect(await sealed.open(() => '3.abc')).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('gives a new session a fresh id every time', async () => {
    const { sealed } = setup();
    const a = await sealed.create();
    const b = await sealed.create();
    expect(a.handle).not.toBe(b.handle);
    expect(a.userId).toBeNull();
    expect(a.authTime).toBeNull();
  });

  it('binds the blob to the cookie name', async () => {
    const clock = manualClock();
    const a = createSealedSessions({ revocable: false, secrets: [K1], clock, cookieName: 'a' });
    const b = createSealedSessions({ revocable: false, secrets: [K1], clock, cookieName: 'b' });
    const [cookie] = await a.seal(await a.create({ userId: 'u1' }));
    expect(await b.open(() => cookie?.value)).toEqual({ ok: false, reason: 'invalid', chunks: 1 });
  });

  it('accepts no fuzzed cookie value and throws nothing', async () => {
    const { sealed, browser } = setup();
    browser.apply(await sealed.seal(await sealed.create({ userId: 'u1', data: { n: 1 } })));
    const real = browser.read('__Host-session') as string;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 300 }), fc.nat().map((i) => real.slice(0, i % real.length))), async (value) => {
        const result = await sealed.open(() => value);
        expect(result.ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  describe('expiry inside the blob', () => {
    it('expires after the idle timeout without use', async () => {
      const { sealed, browser, clock } = setup();
      browser.apply(await sealed.seal(await sealed.create({ userId: 'u1' })));
      clock.advance('29m');
      expect((await sealed.open(browser.read)).ok).toBe(true);
      clock.advance('1m');
      expect(await sealed.open(browser.read)).toEqual({ ok: false, reason: 'expired-idle', chunks: 1 });
    });

    it('slides the idle deadline, re-sealing at most once per touch interval', async () => {
      const { sealed, browser, clock } = setup({ touchInterval: '5m' });
      browser.apply(await sealed.seal(await sealed.create({ userId: 'u1' })));
      const reseals: (string | null)[] = [];
      for (let i = 0; i < 30; i++) {
        clock.advance('1m');
        const opened = await sealed.open(browser.read);
        if (!opened.ok) throw new Error(`refused after ${i + 1} minutes: ${opened.reason}`);
        reseals.push(opened.reseal);
        if (opened.reseal !== null) browser.apply(await sealed.seal(opened.session, { previousChunks: opened.chunks }));
      }
      expect(reseals.filter((r) => r === 'touch')).toHaveLength(6);
      expect(reseals.slice(0, 5)).toEqual([null, null, null, null, 'touch']);
    });

    it('expires at the absolute deadline however active', async () => {
      const { sealed, browser, clock } = setup({ idleTimeout: '30m', absoluteTimeout: '1h', touchInterval: '1m' });
      browser.apply(await sealed.seal(await sealed.create({ userId: 'u1' })));
      for (let i = 0; i < 5; i++) {
        clock.advance('10m');
        const opened = await sealed.open(browser.read);
        if (opened.ok && opened.reseal !== null) browser.apply(await sealed.seal(opened.session));
      }
      clock.advance('9m');
      const last = await sealed.open(browser.read);
      expect(last.ok && last.session.idleExpiresAt).toBe(last.ok && last.session.absoluteExpiresAt);
      expect(last.ok && last.reseal).toBe(null);
      clock.advance('1m');
      expect(await sealed.open(browser.read)).toMatchObject({ ok: false, reason: 'expired-absolute' });
    });

    it('sets the cookie Max-Age to the absolute deadline', async () => {
      const { sealed, clock } = setup({ absoluteTimeout: '2h' });
      const s = await sealed.create();
      clock.advance('30m');
      const [cookie] = await sealed.seal(s);
      expect(cookie?.maxAge).toBe(5400);
    });
  });

  describe('key rotation', () => {
    it('opens a session sealed with a retired key and asks for a re-seal with the new one', async () => {
      const clock = manualClock();
      const before = createSealedSessions({ revocable: false, secrets: [K2], clock });
      const after = createSealedSessions({ revocable: false, secrets: [K1, K2], clock });
      const browser = jar();
      browser.apply(await before.seal(await before.create({ userId: 'u1' })));
      const opened = await after.open(browser.read);
      expect(opened.ok && opened.reseal).toBe('key-rotation');
      if (!opened.ok) return;
      browser.apply(await after.seal(opened.session));
      const again = await after.open(browser.read);
      expect(again.ok && again.reseal).toBe(null);
      // The old key can now be dropped.
      const only = createSealedSessions({ revocable: false, secrets: [K1], clock });
      expect((await only.open(browser.read)).ok).toBe(true);
    });

    it('refuses a session sealed with a key no longer configured', async () => {
      const clock = manualClock();
      const before = createSealedSessions({ revocable: false, secrets: [K2], clock });
      const after = createSealedSessions({ revocable: false, secrets: [K1], clock });
      const [cookie] = await before.seal(await before.create());
      expect(await after.open(() => cookie?.value)).toEqual({ ok: false, reason: 'unknown-key', chunks: 1 });
    });
  });

  describe('data', () => {
    it('updates keys without touching the others, and bumps the version', async () => {
      const { sealed } = setup();
      const s = await sealed.create({ data: { a: 1, b: 2 } });
      const t = sealed.update(s, { set: { c: 3 }, unset: ['a'] });
      expect(t.data).toEqual({ b: 2, c: 3 });
      expect(t.version).toBe(2);
      expect(s.data).toEqual({ a: 1, b: 2 });
    });

    it('refuses data that is not JSON or too big, with InvalidDataError', async () => {
      const { sealed } = setup({ maxDataBytes: 100 });
      await expect(sealed.create({ data: { big: 'x'.repeat(200) } })).rejects.toThrow('session data is over maxDataBytes (100 bytes)');
      const s = await sealed.create();
      expect(() => sealed.update(s, { set: { n: 10n } })).toThrow(InvalidDataError);
    });
  });

  describe('size discipline', () => {
    it('splits a big session across numbered cookies and joins it back', async () => {
      const { sealed, browser } = setup({ maxCookieBytes: 1000, maxTotalBytes: 5000, maxChunks: 5 });
      const s = await sealed.create({ userId: 'u1', data: { notes: 'n'.repeat(2000) } });
      const writes = await sealed.seal(s);
      expect(writes.length).toBeGreaterThan(1);
      expect(writes.map((w) => w.name)).toEqual(writes.map((_, i) => (i === 0 ? '__Host-session' : `__Host-session.${i}`)));
      for (const w of writes) expect(w.name.length + 1 + w.value.length + 120).toBeLessThanOrEqual(1000);
      browser.apply(writes);
      const opened = await sealed.open(browser.read);
      expect(opened.ok && opened.session.data).toEqual({ notes: 'n'.repeat(2000) });
      expect(opened.ok && opened.chunks).toBe(writes.length);
    });

    it('deletes leftover parts when the session shrinks', async () => {
      const { sealed, browser } = setup({ maxCookieBytes: 1000, maxTotalBytes: 5000, maxChunks: 5 });
      browser.apply(await sealed.seal(await sealed.create({ data: { notes: 'n'.repeat(2000) } })));
      const opened = await sealed.open(browser.read);
      if (!opened.ok) throw new Error(opened.reason);
      const writes = await sealed.seal(sealed.update(opened.session, { unset: ['notes'] }), { previousChunks: opened.chunks });
      expect(opened.chunks).toBeGreaterThan(1);
      expect(writes.map((w) => [w.name, w.maxAge === 0])).toEqual(
        Array.from({ length: opened.chunks }, (_, i) => [i === 0 ? '__Host-session' : `__Host-session.${i}`, i > 0]),
      );
      browser.apply(writes);
      expect([...browser.cookies.keys()]).toEqual(['__Host-session']);
      expect((await sealed.open(browser.read)).ok).toBe(true);
    });

    it('refuses a missing or re-ordered part', async () => {
      const { sealed, browser } = setup({ maxCookieBytes: 1000, maxTotalBytes: 5000, maxChunks: 5 });
      browser.apply(await sealed.seal(await sealed.create({ data: { notes: 'n'.repeat(2000) } })));
      const one = browser.cookies.get('__Host-session.1') as string;
      const two = browser.cookies.get('__Host-session.2') as string;
      expect(one.length).toBe(two.length);
      browser.cookies.set('__Host-session.1', two);
      browser.cookies.set('__Host-session.2', one);
      expect(await sealed.open(browser.read)).toMatchObject({ ok: false, reason: 'invalid' });
      browser.cookies.set('__Host-session.1', one);
      browser.cookies.set('__Host-session.2', two);
      expect((await sealed.open(browser.read)).ok).toBe(true);
      browser.cookies.delete('__Host-session.2');
      expect(await sealed.open(browser.read)).toMatchObject({ ok: false, reason: 'malformed' });
    });

    it('throws a clear InvalidDataError beyond the total limit, never dropping data', async () => {
      const { sealed } = setup({ maxCookieBytes: 1000, maxTotalBytes: 2500, maxChunks: 5 });
      const s = await sealed.create({ data: { notes: 'n'.repeat(3000) } });
      await expect(sealed.seal(s)).rejects.toThrow(InvalidDataError);
      await expect(sealed.seal(s)).rejects.toThrow(
        /^the sealed session is \d+ characters and does not fit 5 cookies \(maxTotalBytes 2500\); store less data in it, or configure a store so that large sessions spill there$/,
      );
    });

    it('spills the data of a big session to the store and keeps a handle in one cookie', async () => {
      const { store, calls } = counting(memoryStore());
      const { sealed, browser, clock } = setup({ store });
      const big = { notes: 'n'.repeat(10_000) };
      const s = await sealed.create({ userId: 'u1', data: big });
      calls.length = 0;
      const writes = await sealed.seal(s);
      expect(writes).toHaveLength(1);
      expect((writes[0]?.value.length ?? 0) < 1000).toBe(true);
      expect(calls).toEqual(['kv.set']);
      browser.apply(writes);
      calls.length = 0;
      const opened = await sealed.open(browser.read);
      expect(opened.ok && opened.session.data).toEqual(big);
      expect(calls).toEqual(['kv.get', 'kv.get']);
      // A touch re-seal does not write the data again.
      clock.advance('5m');
      const touched = await sealed.open(browser.read);
      if (!touched.ok) throw new Error(touched.reason);
      expect(touched.reseal).toBe('touch');
      calls.length = 0;
      browser.apply(await sealed.seal(touched.session));
      expect(calls).toEqual([]);
      expect((await sealed.open(browser.read)).ok).toBe(true);
    });

    it('gives data carried into a signed-in session its own spill record, living as long as the new session', async () => {
      const { store, calls } = counting(memoryStore());
      const { sealed, browser, clock } = setup({ store, idleTimeout: '1h', absoluteTimeout: '2h' });
      const data = { notes: 'n'.repeat(10_000) };
      const anon = jar();
      anon.apply(await sealed.seal(await sealed.create({ data })));
      clock.advance('30m');
      const opened = await sealed.open(anon.read);
      if (!opened.ok) throw new Error(opened.reason);
      // Sign-in starts from a fresh payload: the application carries the data over explicitly.
      const signedIn = sealed.update(await sealed.login(opened.session, 'u1'), { set: opened.session.data as Record<string, unknown> });
      calls.length = 0;
      browser.apply(await sealed.seal(signedIn));
      expect(calls).toEqual(['kv.set']);
      // Past the anonymous session's absolute deadline, the new one still has its data.
      for (let i = 0; i < 4; i++) {
        clock.advance('25m');
        const again = await sealed.open(browser.read);
        if (!again.ok) throw new Error(again.reason);
        if (again.reseal !== null) browser.apply(await sealed.seal(again.session));
      }
      await store.sweep(clock.now(), 100);
      const late = await sealed.open(browser.read);
      expect(late.ok && late.session.data).toEqual(data);
    });

    it('refuses a spilled session whose data is gone from the store', async () => {
      const store = memoryStore();
      const { sealed, browser } = setup({ store });
      browser.apply(await sealed.seal(await sealed.create({ data: { notes: 'n'.repeat(10_000) } })));
      const opened = await sealed.open(browser.read);
      if (!opened.ok) throw new Error(opened.reason);
      const sweeper = await store.sweep(Number.MAX_SAFE_INTEGER, 100);
      expect(sweeper).toBeGreaterThan(0);
      expect(await sealed.open(browser.read)).toMatchObject({ ok: false, reason: 'spill-missing' });
    });
  });

  describe('revocation', () => {
    it('revokes one session at once, leaving the user\'s others', async () => {
      const { sealed } = setup({ store: memoryStore() });
      const laptop = jar();
      const phone = jar();
      const a = await sealed.create({ userId: 'u1' });
      laptop.apply(await sealed.seal(a));
      phone.apply(await sealed.seal(await sealed.create({ userId: 'u1' })));
      await sealed.revoke(a);
      expect(await sealed.open(laptop.read)).toMatchObject({ ok: false, reason: 'revoked' });
      expect((await sealed.open(phone.read)).ok).toBe(true);
    });

    it('revokes an anonymous session', async () => {
      const { sealed, browser } = setup({ store: memoryStore() });
      const s = await sealed.create({ data: { cart: 1 } });
      browser.apply(await sealed.seal(s));
      await sealed.revoke(s);
      expect(await sealed.open(browser.read)).toMatchObject({ ok: false, reason: 'revoked' });
    });

    it('logs a user out everywhere but the current session, and later sessions still work', async () => {
      const { sealed } = setup({ store: memoryStore() });
      const laptop = jar();
      const phone = jar();
      const other = jar();
      const current = await sealed.create({ userId: 'u1' });
      laptop.apply(await sealed.seal(current));
      phone.apply(await sealed.seal(await sealed.create({ userId: 'u1' })));
      other.apply(await sealed.seal(await sealed.create({ userId: 'u2' })));
      const kept = await sealed.revokeUser('u1', { except: current });
      if (kept === null) throw new Error('expected the current session back');
      laptop.apply(await sealed.seal(kept));
      expect((await sealed.open(laptop.read)).ok).toBe(true);
      expect(await sealed.open(phone.read)).toMatchObject({ ok: false, reason: 'revoked' });
      expect((await sealed.open(other.read)).ok).toBe(true);
      const later = jar();
      later.apply(await sealed.seal(await sealed.create({ userId: 'u1' })));
      expect((await sealed.open(later.read)).ok).toBe(true);
    });

    it('reads the store once per request without a cache', async () => {
      const { store, calls } = counting(memoryStore());
      const { sealed, browser } = setup({ store });
      browser.apply(await sealed.seal(await sealed.create({ userId: 'u1' })));
      calls.length = 0;
      for (let i = 0; i < 5; i++) await sealed.open(browser.read);
      expect(calls).toEqual(['kv.get', 'kv.get', 'kv.get', 'kv.get', 'kv.get']);
    });

    it('reads the store at most once per staleness bound with a cache', async () => {
      const { store, calls } = counting(memoryStore());
      const { sealed, browser, clock } = setup({ store, revocationCache: { ttl: '10s' } });
      // create() reads the current epoch from the store (never the cache) and caches it.
      browser.apply(await sealed.seal(await sealed.create({ userId: 'u1' })));
      calls.length = 0;
      for (let i = 0; i < 25; i++) {
        expect((await sealed.open(browser.read)).ok).toBe(true);
        clock.advance('1s');
      }
      // Refreshed at 10 s and 20 s.
      expect(calls).toEqual(['kv.get', 'kv.get']);
    });

    it('honours a revocation made by another instance within the staleness bound', async () => {
      const shared = memoryStore();
      const clock = manualClock();
      const options = { secrets: [K1], clock, store: shared, idleTimeout: '30m' };
      const cached = createSealedSessions({ ...options, revocationCache: { ttl: '5s' } });
      const admin = createSealedSessions(options);
      const browser = jar();
      const s = await cached.create({ userId: 'u1' });
      browser.apply(await cached.seal(s));
      expect((await cached.open(browser.read)).ok).toBe(true);
      await admin.revokeUser('u1');
      clock.advance('4999ms');
      // Still cached: the bound allows up to 5 s of staleness.
      expect((await cached.open(browser.read)).ok).toBe(true);
      clock.advance('1ms');
      expect(await cached.open(browser.read)).toMatchObject({ ok: false, reason: 'revoked' });
    });

    it('honours its own revocations at once, cache or not', async () => {
      const { sealed, browser } = setup({ store: memoryStore(), revocationCache: { ttl: '1h' } });
      const s = await sealed.create({ userId: 'u1' });
      browser.apply(await sealed.seal(s));
      expect((await sealed.open(browser.read)).ok).toBe(true);
      await sealed.revoke(s);
      expect(await sealed.open(browser.read)).toMatchObject({ ok: false, reason: 'revoked' });
    });

    it('keeps revocation records through key rotation', async () => {
      const store = memoryStore();
      const clock = manualClock();
      const before = createSealedSessions({ secrets: [K2], clock, store });
      const browser = jar();
      browser.apply(await before.seal(await before.create({ userId: 'u1' })));
      await before.revokeUser('u1');
      const after = createSealedSessions({ secrets: [K1, K2], clock, store });
      expect(await after.open(browser.read)).toMatchObject({ ok: false, reason: 'revoked' });
    });

    it('still revokes older sessions after the revocation record was swept and re-created', async () => {
      const store = memoryStore();
      const { sealed, clock } = setup({ store, idleTimeout: '1h', absoluteTimeout: '2h' });
      const first = jar();
      first.apply(await sealed.seal(await sealed.create({ userId: 'u1' })));
      await sealed.revokeUser('u1');
      clock.advance('60m');
      // Sealed under the epoch of the first revocation; outlives its record.
      const second = jar();
      second.apply(await sealed.seal(await sealed.create({ userId: 'u1' })));
      clock.advance('50m');
      const keep = await sealed.open(second.read);
      if (!keep.ok) throw new Error(keep.reason);
      second.apply(await sealed.seal(keep.session));
      clock.advance('11m');
      expect(await store.sweep(clock.now(), 100)).toBe(1);
      const alive = await sealed.open(second.read);
      expect(alive.ok).toBe(true);
      await sealed.revokeUser('u1');
      expect(await sealed.open(second.read)).toMatchObject({ ok: false, reason: 'revoked' });
    });

    it('fails closed when the store is down', async () => {
      const store = memoryStore();
      const { sealed, browser } = setup({ store });
      browser.apply(await sealed.seal(await sealed.create({ userId: 'u1' })));
      const broken: Store = { ...store, kv: { ...store.kv, get: () => Promise.reject(new Error('connection refused')) } };
      const down = createSealedSessions({ secrets: [K1], clock: manualClock(), store: broken });
      await expect(down.open(browser.read)).rejects.toThrow(StoreUnavailableError);
    });

    it('refuses to revoke with revocable: false, saying why', async () => {
      const { sealed } = setup();
      const s = await sealed.create({ userId: 'u1' });
      await expect(sealed.revoke(s)).rejects.toThrow('revoke() needs revocation: configure store (and remove revocable: false) to revoke sealed sessions before they expire');
      await expect(sealed.revokeUser('u1')).rejects.toThrow(
        'revokeUser() needs revocation: configure store (and remove revocable: false) to revoke sealed sessions before they expire',
      );
    });
  });

  describe('sign-in', () => {
    it('starts from a fresh payload at login: a new id, a new lifetime, the user epoch, and none of the data', async () => {
      const { sealed, clock } = setup({ store: memoryStore() });
      await sealed.revokeUser('u1');
      const anon = await sealed.create({ data: { cart: [1] } });
      clock.advance('10m');
      const signedIn = await sealed.login(anon, 'u1', { authLevel: 1 });
      expect(signedIn.handle).not.toBe(anon.handle);
      expect(signedIn).toMatchObject({ userId: 'u1', createdAt: clock.now(), authTime: clock.now(), authLevel: 1, version: 1 });
      expect(signedIn.data).toEqual({});
      expect(signedIn.userEpoch).toBeGreaterThan(0);
      const out = await sealed.login(signedIn, null);
      expect(out).toMatchObject({ userId: null, authTime: null, authLevel: 0 });
      expect(out.data).toEqual({});
    });
  });

  describe('configuration', () => {
    const cases: [Partial<SealedSessionsOptions>, string][] = [
      [{ idleTimeout: '2h', absoluteTimeout: '1h' }, 'idleTimeout (7200000 ms) is longer than absoluteTimeout (3600000 ms); make it shorter or equal'],
      [{ touchInterval: '30m' }, 'touchInterval (1800000 ms) must be shorter than idleTimeout (1800000 ms)'],
      [{ maxCookieBytes: 5000 }, 'maxCookieBytes must be at most 4096: browsers may drop larger cookies (got 5000)'],
      [{ maxCookieBytes: 300 }, 'maxCookieBytes (300) leaves less than 200 bytes beside cookieAttributeBytes (120); raise it'],
      [{ maxChunks: 0 }, 'maxChunks must be a positive whole number (got 0)'],
      [{ overflow: 'spill' }, "overflow: 'spill' needs a store; pass store, or use overflow: 'chunk'"],
      [{ overflow: 'drop' as 'chunk' }, "overflow must be 'chunk' or 'spill' (got \"drop\")"],
      [{ revocationCache: { ttl: '5s' } }, 'revocationCache needs a store: revocation records live there'],
      [{ cookieName: 'bad name' }, "cookieName must be a cookie name token such as '__Host-session' (got \"bad name\")"],
      [{ revocable: 'no' as never }, 'revocable must be a boolean (got "no")'],
      [
        { revocable: false, store: memoryStore() },
        'revocable: false and a store contradict each other: a store makes sealed sessions revocable; remove revocable: false to keep revocation, or remove store',
      ],
      [{ idleTimeout: 'soon' }, "idleTimeout must be a duration such as '30m', '12h' or a number of milliseconds (got \"soon\")"],
      [{ store: {} as Store }, 'store must be a latchkey Store, e.g. memoryStore() from latchkey/stores/memory or sqliteStore() from latchkey/stores/sqlite'],
      [{ secrets: 'too short' }, 'secrets[0] is 9 bytes; a sealing secret must be at least 32 random bytes.'],
      [
        { idleTimout: '5m' } as Partial<SealedSessionsOptions>,
        'idleTimout is not an option of createSealedSessions(); did you mean idleTimeout? Known options: secrets, cookieName, idleTimeout, absoluteTimeout, touchInterval, maxCookieBytes, cookieAttributeBytes, maxTotalBytes, maxChunks, maxDataBytes, store, revocable, overflow, revocationCache, storeTimeout, clock',
      ],
    ];
    for (const [options, message] of cases) {
      it(`refuses ${JSON.stringify(Object.keys(options))}: ${message}`, () => {
        const make = () => createSealedSessions({ secrets: [K1], revocable: false, ...options });
        expect(make).toThrow(ConfigError);
        expect(make).toThrow(message);
      });
    }

    it('requires a store for the revocation epochs unless revocable: false says otherwise, naming both fixes', () => {
      for (const options of [{}, { revocable: true }]) {
        const make = () => createSealedSessions({ secrets: [K1], ...options });
        expect(make).toThrow(ConfigError);
        expect(make).toThrow(
          'sealed sessions need a store for their revocation epochs, so that sign-out ends a session even where a copy of its cookie lives on: pass store (e.g. sqliteStore() from latchkey/stores/sqlite, or your Redis or PostgreSQL store), or give up revocation explicitly with revocable: false',
        );
      }
      expect(createSealedSessions({ secrets: [K1], store: memoryStore() }).revocable).toBe(true);
      expect(createSealedSessions({ secrets: [K1], revocable: true, store: memoryStore() }).revocable).toBe(true);
      expect(createSealedSessions({ secrets: [K1], revocable: false }).revocable).toBe(false);
    });

    it('does not change the options object it is given', () => {
      const options = Object.freeze({ secrets: Object.freeze([K1]), idleTimeout: '10m', revocable: false });
      expect(() => createSealedSessions(options)).not.toThrow();
    });
  });
});

describe('the sealer and sealed sessions agree', () => {
  it('uses the same format: a session cookie opens with createSealer under the cookie name', async () => {
    const sealed = createSealedSessions({ revocable: false, secrets: [K1] });
    const [cookie] = await sealed.seal(await sealed.create({ userId: 'u1' }));
    const opened = await createSealer({ secrets: [K1] }).unseal(cookie?.value, '__Host-session');
    expect(opened.ok && JSON.parse(new TextDecoder().decode(opened.plaintext))[1]).toBe('u1');
  });

  it('refuses an authentic blob that does not hold a session payload', async () => {
    const sealed = createSealedSessions({ revocable: false, secrets: [K1] });
    const sealer = createSealer({ secrets: [K1] });
    for (const plaintext of ['{"u":"u1"}', 'not json', '[]', '["a",null,1,0,0,null,0,1,1,1,0,[]]', '["a",null,-1,0,0,null,0,1,1,1,0,{}]']) {
      const value = await sealer.seal(plaintext, '__Host-session');
      expect(await sealed.open(() => value)).toEqual({ ok: false, reason: 'malformed', chunks: 1 });
    }
    const valid = await sealer.seal('["a",null,1,0,0,null,0,100000,100000,1,0,{}]', '__Host-session');
    expect((await createSealedSessions({ revocable: false, secrets: [K1], clock: { now: () => 2 } }).open(() => valid)).ok).toBe(true);
  });
});
