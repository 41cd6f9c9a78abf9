/**
 * `latchkey migrate` on a real PostgreSQL (test/servers/postgres.ts): the
 * built executable creates the schema of an empty database, then finds it up
 * to date, and a store opened with `migrate: false` accepts it. The verbs
 * that work on a service's store (`apikeys`, `sessions`) never create it.
 */
import { spawn } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresStore } from '../../src/stores/postgres/index.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../servers/postgres.js';
import { bin, ensureBuilt, root } from './built.js';

const missing = postgresMissing();

function latchkey(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('LATCHKEY_')) env[k] = v;
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.skipIf(missing !== null)('latchkey migrate on PostgreSQL', () => {
  let server: PostgresServer;
  beforeAll(async () => {
    ensureBuilt();
    server = await startPostgres();
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('creates the schema of an empty database, then finds it up to date', async () => {
    const url = server.url;
    const first = await latchkey(['migrate', '--store', url]);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toBe(`${url}: schema v0 → v3\n`);
    const second = await latchkey(['migrate', '--store', url]);
    expect(second.stdout).toBe(`${url}: schema v3 → v3 (already up to date)\n`);

    // A store that may not migrate finds the schema in place.
    const store = postgresStore({ connectionString: url, migrate: false });
    await expect(store.ready()).resolves.toBeUndefined();
    await store.close();
  });

  it("refuses apikeys and sessions on a database without latchkey's tables, and creates none", async () => {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      await admin.query('CREATE DATABASE no_latchkey_yet');
    } finally {
      await admin.end();
    }
    const url = new URL(server.url);
    url.pathname = '/no_latchkey_yet';
    for (const args of [['apikeys', 'create', '--name', 'billing'], ['apikeys', 'list'], ['sessions', 'list', '--user', 'alice']]) {
      const out = await latchkey([...args, '--store', url.href]);
      expect(out.code, args.join(' ')).toBe(2);
      expect(out.stdout).toBe('');
      expect(out.stderr).toMatch(/^latchkey: the latchkey schema in "public"\."latchkey_sessions" is at version 0, this latchkey needs version \d+; run `latchkey migrate`/);
    }
    const db = new pg.Client({ connectionString: url.href });
    await db.connect();
    try {
      const { rows } = await db.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')");
      expect(rows).toEqual([{ n: 0 }]);
    } finally {
      await db.end();
    }
    expect((await latchkey(['migrate', '--store', url.href])).code).toBe(0);
    expect((await latchkey(['apikeys', 'create', '--name', 'billing', '--store', url.href])).code).toBe(0);
  });

  it('reports a database that refuses the connection with exit code 3, without the password', async () => {
    const url = new URL(server.url);
    url.password = 'not-the-password';
    url.pathname = '/no_such_database';
    const out = await latchkey(['migrate', '--store', url.href]);
    expect(out.code).toBe(3);
    expect(out.stderr).toMatch(/^latchkey: .*no_such_database/);
    expect(out.stderr).not.toContain('not-the-password');
  });
});
