import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { manualClock } from '../../src/core/clock.js';
import { ConfigError } from '../../src/core/errors.js';
import { createSessions } from '../../src/core/sessions.js';
import type { Store } from '../../src/core/store.js';
import { memoryStore } from '../../src/stores/memory.js';
import { createRefreshTokens, type RefreshEvents } from '../../src/tokens/refresh.js';
import { setup } from './helpers.js';

const GUESSER = { ip: '203.0.113.9', userAgent: 'curl/8' };
const NEIGHBOUR = { ip: '203.0.113.10', userAgent: 'curl/8' };
/** Well-formed, never issued. */
const guess = (): string => `${randomBytes(16).toString('base64url')}.${randomBytes(32).toString('base64url')}`;

/** A store that counts the reads it answers. */
function counting(store: Store): { store: Store; reads: () => number } {
  let reads = 0;
  return {
    store: { ...store, get: (h) => ((reads += 1), store.get(h)) },
    reads: () => reads,
  };
}

describe('the refresh-token guessing throttle', () => {
  it('refuses a client after 20 invalid refresh tokens in a minute, without reading the store, and lets it in again when the window ends', async () => {
    const clock = manualClock();
    const { store, reads } = counting(memoryStore({ clock }));
    const { tokens } = await setup({ clock, store });
    const { refreshToken } = await tokens.issue({ userId: 'u1' });
    for (let i = 0; i < 20; i++) {
      expect(await tokens.refresh(guess(), { client: GUESSER })).toEqual({ ok: false, reason: 'unknown' });
      clock.advance('1s');
    }
    const before = reads();
    // Even a valid token is refused while the window runs: the client is throttled, not the token.
    expect(await tokens.refresh(refreshToken, { client: GUESSER })).toEqual({ ok: false, reason: 'throttled', retryAfter: 40 });
    expect(reads()).toBe(before);
    // Another client is not.
    const other = await tokens.refresh(refreshToken, { client: NEIGHBOUR });
    expect(other.ok).toBe(true);
    // On the engine's clock: once the window has passed, the guesser's own valid token works again.
    clock.advance('41s');
    const again = await tokens.refresh(other.ok ? other.refreshToken : '', { client: GUESSER });
    expect(again.ok).toBe(true);
  });

  it('counts malformed and replayed (reused) tokens too, and emits one anomaly when the client reaches the threshold', async () => {
    const clock = manualClock();
    const { tokens } = await setup({ clock, tokens: { guessing: { threshold: 3 } } });
    const anomalies: Array<RefreshEvents['anomaly']> = [];
    tokens.on('anomaly', (a) => anomalies.push(a));
    const { refreshToken } = await tokens.issue({ userId: 'u1' });
    const next = await tokens.refresh(refreshToken, { client: GUESSER });
    expect(next.ok).toBe(true);
    clock.advance('11s');
    expect(await tokens.refresh(refreshToken, { client: GUESSER })).toEqual({ ok: false, reason: 'reused' });
    expect(await tokens.refresh('not a token', { client: GUESSER })).toEqual({ ok: false, reason: 'malformed' });
    expect(anomalies).toEqual([]);
    expect(await tokens.refresh(guess(), { client: GUESSER })).toEqual({ ok: false, reason: 'unknown' });
    expect(anomalies).toEqual([{ kind: 'invalid-token-burst', ip: GUESSER.ip, count: 3, at: clock.now() }]);
    expect(await tokens.refresh(guess(), { client: GUESSER })).toMatchObject({ ok: false, reason: 'throttled' });
    expect(anomalies).toHaveLength(1);
  });

  it('neither counts nor refuses refreshes that say nothing of their client, and is off with guessing: false', async () => {
    const { tokens } = await setup({ tokens: { guessing: { threshold: 2 } } });
    for (let i = 0; i < 5; i++) expect(await tokens.refresh(guess())).toEqual({ ok: false, reason: 'unknown' });
    const off = await setup({ tokens: { guessing: false } });
    for (let i = 0; i < 30; i++) expect(await off.tokens.refresh(guess(), { client: GUESSER })).toEqual({ ok: false, reason: 'unknown' });
  });
});

describe('createRefreshTokens() takes the engine', () => {
  it('refuses store, clock and storeTimeout, which are the engine’s, and misspelt options', () => {
    const store = memoryStore();
    const sessions = createSessions({ store, sweepInterval: false });
    const secret = randomBytes(32);
    for (const key of ['store', 'clock', 'storeTimeout']) {
      expect(() => createRefreshTokens({ sessions, secret, [key]: key === 'store' ? store : key === 'clock' ? manualClock() : '1s' } as never)).toThrow(
        new RegExp(`^${key} is no longer an option of createRefreshTokens\\(\\): refresh rotation reads the engine's store, on the engine's clock`),
      );
    }
    expect(() => createRefreshTokens({ sessions, secret, graceWindw: '5s' } as never)).toThrow(
      new ConfigError('graceWindw is not an option of createRefreshTokens(); did you mean graceWindow? Known options: sessions, secret, graceWindow, guessing, onError'),
    );
    expect(() => createRefreshTokens({ sessions, secret, guessing: { treshold: 5 } } as never)).toThrow(
      new ConfigError('guessing.treshold is not an option of createRefreshTokens(); did you mean guessing.threshold? Known options of guessing: threshold, window, maxClients'),
    );
  });

  it('refuses anything but an engine made by createSessions()', () => {
    const sessions = createSessions({ store: memoryStore(), sweepInterval: false });
    const lookalike = { ...sessions };
    expect(() => createRefreshTokens({ sessions: lookalike, secret: randomBytes(32) })).toThrow(new ConfigError('sessions must be the engine from createSessions()'));
  });
});
