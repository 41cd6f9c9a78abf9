/**
 * An access token stops verifying once its session (refresh family) has
 * ended — sign-out, revocation of the family, "log out everywhere", theft,
 * expiry — at once in the process that ended it, with no store read per
 * verification while the family lives (one per miss), and, with a store that
 * announces nothing, in another process within the staleness bound.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import { ConfigError, StoreUnavailableError } from '../../src/core/errors.js';
import { createSessions } from '../../src/core/sessions.js';
import type { Store } from '../../src/core/store.js';
import { memoryStore } from '../../src/stores/memory.js';
import { sqliteStore } from '../../src/stores/sqlite.js';
import { createAccessTokens } from '../../src/tokens/access.js';
import { createKeySet, type KeySet } from '../../src/tokens/keys.js';
import { createTokens, type TokensOptions } from '../../src/tokens/tokens.js';
import { AUDIENCE, ISSUER, REFRESH_SECRET, setup } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'latchkey-revocation-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The store, counting its reads. */
function counted(store: Store): Store & { reads: number } {
  const wrapped = { ...store, reads: 0 };
  wrapped.get = (handle) => {
    wrapped.reads++;
    return store.get(handle);
  };
  return wrapped;
}

async function countedSetup(tokens: Partial<TokensOptions> = {}) {
  const clock = manualClock();
  const store = counted(memoryStore({ clock }));
  return { ...(await setup({ clock, store, tokens })), store };
}

describe('access tokens of an ended session', () => {
  it('are refused at once after sign-out, though nothing else changed', async () => {
    const { tokens } = await setup();
    const pair = await tokens.issue({ userId: 'u1' });
    expect((await tokens.verify(pair.accessToken)).ok).toBe(true);
    expect(await tokens.revoke(pair.refreshToken)).toBe(true);
    expect(await tokens.verify(pair.accessToken)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('cost one store read on a miss and none on a hit while the family is live, and one more per staleness period', async () => {
    const { tokens, store, clock } = await countedSetup({ revocation: { staleness: '10s' } });
    const pair = await tokens.issue({ userId: 'u1' });
    const before = store.reads;
    expect((await tokens.verify(pair.accessToken)).ok).toBe(true);
    expect(store.reads).toBe(before + 1);
    for (let i = 0; i < 50; i++) expect((await tokens.verify(pair.accessToken)).ok).toBe(true);
    expect(store.reads).toBe(before + 1);
    clock.advance('9s');
    expect((await tokens.verify(pair.accessToken)).ok).toBe(true);
    expect(store.reads).toBe(before + 1);
    clock.advance('1s');
    expect((await tokens.verify(pair.accessToken)).ok).toBe(true);
    expect(store.reads).toBe(before + 2);
  });

  it('share one store read among concurrent verifications of a token not yet cached', async () => {
    const { tokens, store } = await countedSetup();
    const pair = await tokens.issue({ userId: 'u1' });
    const before = store.reads;
    const results = await Promise.all(Array.from({ length: 20 }, () => tokens.verify(pair.accessToken)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(store.reads).toBe(before + 1);
  });

  it('once found ended, are refused again without reading the store', async () => {
    const { tokens, store } = await countedSetup();
    const pair = await tokens.issue({ userId: 'u1' });
    await tokens.revoke(pair.refreshToken);
    expect((await tokens.verify(pair.accessToken)).ok).toBe(false);
    const reads = store.reads;
    for (let i = 0; i < 50; i++) expect(await tokens.verify(pair.accessToken)).toEqual({ ok: false, reason: 'revoked' });
    expect(store.reads).toBe(reads);
  });

  it('stay valid across refreshes, from every generation, until the family is revoked by any handle it had', async () => {
    const { tokens } = await setup();
    const first = await tokens.issue({ userId: 'u1' });
    const second = await tokens.refresh(first.refreshToken);
    if (!second.ok) throw new Error('refresh failed');
    const third = await tokens.refresh(second.refreshToken);
    if (!third.ok) throw new Error('refresh failed');
    for (const t of [first, second, third]) expect((await tokens.verify(t.accessToken)).ok).toBe(true);
    // "Sign out that device" by the sid of its oldest access token.
    expect(await tokens.revokeFamily(first.session.handle)).toBe(true);
    for (const t of [first, second, third]) expect(await tokens.verify(t.accessToken)).toEqual({ ok: false, reason: 'revoked' });
    expect(await tokens.revokeFamily(first.session.handle)).toBe(false);
    expect(await tokens.revokeFamily('nope')).toBe(false);
  });

  it('are all refused after "log out everywhere", every family of the user, and no other user’s', async () => {
    const { tokens } = await setup();
    const a = await tokens.issue({ userId: 'u1' });
    const b = await tokens.issue({ userId: 'u1' });
    const other = await tokens.issue({ userId: 'u2' });
    for (const t of [a, b, other]) expect((await tokens.verify(t.accessToken)).ok).toBe(true);
    expect(await tokens.revokeUser('u1')).toHaveLength(2);
    expect(await tokens.verify(a.accessToken)).toEqual({ ok: false, reason: 'revoked' });
    expect(await tokens.verify(b.accessToken)).toEqual({ ok: false, reason: 'revoked' });
    expect((await tokens.verify(other.accessToken)).ok).toBe(true);
    // Signing in again starts a family whose tokens verify.
    expect((await tokens.verify((await tokens.issue({ userId: 'u1' })).accessToken)).ok).toBe(true);
  });

  it('of every generation of a family are refused once a replayed refresh token reveals theft', async () => {
    const { tokens, clock, thefts } = await setup();
    const first = await tokens.issue({ userId: 'u1' });
    const second = await tokens.refresh(first.refreshToken);
    if (!second.ok) throw new Error('refresh failed');
    const elsewhere = await tokens.issue({ userId: 'u1' });
    for (const t of [first, second, elsewhere]) expect((await tokens.verify(t.accessToken)).ok).toBe(true);
    clock.advance('11s');
    expect(await tokens.refresh(first.refreshToken)).toEqual({ ok: false, reason: 'reused' });
    expect(thefts).toHaveLength(1);
    expect(await tokens.verify(first.accessToken)).toEqual({ ok: false, reason: 'revoked' });
    expect(await tokens.verify(second.accessToken)).toEqual({ ok: false, reason: 'revoked' });
    // The user's other device was not part of the stolen family.
    expect((await tokens.verify(elsewhere.accessToken)).ok).toBe(true);
  });

  it('are refused once the family expires, even while its live verdict is cached', async () => {
    const { tokens, clock } = await setup({ sessions: { idleTimeout: '2m', absoluteTimeout: '30d' }, tokens: { revocation: { staleness: '1h' } } });
    const pair = await tokens.issue({ userId: 'u1' });
    const refreshed = await tokens.refresh(pair.refreshToken);
    if (!refreshed.ok) throw new Error('refresh failed');
    expect((await tokens.verify(refreshed.accessToken)).ok).toBe(true);
    clock.advance('1m 59s');
    expect((await tokens.verify(refreshed.accessToken)).ok).toBe(true);
    clock.advance('1s');
    expect(await tokens.verify(refreshed.accessToken)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('are refused at once when another engine over the same store ends the family (cookie sessions logging the user out everywhere)', async () => {
    const { tokens, store, clock } = await setup({ tokens: { revocation: { staleness: '1h' } } });
    const cookies = createSessions({ store, clock, sweepInterval: false });
    const pair = await tokens.issue({ userId: 'u1' });
    expect((await tokens.verify(pair.accessToken)).ok).toBe(true);
    expect(await cookies.revokeUser('u1')).toEqual([pair.session.handle]);
    expect(await tokens.verify(pair.accessToken)).toEqual({ ok: false, reason: 'revoked' });
    const again = await tokens.issue({ userId: 'u2' });
    expect((await tokens.verify(again.accessToken)).ok).toBe(true);
    expect(await cookies.revoke(again.session.handle)).toBe(true);
    expect(await tokens.verify(again.accessToken)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('are refused by another process within the staleness bound when the store announces nothing (SQLite shared by two processes)', async () => {
    const clock = manualClock();
    const path = join(scratch, 'shared.db');
    const instance = async (keys?: KeySet) => {
      const store = sqliteStore({ path });
      const sessions = createSessions({ store, clock, sweepInterval: false, idleTimeout: '14d', absoluteTimeout: '30d' });
      const k = keys ?? (await createKeySet({ clock }));
      return { sessions, store, keys: k, tokens: createTokens({ sessions, keys: k, issuer: ISSUER, audience: AUDIENCE, refreshSecret: REFRESH_SECRET, revocation: { staleness: '10s' } }) };
    };
    const a = await instance();
    const b = await instance(a.keys);
    try {
      const pair = await a.tokens.issue({ userId: 'u1' });
      expect((await b.tokens.verify(pair.accessToken)).ok).toBe(true);
      expect(await a.tokens.revoke(pair.refreshToken)).toBe(true);
      expect(await a.tokens.verify(pair.accessToken)).toEqual({ ok: false, reason: 'revoked' });
      // B trusts its verdict for at most the bound.
      clock.advance('9s');
      expect((await b.tokens.verify(pair.accessToken)).ok).toBe(true);
      clock.advance('1s');
      expect(await b.tokens.verify(pair.accessToken)).toEqual({ ok: false, reason: 'revoked' });
    } finally {
      await a.sessions.close();
      await b.sessions.close();
      await Promise.all([a.store.close(), b.store.close()]);
    }
  });

  it('fail closed with StoreUnavailableError on a miss when the store is down, and answer a hit without it', async () => {
    const { tokens, store } = await countedSetup();
    const cached = await tokens.issue({ userId: 'u1' });
    const fresh = await tokens.issue({ userId: 'u2' });
    expect((await tokens.verify(cached.accessToken)).ok).toBe(true);
    const get = store.get;
    store.get = async () => {
      throw new Error('ECONNREFUSED');
    };
    try {
      await expect(tokens.verify(fresh.accessToken)).rejects.toThrow(StoreUnavailableError);
      expect((await tokens.verify(cached.accessToken)).ok).toBe(true);
    } finally {
      store.get = get;
    }
    expect((await tokens.verify(fresh.accessToken)).ok).toBe(true);
  });

  it('with revocation: false, stay valid after sign-out until they expire, unless the session is checked', async () => {
    const { tokens, store } = await countedSetup({ revocation: false });
    const pair = await tokens.issue({ userId: 'u1' });
    const reads = store.reads;
    expect((await tokens.verify(pair.accessToken)).ok).toBe(true);
    expect(store.reads).toBe(reads);
    await tokens.revoke(pair.refreshToken);
    expect((await tokens.verify(pair.accessToken)).ok).toBe(true);
    expect(await tokens.verify(pair.accessToken, { checkSession: true })).toEqual({ ok: false, reason: 'revoked' });
  });

  it('with checkSession, are checked against the store on every verification', async () => {
    const { tokens, store } = await countedSetup();
    const pair = await tokens.issue({ userId: 'u1' });
    const reads = store.reads;
    for (let i = 0; i < 3; i++) expect((await tokens.verify(pair.accessToken, { checkSession: true })).ok).toBe(true);
    expect(store.reads).toBe(reads + 3);
  });

  it('refuses revocation options it cannot honour, saying why', async () => {
    const keys = await createKeySet();
    const store = memoryStore();
    const base = { keys, issuer: ISSUER, audience: AUDIENCE };
    expect(() => createAccessTokens({ ...base, revocation: { staleness: '10s' } })).toThrow(
      new ConfigError('revocation needs the store option: the store the sessions (refresh families) live in'),
    );
    expect(() => createAccessTokens({ ...base, store, revocation: { staleness: '10s', ttl: '1m' } as never })).toThrow(
      'revocation.ttl is not an option of createAccessTokens(); known options of revocation: staleness, maxEntries',
    );
    expect(() => createAccessTokens({ ...base, store, revocation: { maxEntries: 0 } })).toThrow('revocation.maxEntries must be a positive whole number');
    expect(() => createAccessTokens({ ...base, store, revocation: { staleness: 'soon' as never } })).toThrow(ConfigError);
    expect(() => createAccessTokens({ ...base, store, revocation: true as never })).toThrow("revocation must be false or { staleness?, maxEntries? }, e.g. { staleness: '10s' }");
    // Without a store, verification is stateless (nothing to ask), as before.
    expect(() => createAccessTokens(base)).not.toThrow();
  });

  it('refuses the retired epochs option and misspelt options rather than ignore them', async () => {
    const { sessions, keys } = await setup();
    const base = { sessions, keys, issuer: ISSUER, audience: AUDIENCE, refreshSecret: REFRESH_SECRET };
    expect(() => createTokens({ ...base, epochs: false } as never)).toThrow(
      new ConfigError(
        'epochs is no longer an option of createTokens(): access tokens are refused once their session ends (sign-out, log out everywhere, theft) through the revocation check; remove epochs, and tune it with revocation: { staleness } (or turn it off with revocation: false)',
      ),
    );
    expect(() => createTokens({ ...base, revokation: false } as never)).toThrow(/^revokation is not an option of createTokens\(\); did you mean revocation\? Known options: sessions, keys, issuer/);
    expect(() => createAccessTokens({ keys, issuer: ISSUER, audience: AUDIENCE, epochs: {} } as never)).toThrow(/^epochs is no longer an option of createAccessTokens\(\): give the store option/);
    expect(() => createAccessTokens({ keys, issuer: ISSUER, audience: AUDIENCE, tll: '5m' } as never)).toThrow(/^tll is not an option of createAccessTokens\(\)/);
  });
});
