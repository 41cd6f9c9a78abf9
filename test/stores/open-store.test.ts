import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { openStore } from '../../src/stores/open.js';
import { sqliteDrivers } from '../../src/stores/sqlite.js';

const run = promisify(execFile);
const dist = new URL('../../dist/', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'latchkey-open-store-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('latchkey/stores', () => {
  it("loads no driver when imported, opens memory: without one, opens sqlite: on the runtime's own SQLite, and names the package a URL needs", async () => {
    // The built package without any node_modules beside it: a driver import would fail to resolve.
    const app = join(scratch, 'no-drivers');
    cpSync(dist, join(app, 'dist'), { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(
      join(app, 'main.js'),
      `const { openStore } = await import('./dist/stores/index.js');
const out = {};
const memory = await openStore('memory:');
out.memory = typeof memory.get;
await memory.close();
for (const url of ['sqlite:./x.db', 'redis://127.0.0.1:1', 'postgres://app@127.0.0.1:1/app']) {
  try { await openStore(url); out[url] = 'opened'; } catch (err) { out[url] = err.code + ': ' + err.message; }
}
console.log(JSON.stringify(out));`,
    );
    const { stdout } = await run(process.execPath, ['main.js'], { cwd: app });
    // The runtime's own SQLite needs no package; without one (Node 20) the store names the package to install.
    const ownSqlite = sqliteDrivers().some((d) => d !== 'better-sqlite3');
    expect(JSON.parse(stdout)).toEqual({
      memory: 'function',
      'sqlite:./x.db': ownSqlite
        ? 'opened'
        : 'ERR_CONFIG: the SQLite store needs the runtime\'s own SQLite (node:sqlite on Node 22.13+ and 24, Deno; bun:sqlite on Bun) or, on Node 20, the "better-sqlite3" package: npm install better-sqlite3 (better-sqlite3: not installed)',
      'redis://127.0.0.1:1': 'ERR_CONFIG: a redis:// store needs the "ioredis" package: npm install ioredis',
      'postgres://app@127.0.0.1:1/app': 'ERR_CONFIG: a postgres:// store needs the "pg" package: npm install pg',
    });
    expect(existsSync(join(app, 'x.db'))).toBe(ownSqlite);
  });

  it('opens an SQLite file named relative to cwd, usable at once', async () => {
    const store = await openStore('sqlite:./data/sessions.db', { cwd: scratch });
    try {
      expect(await store.ping()).toBe(true);
      expect(existsSync(join(scratch, 'data', 'sessions.db'))).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('refuses an unknown option instead of ignoring it', async () => {
    await expect(openStore('memory:', { cwdir: '/srv' } as never)).rejects.toThrow(
      new ConfigError('cwdir is not an option of openStore(); known options: cwd, onError, migrate'),
    );
  });
});
