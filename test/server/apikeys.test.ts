import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/sessions.js';
import type { Store } from '../../src/core/store.js';
import { API_KEY_NAMESPACE, apiKeys } from '../../src/core/api-keys.js';
import { openStore } from '../../src/stores/open.js';
import { storeServers } from '../helpers/store-servers.js';

const KEY = /^lk_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$/;
const dir = mkdtempSync(join(tmpdir(), 'latchkey-apikeys-'));

const servers = storeServers();

const stores: Array<[string, () => string | null]> = [
  ['memory', () => 'memory:'],
  ['SQLite', () => `sqlite:${join(dir, 'keys.db')}`],
  ...servers.urls,
];

describe.each(stores)('API keys on %s', (_name, url) => {
  let store: Store;
  beforeAll(async () => {
    const u = url();
    if (u !== null) store = await openStore(u);
  });
  afterAll(async () => {
    await store?.close();
  });

  it('are made, listed, verified and revoked; the store keeps only a hash', async (t) => {
    if (store === undefined) return t.skip();
    const keys = apiKeys(store, { cacheMs: 0 });
    const { key, info } = await keys.create('billing backend');
    expect(key).toMatch(KEY);
    expect(key.slice(3, 27)).toBe(info.id);
    expect(info.name).toBe('billing backend');

    // A value of the key-value facet, never a session record; the secret's hash only.
    expect(await store.get(info.id)).toBeNull();
    const raw = await store.kv.get(API_KEY_NAMESPACE, info.id, Date.now());
    expect(JSON.parse(raw?.value ?? '{}')).toEqual({ name: 'billing backend', createdAt: info.createdAt, secretHash: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(raw?.expiresAt).toBeNull();
    expect(JSON.stringify(raw)).not.toContain(key.slice(28));

    expect((await keys.list()).map((k) => k.id)).toContain(info.id);
    expect(await keys.verify(key)).toEqual({ ok: true, key: info });
    expect(await keys.revoke(info.id)).toBe(true);
    expect(await keys.verify(key)).toEqual({ ok: false, reason: 'unknown' });
    expect(await keys.revoke(info.id)).toBe(false);
    expect((await keys.list()).map((k) => k.id)).not.toContain(info.id);
  });

  it('refuse a wrong secret, a malformed key and a session token', async (t) => {
    if (store === undefined) return t.skip();
    const keys = apiKeys(store, { cacheMs: 0 });
    const { key } = await keys.create();
    const last = key.at(-1) === 'A' ? 'B' : 'A';
    expect(await keys.verify(key.slice(0, -1) + last)).toEqual({ ok: false, reason: 'unknown' });
    for (const bad of [undefined, 42, '', 'lk_', key + 'x', key.replace('lk_', 'lx_'), `Bearer ${key}`]) {
      expect(await keys.verify(bad), String(bad)).toEqual({ ok: false, reason: 'malformed' });
    }
    const sessions = createSessions({ store, sweepInterval: false });
    const { token } = await sessions.create({ userId: 'u1' });
    expect(await keys.verify(token)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('cannot be used as session tokens, and sessions cannot stand for keys', async (t) => {
    if (store === undefined) return t.skip();
    const keys = apiKeys(store, { cacheMs: 0 });
    const { key, info } = await keys.create();
    const sessions = createSessions({ store, sweepInterval: false });
    // The key's id is not a session handle: every engine call refuses it.
    expect(await sessions.validate(`${info.id}.${key.slice(28)}`)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(await sessions.get(info.id).catch(() => null)).toBeNull();
    // A session of any user, the user id API keys once had included, is not a key, nor listed as one.
    const { token, session } = await sessions.create({ userId: 'latchkey:apikeys' });
    expect(await keys.verify(`lk_${'0'.repeat(24)}_${token.split('.')[1]}`)).toEqual({ ok: false, reason: 'unknown' });
    expect((await keys.list()).map((k) => k.id)).not.toContain(session.handle);
    expect((await sessions.list('latchkey:apikeys')).map((d) => d.handle)).toEqual([session.handle]);
  });

  it('forget a revoked key at once in every checker of this process on the same store', async (t) => {
    if (store === undefined) return t.skip();
    const now = Date.now();
    const a = apiKeys(store, { cacheMs: 60_000, now: () => now });
    const b = apiKeys(store, { cacheMs: 60_000, now: () => now });
    const { key, info } = await a.create('cached');
    expect((await a.verify(key)).ok).toBe(true);
    expect((await b.verify(key)).ok).toBe(true);
    expect(await b.revoke(info.id)).toBe(true);
    expect((await b.verify(key)).ok).toBe(false);
    // a checked the key within its minute of trust, and heard of the revocation all the same.
    expect((await a.verify(key)).ok).toBe(false);
    await a.close();
    await b.close();
  });
});

it('on SQLite, where no channel announces it, leave a revoked key trusted by another process for cacheMs at most', async () => {
  const file = `sqlite:${join(dir, 'two-processes.db')}`;
  const one = await openStore(file);
  const two = await openStore(file);
  try {
    let now = Date.now();
    const a = apiKeys(one, { cacheMs: 5000, now: () => now });
    const b = apiKeys(two, { cacheMs: 5000, now: () => now });
    const { key, info } = await a.create('cached');
    expect((await a.verify(key)).ok).toBe(true);
    expect(await b.revoke(info.id)).toBe(true);
    expect((await b.verify(key)).ok).toBe(false);
    expect((await a.verify(key)).ok).toBe(true); // unheard: trusted within cacheMs
    now += 5001;
    expect((await a.verify(key)).ok).toBe(false);
  } finally {
    await one.close();
    await two.close();
  }
});

it('refuses a bad name and a bad cacheMs', async () => {
  const store = await openStore('memory:');
  expect(() => apiKeys(store, { cacheMs: -1 })).toThrow(/cacheMs/);
  await expect(apiKeys(store).create('x'.repeat(101))).rejects.toThrow(/at most 100/);
  await expect(apiKeys(store).create('a\nb')).rejects.toThrow(/printable/);
  await store.close();
});
