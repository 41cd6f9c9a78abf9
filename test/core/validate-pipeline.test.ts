// validate() is one pipeline whether the record comes from the store or from
// the cache: each step below is checked both ways, with the cache warm (the
// session validated once before the step) so that the cached copy is used.
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import type { SessionEvents } from '../../src/core/events.js';
import { createSessions, type SessionsOptions } from '../../src/core/sessions.js';
import type { Store } from '../../src/core/store.js';
import { memoryStore } from '../../src/stores/memory.js';

const laptop = { ip: '203.0.113.10', userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0' };
const phone = { ip: '198.51.100.20', userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15' };

function setup(cached: boolean, options: Partial<SessionsOptions> = {}) {
  const clock = manualClock();
  const inner = memoryStore({ clock });
  const seen = { reads: 0, touches: 0 };
  const store: Store = {
    ...inner,
    get: (handle) => {
      seen.reads++;
      return inner.get(handle);
    },
    touch: (...args) => {
      seen.touches++;
      return inner.touch(...args);
    },
  };
  const sessions = createSessions({
    store,
    clock,
    sweepInterval: false,
    idleTimeout: '10m',
    touchInterval: '1m',
    ...(cached ? { cache: { staleness: '1h' } } : {}),
    ...options,
  });
  const events: Array<{ name: keyof SessionEvents; event: unknown }> = [];
  for (const name of ['rotated', 'revoked', 'expired', 'anomaly'] as const) sessions.on(name, (event) => events.push({ name, event }));
  return { sessions, clock, inner, seen, events };
}

describe.each([
  ['from the store', false],
  ['from the cache', true],
])('validation %s', (_source, cached) => {
  it('slides the idle deadline once the touch interval has passed, in the store and in the answer', async () => {
    const { sessions, clock, inner, seen } = setup(cached);
    const { token, session } = await sessions.create({ userId: 'u1' });
    await sessions.validate(token);
    clock.advance('1m');
    const r = await sessions.validate(token);
    expect(r.ok && r.session.lastSeenAt).toBe(clock.now());
    expect(r.ok && r.session.idleExpiresAt).toBe(clock.now() + 600_000);
    expect((await inner.get(session.handle))?.idleExpiresAt).toBe(clock.now() + 600_000);
    expect(seen.touches).toBe(1);
    // Inside the next interval: no write.
    clock.advance('59s');
    expect((await sessions.validate(token)).ok).toBe(true);
    expect(seen.touches).toBe(1);
    // Where the record came from: the store each time, or the store once and the cache after.
    expect(seen.reads).toBe(cached ? 1 : 3);
  });

  it('refuses another client with reauth and keeps the session for its owner', async () => {
    const { sessions, events } = setup(cached, { binding: { userAgent: true, onMismatch: 'reauth' } });
    const { token } = await sessions.create({ userId: 'u1', client: laptop });
    await sessions.validate(token, { client: laptop });
    expect(await sessions.validate(token, { client: phone })).toEqual({ ok: false, reason: 'binding-mismatch' });
    expect((await sessions.validate(token, { client: laptop })).ok).toBe(true);
    expect(events.map((e) => e.name)).toEqual(['anomaly']);
  });

  it('revokes on a mismatch with revoke, so that even the owner is refused next', async () => {
    const { sessions, events } = setup(cached, { binding: { userAgent: true, onMismatch: 'revoke' } });
    const { token, session } = await sessions.create({ userId: 'u1', client: laptop });
    await sessions.validate(token, { client: laptop });
    expect(await sessions.validate(token, { client: phone })).toEqual({ ok: false, reason: 'binding-mismatch' });
    expect(await sessions.validate(token, { client: laptop })).toEqual({ ok: false, reason: 'revoked' });
    expect(events.map((e) => e.name)).toEqual(['anomaly', 'revoked']);
    expect(events[1]?.event).toMatchObject({ handle: session.handle, cause: 'binding' });
  });

  it('lets a mismatch through with log, reporting it once per request', async () => {
    const { sessions, events } = setup(cached, { binding: { userAgent: true, onMismatch: 'log' } });
    const { token } = await sessions.create({ userId: 'u1', client: laptop });
    await sessions.validate(token, { client: laptop });
    expect((await sessions.validate(token, { client: phone })).ok).toBe(true);
    expect(events.filter((e) => e.name === 'anomaly')).toHaveLength(1);
  });

  it('expires an idle session, deletes it and says which deadline passed', async () => {
    const { sessions, clock, inner, events } = setup(cached);
    const { token, session } = await sessions.create({ userId: 'u1' });
    await sessions.validate(token);
    clock.advance('10m');
    expect(await sessions.validate(token)).toEqual({ ok: false, reason: 'expired-idle' });
    expect(await inner.get(session.handle)).toBeNull();
    expect(events).toEqual([{ name: 'expired', event: { handle: session.handle, userId: 'u1', kind: 'idle', at: clock.now() } }]);
  });

  it('renews a due token once, and the old token stands for the new one during the overlap', async () => {
    const { sessions, clock, events } = setup(cached, { renewal: { interval: '5m', overlap: '30s' } });
    const { token, session } = await sessions.create({ userId: 'u1' });
    await sessions.validate(token);
    clock.advance('5m');
    const r = await sessions.validate(token);
    const renewed = r.ok ? r.renewed?.token : undefined;
    expect(renewed).toBeDefined();
    expect(events.map((e) => e.name)).toEqual(['rotated']);
    const through = await sessions.validate(token);
    expect(through.ok && through.session.handle).toBe(r.ok && r.session.handle);
    expect(through.ok && through.session.handle).not.toBe(session.handle);
    expect(through.ok && through.renewed).toBeUndefined();
    clock.advance('30s');
    expect(await sessions.validate(token)).toEqual({ ok: false, reason: 'revoked' });
    expect((await sessions.validate(renewed)).ok).toBe(true);
  });

  it('leaves a due token as it is with renew: false (a caller that cannot send a new one), and still slides its idle deadline', async () => {
    const { sessions, clock, seen, events } = setup(cached, { renewal: { interval: '5m', overlap: '30s' } });
    const { token } = await sessions.create({ userId: 'u1' });
    await sessions.validate(token);
    clock.advance('5m');
    const touches = seen.touches;
    const r = await sessions.validate(token, { renew: false });
    expect(r.ok && r.renewed).toBeUndefined();
    expect(r.ok && r.session.idleExpiresAt).toBe(clock.now() + 10 * 60_000);
    expect(seen.touches).toBe(touches + 1);
    expect(events).toEqual([]);
    clock.advance('5m');
    // Still the same token, still valid until a caller that can send the renewed one comes.
    expect((await sessions.validate(token, { renew: false })).ok).toBe(true);
    const renewing = await sessions.validate(token);
    expect(renewing.ok && renewing.renewed?.token).toBeDefined();
  });

  it('says renewalDue with renew: false only while a renewal is due, and not for the renewed token nor the old one through its overlap', async () => {
    const { sessions, clock, events } = setup(cached, { renewal: { interval: '5m', overlap: '30s' } });
    const { token } = await sessions.create({ userId: 'u1' });
    const early = await sessions.validate(token, { renew: false });
    expect(early.ok && early.renewalDue).toBeUndefined();
    clock.advance('5m');
    // Due: once with the touch that slides the idle deadline, once inside the touch interval without one.
    for (let i = 0; i < 2; i++) {
      const due = await sessions.validate(token, { renew: false });
      expect(due.ok && due.renewalDue).toBe(true);
    }
    expect(events).toEqual([]);
    const renewed = await sessions.validate(token);
    expect(renewed.ok && renewed.renewalDue).toBeUndefined();
    const next = renewed.ok ? renewed.renewed?.token : undefined;
    expect(next).toBeDefined();
    const through = await sessions.validate(token, { renew: false });
    expect(through.ok && through.renewalDue).toBeUndefined();
    const fresh = await sessions.validate(next, { renew: false });
    expect(fresh.ok && fresh.renewalDue).toBeUndefined();
  });

  it('renews a due token with a renew condition only when the session meets it, and otherwise says renewalDue as with renew: false', async () => {
    const { sessions, clock, events } = setup(cached, { renewal: { interval: '5m', overlap: '30s' } });
    const { token, session } = await sessions.create({ userId: 'u1', data: { device: 'none' } });
    await sessions.validate(token);
    clock.advance('5m');
    const asked: unknown[] = [];
    const refused = await sessions.validate(token, {
      renew: (s) => {
        asked.push(s.data.device);
        return s.data.device === 'bound';
      },
    });
    expect(refused.ok && refused.renewed).toBeUndefined();
    expect(refused.ok && refused.renewalDue).toBe(true);
    expect(events).toEqual([]);
    // The condition sees the session as it is when the renewal would happen, a change since the first call included.
    expect(await sessions.patch(session.handle, { set: { device: 'bound' } })).toMatchObject({ ok: true });
    const renewed = await sessions.validate(token, { renew: (s) => (asked.push(s.data.device), s.data.device === 'bound') });
    expect(renewed.ok && renewed.renewed?.token).toBeDefined();
    expect(asked).toEqual(['none', 'bound']);
    expect(events.map((e) => e.name)).toEqual(['rotated']);
  });

  it('honours only records of its kind, and touches nothing of another engine’s record', async () => {
    const { sessions, clock, seen, inner } = setup(cached, { kind: 'mine' });
    const other = createSessions({ store: inner, clock, sweepInterval: false });
    const mine = await sessions.create({ userId: 'u1' });
    const theirs = await other.create({ userId: 'u1' });
    await sessions.validate(mine.token);
    await sessions.validate(theirs.token);
    clock.advance('1m');
    expect((await sessions.validate(mine.token)).ok).toBe(true);
    expect(await sessions.validate(theirs.token)).toEqual({ ok: false, reason: 'unknown' });
    expect(seen.touches).toBe(1);
  });
});
