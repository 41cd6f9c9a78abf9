import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import { createSessions } from '../../src/core/sessions.js';
import { ConfigError } from '../../src/core/errors.js';
import type { SessionEvents } from '../../src/core/events.js';
import { parseToken, hashSecret } from '../../src/core/token.js';
import type { Store } from '../../src/core/store.js';
import { memoryStore } from '../../src/stores/memory.js';
import { sqliteStore } from '../../src/stores/sqlite.js';
import { redisStore } from '../../src/stores/redis/index.js';
import { redisAvailable, startRedis, type RedisServer } from '../servers/redis.js';
import { createRefreshTokens } from '../../src/tokens/refresh.js';
import { setup } from './helpers.js';

const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), 'latchkey-tokens-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A store whose every call takes a random few milliseconds, so concurrent requests really interleave. */
function withLatency(store: Store): Store {
  const slow = { ...store } as Record<string, unknown>;
  for (const op of ['create', 'get', 'touch', 'patch', 'replace', 'revoke', 'revokeUser', 'delete', 'listUser'] as const) {
    const fn = store[op].bind(store) as (...a: unknown[]) => Promise<unknown>;
    slow[op] = async (...a: unknown[]) => {
      await new Promise((r) => setTimeout(r, Math.random() * 4));
      const out = await fn(...a);
      await new Promise((r) => setTimeout(r, Math.random() * 4));
      return out;
    };
  }
  return slow as unknown as Store;
}

const stores: Array<[string, () => Store]> = [
  ['memory', () => memoryStore()],
  ['memory (with latency)', () => withLatency(memoryStore())],
  ['sqlite', () => sqliteStore({ path: join(scratch, `${randomBytes(6).toString('hex')}.db`) })],
];

describe.each(stores)('refresh tokens on the %s store', (_name, makeStore) => {
  it('rotates the refresh token on every use and keeps one family', async () => {
    const { tokens, store } = await setup({ store: makeStore() });
    const first = await tokens.issue({ userId: 'u1', data: { plan: 'pro' } });
    const second = await tokens.refresh(first.refreshToken);
    expect(second.ok).toBe(true);
    if (!second.ok) return;
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(parseToken(second.refreshToken)).not.toBeNull();
    expect(second.session.createdAt).toBe(first.session.createdAt);
    expect(second.session.data).toEqual({ plan: 'pro' });
    expect((await tokens.verify(second.accessToken)).ok).toBe(true);
    // Only hashes are stored.
    const rec = await store.get(second.session.handle);
    const secret = parseToken(second.refreshToken)?.secret as string;
    expect(rec?.secretHash).toBe(hashSecret(secret));
    expect(JSON.stringify(rec)).not.toContain(secret);
    const old = await store.get(first.session.handle);
    expect(old).toMatchObject({ status: 'revoked', successor: second.session.handle });
  });

  it('lets 20 concurrent refreshes with one token all succeed on one family, without a theft event', async () => {
    const { tokens, thefts, store, sessions } = await setup({ store: makeStore() });
    const rotated: Array<SessionEvents['rotated']> = [];
    sessions.on('rotated', (e) => rotated.push(e));
    const { refreshToken, session } = await tokens.issue({ userId: 'u1' });
    const results = await Promise.all(Array.from({ length: 20 }, () => tokens.refresh(refreshToken)));
    expect(results.every((r) => r.ok)).toBe(true);
    const tokensSeen = new Set(results.map((r) => (r.ok ? r.refreshToken : '')));
    const handles = new Set(results.map((r) => (r.ok ? r.session.handle : '')));
    expect(tokensSeen.size).toBe(1);
    expect(handles.size).toBe(1);
    expect(thefts).toEqual([]);
    expect(rotated).toHaveLength(1);
    expect(rotated[0]).toMatchObject({ from: session.handle, cause: 'refresh' });
    expect((await store.listUser('u1')).map((r) => r.handle)).toEqual([...handles]);
    // The converged token works for the next round.
    const next = await tokens.refresh([...tokensSeen][0]);
    expect(next.ok).toBe(true);
  });

  it('sends a late loser to the live token even when the winner already refreshed again', async () => {
    const { tokens, clock, thefts } = await setup({ store: makeStore() });
    const t0 = (await tokens.issue({ userId: 'u1' })).refreshToken;
    const t1 = await tokens.refresh(t0);
    clock.advance('3s');
    const t2 = await tokens.refresh(t1.ok ? t1.refreshToken : '');
    clock.advance('3s');
    const late = await tokens.refresh(t0);
    expect(late.ok && t2.ok && late.refreshToken === t2.refreshToken).toBe(true);
    expect(thefts).toEqual([]);
  });

  it('treats reuse after the grace window as theft: revokes the family and fires token-theft', async () => {
    const { tokens, clock, thefts, sessions } = await setup({ store: makeStore() });
    const revoked: Array<SessionEvents['revoked']> = [];
    sessions.on('revoked', (e) => revoked.push(e));
    const first = await tokens.issue({ userId: 'u1' });
    const second = await tokens.refresh(first.refreshToken);
    clock.advance('5s');
    const third = await tokens.refresh(second.ok ? second.refreshToken : '');
    if (!third.ok) throw new Error('refresh failed');
    clock.advance('11s');
    const stolen = await tokens.refresh(first.refreshToken, { client: { ip: '198.51.100.7' } });
    expect(stolen).toEqual({ ok: false, reason: 'reused' });
    expect(thefts).toHaveLength(1);
    expect(thefts[0]).toMatchObject({ handle: first.session.handle, revoked: [third.session.handle], userId: 'u1', ip: '198.51.100.7' });
    expect(JSON.stringify(thefts)).not.toContain(parseToken(first.refreshToken)?.secret);
    expect(revoked.map((e) => e.handle)).toEqual([third.session.handle]);
    // Every token of the family is dead, the live one included, and its access tokens fail a session check.
    expect(await tokens.refresh(third.refreshToken)).toEqual({ ok: false, reason: 'revoked' });
    expect(await tokens.refresh(second.ok ? second.refreshToken : '')).toMatchObject({ ok: false });
    expect(await tokens.verify(third.accessToken, { checkSession: true })).toEqual({ ok: false, reason: 'revoked' });
    // The user's outstanding access tokens are refused statelessly too (epoch bumped on theft).
    expect(await tokens.verify(third.accessToken)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('refuses malformed, unknown, wrong-secret and expired refresh tokens', async () => {
    const { tokens, clock } = await setup({ store: makeStore(), sessions: { idleTimeout: '1h', absoluteTimeout: '2h' } });
    expect(await tokens.refresh('nope')).toEqual({ ok: false, reason: 'malformed' });
    expect(await tokens.refresh(`${'A'.repeat(22)}.${'B'.repeat(43)}`)).toEqual({ ok: false, reason: 'unknown' });
    const { refreshToken } = await tokens.issue({ userId: 'u1' });
    const wrong = `${refreshToken.slice(0, 23)}${'C'.repeat(43)}`;
    expect(await tokens.refresh(wrong)).toEqual({ ok: false, reason: 'unknown' });
    clock.advance('61m');
    expect(await tokens.refresh(refreshToken)).toEqual({ ok: false, reason: 'expired' });
  });

  it('signs out the family from its refresh token', async () => {
    const { tokens } = await setup({ store: makeStore() });
    const pair = await tokens.issue({ userId: 'u1' });
    expect(await tokens.revoke(pair.refreshToken)).toBe(true);
    expect(await tokens.revoke(pair.refreshToken)).toBe(false);
    expect(await tokens.refresh(pair.refreshToken)).toEqual({ ok: false, reason: 'revoked' });
  });
});

describe('refresh token configuration', () => {
  it('needs a derivation secret of at least 32 bytes', () => {
    const store = memoryStore();
    const sessions = createSessions({ store, sweepInterval: false });
    expect(() => createRefreshTokens({ sessions, secret: 'short' })).toThrow(ConfigError);
    expect(() => createRefreshTokens({ sessions, secret: [] })).toThrow(/secret/);
    expect(() => createRefreshTokens({ sessions, secret: 'x'.repeat(32), graceWindow: '5m' })).toThrow(/graceWindow/);
  });

  it('still converges when the derivation secret changed mid-race (old secret kept second)', async () => {
    const clock = manualClock();
    const store = memoryStore();
    const sessions = createSessions({ store, clock, sweepInterval: false });
    const oldKey = randomBytes(32);
    const before = createRefreshTokens({ sessions, secret: oldKey });
    const after = createRefreshTokens({ sessions, secret: [randomBytes(32), oldKey] });
    const { token } = await before.issue({ userId: 'u1' });
    const won = await before.refresh(token);
    const late = await after.refresh(token);
    expect(won.ok && late.ok && won.token === late.token).toBe(true);
  });

  it('never follows an engine rotation as if it were a refresh', async () => {
    const clock = manualClock();
    const store = memoryStore();
    const sessions = createSessions({ store, clock, sweepInterval: false });
    const refresh = createRefreshTokens({ sessions, secret: randomBytes(32) });
    const { token } = await refresh.issue({ userId: 'u1' });
    const manual = await sessions.rotate(token);
    expect(manual.ok).toBe(true);
    expect(await refresh.refresh(token)).toEqual({ ok: false, reason: 'revoked' });
    // The engine itself never accepts a refreshed-away token.
    const r = await refresh.refresh(manual.ok ? manual.token : '');
    expect(r.ok).toBe(true);
    expect(await sessions.validate(manual.ok ? manual.token : '')).toEqual({ ok: false, reason: 'revoked' });
  });
});

describe.skipIf(!redisAvailable)('refresh tokens on the redis store', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('lets 20 concurrent refreshes with one token all succeed on one family, and detects reuse after the grace window', async () => {
    const clock = manualClock();
    const store = redisStore({ url: server.url, prefix: `tokens${process.pid}:`, clock });
    const { tokens, thefts } = await setup({ clock, store });
    try {
      const { refreshToken } = await tokens.issue({ userId: 'u1' });
      const results = await Promise.all(Array.from({ length: 20 }, () => tokens.refresh(refreshToken)));
      expect(results.every((r) => r.ok)).toBe(true);
      expect(new Set(results.map((r) => (r.ok ? r.refreshToken : ''))).size).toBe(1);
      expect(thefts).toEqual([]);
      clock.advance('11s');
      expect(await tokens.refresh(refreshToken)).toEqual({ ok: false, reason: 'reused' });
      expect(thefts).toHaveLength(1);
      const live = results[0]?.ok ? results[0].refreshToken : '';
      expect(await tokens.refresh(live)).toEqual({ ok: false, reason: 'revoked' });
    } finally {
      await store.close();
    }
  });
});

describe('refresh race across processes', () => {
  it('lets 4 processes × 5 concurrent refreshes of one token on one SQLite file all succeed on one family', async () => {
    const path = join(scratch, 'shared.db');
    const secret = randomBytes(32).toString('base64url');
    const store = sqliteStore({ path });
    const sessions = createSessions({ store, sweepInterval: false, idleTimeout: '14d', absoluteTimeout: '30d' });
    const refresh = createRefreshTokens({ sessions, secret });
    const { token } = await refresh.issue({ userId: 'u1' });
    const fixture = new URL('./fixtures/refresh-racer.mjs', import.meta.url).pathname;
    const outputs = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const { stdout } = await run(process.execPath, [fixture, path, secret, token, '5']);
        return JSON.parse(stdout.trim().split('\n').pop() as string) as { results: Array<{ ok: boolean; token?: string }>; thefts: number };
      }),
    );
    const results = outputs.flatMap((o) => o.results);
    expect(results).toHaveLength(20);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(new Set(results.map((r) => r.token)).size).toBe(1);
    expect(outputs.reduce((n, o) => n + o.thefts, 0)).toBe(0);
    expect(await store.listUser('u1')).toHaveLength(1);
    await sessions.close();
    await store.close();
  });
});

describe('a store that does not answer', () => {
  it('fails refresh and revoke with StoreUnavailableError after storeTimeout', async () => {
    const base = memoryStore();
    const hanging: Store = { ...base, capabilities: { ...base.capabilities, inProcess: false }, get: () => new Promise(() => {}) };
    const sessions = createSessions({ store: hanging, sweepInterval: false, storeTimeout: '50ms' });
    const refresh = createRefreshTokens({ sessions, secret: 'k'.repeat(32) });
    const token = `${'A'.repeat(22)}.${'B'.repeat(43)}`;
    // The store never answers: only the engine's own 50 ms deadline ends each call, and the error names it.
    const bounded = { code: 'ERR_STORE_UNAVAILABLE', message: 'the session store did not answer within 50 ms' };
    await expect(refresh.refresh(token)).rejects.toMatchObject(bounded);
    await expect(refresh.revoke(token)).rejects.toMatchObject(bounded);
  });
});
