import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ClosedError } from '../../src/core/errors.js';
import { createSessions } from '../../src/core/sessions.js';
import type { Store } from '../../src/core/store.js';
import { memoryStore } from '../../src/stores/memory.js';
import { sqliteStore } from '../../src/stores/sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'latchkey-ownership-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const stores: Array<[string, () => Store]> = [
  ['memory', () => memoryStore()],
  ['sqlite', () => sqliteStore({ path: join(dir, `${Math.random().toString(36).slice(2)}.db`) })],
];

describe.each(stores)('an engine over a %s store it was handed', (_name, open) => {
  it('leaves the store open when it closes: the store still answers, and another engine over it still works', async () => {
    const store = open();
    const first = createSessions({ store, sweepInterval: false });
    const second = createSessions({ store, sweepInterval: false });
    const { token, session } = await first.create({ userId: 'u1' });
    await first.close();
    expect(await store.ping()).toBe(true);
    expect((await store.get(session.handle))?.userId).toBe('u1');
    const seen = await second.validate(token);
    expect(seen.ok && seen.session.handle).toBe(session.handle);
    await second.close();
    await store.close();
    expect(await store.ping()).toBe(false);
  });

  it('refuses every call once closed, whatever the store', async () => {
    const store = open();
    const sessions = createSessions({ store, sweepInterval: false });
    const { token, session } = await sessions.create({ userId: 'u1' });
    await sessions.close();
    await expect(sessions.validate(token)).rejects.toThrow(ClosedError);
    await expect(sessions.get(session.handle)).rejects.toThrow(ClosedError);
    await expect(sessions.create()).rejects.toThrow(ClosedError);
    await store.close();
  });
});

it('closes once however many times close() is called, even at the same time', async () => {
  const store = memoryStore();
  const sessions = createSessions({ store, sweepInterval: '1s' });
  await sessions.create();
  const reports: number[] = [];
  sessions.on('invalid-token', (e) => reports.push(e.count));
  await sessions.validate('not a token');
  await Promise.all([sessions.close(), sessions.close()]);
  await sessions.close();
  // The counted refusal is reported once, at close, not once per call.
  expect(reports).toEqual([1]);
  expect(await store.ping()).toBe(true);
});
