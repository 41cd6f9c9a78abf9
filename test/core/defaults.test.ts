/**
 * The timeouts a session gets when the application sets none, as
 * docs/security.md states them against NIST SP 800-63B and ASVS: 30 minutes
 * without use, 12 hours in all, however active.
 */
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import { createSessions } from '../../src/core/sessions.js';
import { memoryStore } from '../../src/stores/memory.js';

describe('the default timeouts', () => {
  it('end a session unused for 30 minutes, and an active one 12 hours after it began', async () => {
    const clock = manualClock();
    const sessions = createSessions({ store: memoryStore({ clock }), clock, sweepInterval: false });
    const idle = await sessions.create({ userId: 'u1' });
    const active = await sessions.create({ userId: 'u1' });
    clock.advance('29m');
    expect((await sessions.validate(active.token)).ok).toBe(true);
    clock.advance('1m');
    expect(await sessions.validate(idle.token)).toEqual({ ok: false, reason: 'expired-idle' });
    // Used every 25 minutes: the idle deadline slides, the absolute one does not.
    for (let at = 30; at + 25 < 12 * 60; at += 25) {
      clock.advance('25m');
      expect((await sessions.validate(active.token)).ok, `at ${at + 25} minutes`).toBe(true);
    }
    clock.set(active.session.createdAt + 12 * 3_600_000);
    expect(await sessions.validate(active.token)).toEqual({ ok: false, reason: 'expired-absolute' });
    await sessions.close();
  });
});
