import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/sessions.js';
import { sqliteDrivers, sqliteStore, SQLITE_SCHEMA_VERSION } from '../../src/stores/sqlite.js';
import { ConfigError } from '../../src/core/errors.js';
import { sampleRecord } from '../../src/testing/store-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'latchkey-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fixture = new URL('../fixtures/sqlite-writer.mjs', import.meta.url).pathname;

describe('the SQLite store', () => {
  it.each(sqliteDrivers())('keeps every session acknowledged on %s before the process was killed with SIGKILL', async (driver) => {
    const path = join(dir, `durable-${driver.replace(':', '-')}.db`);
    const child = spawn(process.execPath, [fixture, path, driver], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acknowledged: string[] = [];
    let buffer = '';
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited early: ${code}`))));
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        acknowledged.push(...lines);
        if (acknowledged.length >= 300 && !child.killed) child.kill('SIGKILL');
      });
    });
    expect(acknowledged.length).toBeGreaterThanOrEqual(300);
    const store = sqliteStore({ path });
    const sessions = createSessions({ store, sweepInterval: false });
    const results = await Promise.all(acknowledged.map((t) => sessions.validate(t)));
    expect(results.filter((r) => !r.ok)).toEqual([]);
    await sessions.close();
    await store.close();
  });

  it('shares one database between two store instances (two processes alike)', async () => {
    const path = join(dir, 'shared.db');
    const stores = [sqliteStore({ path }), sqliteStore({ path })] as const;
    const a = createSessions({ store: stores[0], sweepInterval: false });
    const b = createSessions({ store: stores[1], sweepInterval: false });
    const { token, session } = await a.create({ userId: 'u1' });
    expect((await b.validate(token)).ok).toBe(true);
    await b.revoke(session.handle);
    expect(await a.validate(token)).toEqual({ ok: false, reason: 'revoked' });
    await Promise.all([a.close(), b.close()]);
    await Promise.all(stores.map((s) => s.close()));
  });

  it('records its schema version and reopens an existing database with its data', async () => {
    const path = join(dir, 'reopen.db');
    const first = sqliteStore({ path });
    const r = sampleRecord();
    await first.create(r);
    await first.close();
    const again = sqliteStore({ path });
    expect(await again.get(r.handle)).toEqual(r);
    await again.close();
    const db = new Database(path);
    expect(db.prepare(`SELECT value FROM latchkey_meta WHERE key = 'schema_version'`).get()).toEqual({ value: String(SQLITE_SCHEMA_VERSION) });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('refuses a database written by a newer latchkey rather than guess at its schema', async () => {
    const path = join(dir, 'newer.db');
    await sqliteStore({ path }).close();
    const db = new Database(path);
    db.prepare(`UPDATE latchkey_meta SET value = '99' WHERE key = 'schema_version'`).run();
    db.close();
    expect(() => sqliteStore({ path })).toThrow(ConfigError);
    expect(() => sqliteStore({ path })).toThrow(/schema version 99, newer than/);
  });

  it('keeps only the hash of a secret in the database file', async () => {
    const path = join(dir, 'hash.db');
    const store = sqliteStore({ path });
    const sessions = createSessions({ store, sweepInterval: false });
    const { token } = await sessions.create({ userId: 'u1' });
    await sessions.close();
    await store.close();
    const db = new Database(path);
    const dump = JSON.stringify(db.prepare('SELECT * FROM latchkey_sessions').all());
    db.close();
    expect(dump).not.toContain(token.split('.')[1]);
  });

  it('checks its options at construction: unknown keys refused, the old busyTimeoutMs named with its replacement', () => {
    const path = join(dir, 'options.db');
    expect(() => sqliteStore({ path, busyTimeoutMs: 5000 } as never)).toThrow(new ConfigError("busyTimeoutMs is no longer an option of sqliteStore(): use busyTimeout, a duration such as '2s'"));
    expect(() => sqliteStore({ path, synchronus: 'full' } as never)).toThrow(
      new ConfigError('synchronus is not an option of sqliteStore(); did you mean synchronous? Known options: path, driver, database, synchronous, busyTimeout'),
    );
    expect(() => sqliteStore({ path, busyTimeout: 'soon' })).toThrow(/busyTimeout must be a duration/);
    sqliteStore({ path, busyTimeout: '500ms' });
  });

  it('uses its indexes for user lists and sweeps', () => {
    const path = join(dir, 'plan.db');
    sqliteStore({ path });
    const db = new Database(path);
    const plan = (sql: string) => JSON.stringify(db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all());
    expect(plan(`SELECT * FROM latchkey_sessions WHERE user_id = 'x' AND status = 'active'`)).toMatch(/latchkey_sessions_user/);
    expect(plan(`SELECT handle FROM latchkey_sessions WHERE expires_at <= 5 ORDER BY expires_at LIMIT 10`)).toMatch(/latchkey_sessions_expiry/);
    db.close();
  });
});
