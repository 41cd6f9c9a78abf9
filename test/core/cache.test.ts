import { describe, expect, it } from 'vitest';
import { createSessions, type SessionsOptions } from '../../src/core/sessions.js';
import { manualClock } from '../../src/core/clock.js';
import { ConfigError } from '../../src/core/errors.js';
import type { InvalidationListener, Store } from '../../src/core/store.js';
import { memoryStore } from '../../src/stores/memory.js';

const laptop = { ip: '203.0.113.10', userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0' };

/** A memory store that counts reads and touches and, when `announcing`, declares invalidations and hands out its listener. */
function observed(announcing = false) {
  const inner = memoryStore();
  const seen = { reads: 0, touches: 0, listener: null as InvalidationListener | null, unsubscribed: false };
  const store: Store = {
    ...inner,
    capabilities: { ...inner.capabilities, invalidations: announcing },
    get: (handle) => {
      seen.reads++;
      return inner.get(handle);
    },
    touch: (...args) => {
      seen.touches++;
      return inner.touch(...args);
    },
  };
  if (announcing) {
    store.subscribe = async (listener) => {
      seen.listener = listener;
      return async () => {
        seen.unsubscribed = true;
      };
    };
  }
  return { store, inner, seen };
}

function setup(options: Partial<SessionsOptions> = {}, announcing = false) {
  const clock = manualClock();
  const { store, inner, seen } = observed(announcing);
  const sessions = createSessions({ store, clock, sweepInterval: false, cache: { staleness: '5s' }, ...options });
  return { sessions, clock, store, inner, seen };
}

describe('the cache option', () => {
  it('needs a staleness bound, with a message that says what it is', () => {
    const store = memoryStore();
    expect(() => createSessions({ store, cache: {} as { staleness: string } })).toThrow(
      new ConfigError("cache needs staleness: the longest a cached session is trusted without a store read, e.g. '5s'"),
    );
    expect(() => createSessions({ store, cache: { staleness: 'soon' } })).toThrow(/cache.staleness must be a duration/);
    expect(() => createSessions({ store, cache: { staleness: '5s', maxEntries: 0 } })).toThrow(/cache.maxEntries must be a positive whole number/);
    expect(() => createSessions({ store, cache: null as unknown as false })).toThrow(/cache must be false or/);
  });

  it('refuses a store that declares invalidations without a subscribe() method', () => {
    const inner = memoryStore();
    const store: Store = { ...inner, capabilities: { ...inner.capabilities, invalidations: true } };
    expect(() => createSessions({ store, cache: { staleness: '5s' } })).toThrow(/declares capabilities.invalidations but has no subscribe/);
    // Without the cache, the capability is not used.
    expect(() => createSessions({ store })).not.toThrow();
  });

  it('is off by default and with cache: false: every validation reads the store', async () => {
    for (const cache of [undefined, false] as const) {
      const { sessions, seen } = setup({ cache });
      const { token } = await sessions.create({ userId: 'u1' });
      await sessions.validate(token);
      await sessions.validate(token);
      expect(seen.reads).toBe(2);
    }
  });
});

describe('validation through the cache', () => {
  it('answers a session read less than staleness ago without a store read', async () => {
    const { sessions, seen, clock } = setup();
    const { token, session } = await sessions.create({ userId: 'u1', data: { cart: 1 } });
    const first = await sessions.validate(token);
    expect(seen.reads).toBe(1);
    clock.advance('4s');
    const second = await sessions.validate(token);
    expect(seen.reads).toBe(1);
    expect(second).toEqual(first);
    expect(second.ok && second.session.handle).toBe(session.handle);
    clock.advance('1s');
    await sessions.validate(token);
    expect(seen.reads).toBe(2);
  });

  it('still verifies the secret against the cached hash', async () => {
    const { sessions, seen } = setup();
    const { token } = await sessions.create({ userId: 'u1' });
    await sessions.validate(token);
    const [handle, secret] = token.split('.') as [string, string];
    const forged = `${handle}.${secret.slice(0, -2)}${secret.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(await sessions.validate(forged)).toEqual({ ok: false, reason: 'unknown' });
    expect(seen.reads).toBe(1);
    expect((await sessions.validate(token)).ok).toBe(true);
  });

  it('never caches an unknown token', async () => {
    const { sessions, seen } = setup();
    const { token } = await sessions.create({ userId: 'u1' });
    const unknown = `${'A'.repeat(22)}.${token.split('.')[1] as string}`;
    expect((await sessions.validate(unknown)).ok).toBe(false);
    expect((await sessions.validate(unknown)).ok).toBe(false);
    expect(seen.reads).toBe(2);
  });

  it('sees the engine’s own revoke, patch, rotate and revokeUser at once', async () => {
    const { sessions } = setup();
    const one = await sessions.create({ userId: 'u1', data: { cart: 1 } });
    const two = await sessions.create({ userId: 'u1' });
    const three = await sessions.create({ userId: 'u1' });
    for (const s of [one, two, three]) expect((await sessions.validate(s.token)).ok).toBe(true);

    expect((await sessions.patch(one.session.handle, { set: { cart: 2 } })).ok).toBe(true);
    const patched = await sessions.validate(one.token);
    expect(patched.ok && patched.session.data).toEqual({ cart: 2 });

    expect(await sessions.revoke(one.session.handle)).toBe(true);
    expect(await sessions.validate(one.token)).toEqual({ ok: false, reason: 'revoked' });

    const rotated = await sessions.rotate(two.token);
    expect(rotated.ok).toBe(true);
    expect(await sessions.validate(two.token)).toEqual({ ok: false, reason: 'revoked' });

    expect(await sessions.revokeUser('u1')).toHaveLength(2);
    expect(await sessions.validate(three.token)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('still applies the timeouts: an idle-expired cached session is refused and deleted', async () => {
    const { sessions, clock, inner } = setup({ idleTimeout: '10s', touchInterval: '1s', cache: { staleness: '1m' } });
    const { token, session } = await sessions.create({ userId: 'u1' });
    await sessions.validate(token);
    clock.advance('10s');
    expect(await sessions.validate(token)).toEqual({ ok: false, reason: 'expired-idle' });
    expect(await inner.get(session.handle)).toBeNull();
  });

  it('touches at most once per touchInterval, and keeps the touched copy', async () => {
    const { sessions, clock, seen } = setup({ idleTimeout: '10m', touchInterval: '1m', cache: { staleness: '1h' } });
    const { token } = await sessions.create({ userId: 'u1' });
    await sessions.validate(token);
    for (let i = 0; i < 5; i++) {
      clock.advance('20s');
      await sessions.validate(token);
    }
    // 100 s of requests every 20 s: one touch (at 60 s), answered from the cache throughout.
    expect(seen.touches).toBe(1);
    expect(seen.reads).toBe(1);
    clock.advance('10s');
    const r = await sessions.validate(token);
    expect(r.ok && r.session.lastSeenAt).toBe(clock.now() - 50_000);
    // The idle deadline moved: 10 min after the touch, not after creation (passed by now).
    clock.advance('9m');
    expect((await sessions.validate(token)).ok).toBe(true);
  });

  it('asks the store when the store refuses a touch of a cached session (it changed behind the engine’s back)', async () => {
    const { sessions, clock, inner } = setup({ idleTimeout: '10m', touchInterval: '1m', cache: { staleness: '1h' } });
    const { token, session } = await sessions.create({ userId: 'u1' });
    await sessions.validate(token);
    await inner.revoke(session.handle, clock.now() + 3_600_000);
    clock.advance('1m');
    expect(await sessions.validate(token)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('still checks the client binding of a cached session', async () => {
    const { sessions } = setup({ binding: { userAgent: true } });
    const { token } = await sessions.create({ userId: 'u1', client: laptop });
    expect((await sessions.validate(token, { client: laptop })).ok).toBe(true);
    expect(await sessions.validate(token, { client: { ...laptop, userAgent: 'curl/8.0' } })).toEqual({ ok: false, reason: 'binding-mismatch' });
  });

  it('still renews tokens on schedule', async () => {
    const { sessions, clock } = setup({ renewal: { interval: '1m' }, cache: { staleness: '1h' } });
    const { token } = await sessions.create({ userId: 'u1' });
    await sessions.validate(token);
    clock.advance('1m');
    const r = await sessions.validate(token);
    expect(r.ok && r.renewed).toBeDefined();
    const renewed = r.ok && r.renewed !== undefined ? r.renewed.token : '';
    expect((await sessions.validate(renewed)).ok).toBe(true);
  });

  it('sees a change behind the engine’s back (another process, no invalidations) after staleness, not before', async () => {
    const { sessions, clock, inner } = setup({ cache: { staleness: '5s' } });
    const { token, session } = await sessions.create({ userId: 'u1' });
    await sessions.validate(token);
    await inner.revoke(session.handle, clock.now() + 3_600_000);
    clock.advance('4999ms');
    expect((await sessions.validate(token)).ok).toBe(true);
    clock.advance('1ms');
    expect(await sessions.validate(token)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('keeps at most maxEntries sessions, evicting the oldest fill first', async () => {
    const { sessions, seen } = setup({ cache: { staleness: '1m', maxEntries: 2 } });
    const tokens = [];
    for (let i = 0; i < 3; i++) tokens.push((await sessions.create({ userId: `u${i}` })).token);
    for (const t of tokens) await sessions.validate(t);
    expect(seen.reads).toBe(3);
    await sessions.validate(tokens[2] as string);
    await sessions.validate(tokens[1] as string);
    expect(seen.reads).toBe(3);
    await sessions.validate(tokens[0] as string);
    expect(seen.reads).toBe(4);
  });
});

describe('the cache with a store that announces invalidations', () => {
  it('is bypassed until the subscription is live', async () => {
    const { sessions, seen } = setup({}, true);
    const { token } = await sessions.create({ userId: 'u1' });
    await sessions.validate(token);
    await sessions.validate(token);
    expect(seen.reads).toBe(2);
    seen.listener?.status(true);
    await sessions.validate(token);
    await sessions.validate(token);
    expect(seen.reads).toBe(3);
  });

  it('forgets the sessions a message names, and every session of a user a message names', async () => {
    const { sessions, seen } = setup({}, true);
    seen.listener?.status(true);
    const one = await sessions.create({ userId: 'u1' });
    const two = await sessions.create({ userId: 'u2' });
    await sessions.validate(one.token);
    await sessions.validate(two.token);
    expect(seen.reads).toBe(2);
    seen.listener?.invalidate({ handles: [one.session.handle] });
    await sessions.validate(one.token);
    await sessions.validate(two.token);
    expect(seen.reads).toBe(3);
    seen.listener?.invalidate({ userId: 'u2' });
    await sessions.validate(two.token);
    expect(seen.reads).toBe(4);
    // A message naming nothing (or unreadable) forgets everything.
    seen.listener?.invalidate({});
    await sessions.validate(one.token);
    await sessions.validate(two.token);
    expect(seen.reads).toBe(6);
  });

  it('is bypassed while the subscription is lost, and starts empty when it is back', async () => {
    const { sessions, seen } = setup({}, true);
    seen.listener?.status(true);
    const { token } = await sessions.create({ userId: 'u1' });
    await sessions.validate(token);
    expect(seen.reads).toBe(1);
    seen.listener?.status(false);
    await sessions.validate(token);
    await sessions.validate(token);
    expect(seen.reads).toBe(3);
    seen.listener?.status(true);
    await sessions.validate(token);
    await sessions.validate(token);
    expect(seen.reads).toBe(4);
  });

  it('never caches a read that an invalidation overtook', async () => {
    const clock = manualClock();
    const inner = memoryStore();
    let listener: InvalidationListener | null = null;
    let release: (() => void) | null = null;
    const store: Store = {
      ...inner,
      capabilities: { ...inner.capabilities, invalidations: true },
      // The read answers what the store held when it started, but only after an invalidation arrived.
      get: async (handle) => {
        const before = await inner.get(handle);
        if (release === null) await new Promise<void>((r) => (release = r));
        return before;
      },
      subscribe: async (l) => {
        listener = l;
        return async () => {};
      },
    };
    const sessions = createSessions({ store, clock, sweepInterval: false, cache: { staleness: '1h' } });
    (listener as InvalidationListener | null)?.status(true);
    const { token, session } = await sessions.create({ userId: 'u1' });
    const pending = sessions.validate(token);
    await new Promise((r) => setTimeout(r, 5));
    await inner.revoke(session.handle, clock.now() + 3_600_000);
    (listener as InvalidationListener | null)?.invalidate({ handles: [session.handle] });
    (release as (() => void) | null)?.();
    expect((await pending).ok).toBe(true);
    expect(await sessions.validate(token)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('holds the staleness bound when messages are lost on a subscription that looks live', async () => {
    const { sessions, seen, inner, clock } = setup({ cache: { staleness: '300ms' } }, true);
    seen.listener?.status(true);
    const { token, session } = await sessions.create({ userId: 'u1' });
    await sessions.validate(token);
    await inner.revoke(session.handle, clock.now() + 3_600_000); // announced to nobody
    clock.advance('299ms');
    expect((await sessions.validate(token)).ok).toBe(true);
    clock.advance('1ms');
    expect(await sessions.validate(token)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('sees at once what another engine of this process changed in the same store, though the store announces nothing', async () => {
    const { sessions, seen, clock, store } = setup({ cache: { staleness: '1h' } });
    const other = createSessions({ store, clock, sweepInterval: false });
    const one = await sessions.create({ userId: 'u1' });
    const two = await sessions.create({ userId: 'u2' });
    expect((await sessions.validate(one.token)).ok).toBe(true);
    expect((await sessions.validate(two.token)).ok).toBe(true);
    const reads = seen.reads;
    expect((await sessions.validate(one.token)).ok).toBe(true);
    expect(seen.reads).toBe(reads);
    expect(await other.revoke(one.session.handle)).toBe(true);
    expect(await sessions.validate(one.token)).toEqual({ ok: false, reason: 'revoked' });
    expect(await other.revokeUser('u2')).toEqual([two.session.handle]);
    expect(await sessions.validate(two.token)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('shares one subscription to the store among the engines of a process, until the last one closes', async () => {
    const clock = manualClock();
    const { store } = observed(true);
    let subscribed = 0;
    let stopped = 0;
    const subscribe = store.subscribe!.bind(store);
    store.subscribe = async (listener) => {
      subscribed++;
      const stop = await subscribe(listener);
      return async () => {
        stopped++;
        await stop();
      };
    };
    const a = createSessions({ store, clock, sweepInterval: false, cache: { staleness: '5s' } });
    const b = createSessions({ store, clock, sweepInterval: false, cache: { staleness: '5s' } });
    expect(subscribed).toBe(1);
    await a.close();
    expect(stopped).toBe(0);
    await b.close();
    expect(stopped).toBe(1);
  });

  it('unsubscribes on close()', async () => {
    const { sessions, seen } = setup({}, true);
    await sessions.close();
    expect(seen.unsubscribed).toBe(true);
  });
});
