/**
 * The built `latchkey` executable (`dist/cli/main.js`, the package's `bin`),
 * run as a user would: its help, exit codes, API keys, sessions on an SQLite
 * file, key rotation, migration, and `serve` up to a graceful SIGTERM.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import type * as Latchkey from '../../src/index.js';
import type * as SqliteModule from '../../src/stores/sqlite.js';
import { bin, root } from './built.js';
import { builtScratch } from '../helpers/built-scratch.js';

const KEY_SHAPE = /^lk_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$/;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  lines: string[];
}

const scratch = builtScratch('latchkey-bin-');

/** The environment of a user with no latchkey variables set. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('LATCHKEY_')) env[k] = v;
  return { ...env, ...extra };
}

function latchkey(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: scratch.dir, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, lines: stdout.split('\n').filter((l) => l !== '') }));
  });
}

describe('the latchkey executable', () => {
  it('is an executable node script', () => {
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(statSync(bin).mode & 0o111).not.toBe(0);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin).toEqual({ latchkey: './dist/cli/main.js' });
    // Started as a program, not through node.
    expect(execFileSync(bin, ['--version'], { cwd: scratch.dir, encoding: 'utf8' }).trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('prints its help with exit code 0', async () => {
    const out = await latchkey(['--help']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^Usage: latchkey <command>/);
    expect(out.stdout).toContain('Exit codes:');
    expect(out.stderr).toBe('');
  });

  it('ends with exit code 2 and the usage on a bad flag', async () => {
    const out = await latchkey(['apikeys', 'list', '--bogus']);
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(/^latchkey: unknown option --bogus\n\nUsage: latchkey apikeys list/);
  });

  it('ends with exit code 2 on a bad store URL, and 3 on an unreachable store, never showing the password', async () => {
    const bad = await latchkey(['sessions', 'list', '--user', 'u', '--store', 'postgres://app:s3cret-pw@/db']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^latchkey: invalid configuration: --store: store URL "postgres:\/\/app:\*\*\*@\/db" is not a valid URL/);
    const down = await latchkey(['apikeys', 'list'], { LATCHKEY_STORE: 'postgres://app:s3cret-pw@127.0.0.1:1/db' });
    expect(down.code).toBe(3);
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
    for (const out of [bad, down]) {
      expect(out.stderr).not.toContain('s3cret-pw');
      expect(out.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('creates an API key alone on the last line, lists it, and revokes it', async () => {
    // The store of a service that ran once: apikeys never creates one.
    expect((await latchkey(['migrate'])).code).toBe(0);
    const created = await latchkey(['apikeys', 'create', '--name', 'ci']);
    expect(created.code).toBe(0);
    const key = created.stdout.trimEnd().split('\n').at(-1) as string;
    expect(key).toMatch(KEY_SHAPE);
    const id = key.slice(3, 27);
    // The default store, relative to the working folder.
    expect(existsSync(join(scratch.dir, '.latchkey', 'latchkey.db'))).toBe(true);

    const listed = await latchkey(['apikeys', 'list', '--json']);
    expect(JSON.parse(listed.stdout)).toEqual({ apiKeys: [{ id, name: 'ci', createdAt: expect.any(Number) }] });
    expect((await latchkey(['apikeys', 'list'])).stdout).toMatch(new RegExp(`^${id}\\s+ci\\s`, 'm'));

    expect((await latchkey(['apikeys', 'revoke', id])).code).toBe(0);
    expect(JSON.parse((await latchkey(['apikeys', 'list', '--json'])).stdout)).toEqual({ apiKeys: [] });
    expect((await latchkey(['apikeys', 'revoke', id])).code).toBe(1);
  });

  it('lists and revokes sessions of an SQLite file', async () => {
    const db = join(scratch.dir, 'sessions.db');
    const { createSessions } = (await import(pathToFileURL(join(root, 'dist', 'index.js')).href)) as typeof Latchkey;
    const { sqliteStore } = (await import(pathToFileURL(join(root, 'dist', 'stores', 'sqlite.js')).href)) as typeof SqliteModule;
    const sqlite = sqliteStore({ path: db });
    const sessions = createSessions({ store: sqlite, sweepInterval: false });
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await sessions.create({ userId: 'erin', client: { ip: '192.0.2.7', userAgent: 'curl/8.5.0' } }));
    const store = `sqlite:${db}`;

    const listed = await latchkey(['sessions', 'list', '--user', 'erin', '--store', store]);
    expect(listed.code).toBe(0);
    expect(listed.lines[0]).toMatch(/^HANDLE\s+KIND\s+DEVICE\s+IP\s+CREATED\s+LAST SEEN$/);
    for (const m of made) expect(listed.stdout).toMatch(new RegExp(`^${m.session.handle}\\s+session\\s+curl on Unknown\\s+192\\.0\\.2\\.7\\s`, 'm'));

    const [one, two, three] = made;
    expect((await latchkey(['sessions', 'revoke', one?.session.handle as string, '--store', store])).code).toBe(0);
    expect(await sessions.validate(one?.token)).toEqual({ ok: false, reason: 'revoked' });
    expect((await latchkey(['sessions', 'revoke', one?.session.handle as string, '--store', store])).code).toBe(1);

    const all = await latchkey(['sessions', 'revoke', '--user', 'erin', '--except', three?.session.handle as string, '--store', store]);
    expect(all.code).toBe(0);
    expect(all.stdout).toContain('1 session of user "erin" revoked:');
    expect((await sessions.validate(two?.token)).ok).toBe(false);
    expect((await sessions.validate(three?.token)).ok).toBe(true);
    const left = JSON.parse((await latchkey(['sessions', 'list', '--user', 'erin', '--json', '--store', store])).stdout) as { sessions: Array<{ handle: string }> };
    expect(left.sessions.map((s) => s.handle)).toEqual([three?.session.handle]);
    await sessions.close();
    await sqlite.close();
  });

  it('rotates the signing key of a data folder and prints the new kid last', async () => {
    const dataDir = join(scratch.dir, 'keys-data');
    const first = await latchkey(['keys', 'rotate', '--data-dir', dataDir]);
    const second = await latchkey(['keys', 'rotate'], { LATCHKEY_DATA_DIR: dataDir });
    expect([first.code, second.code]).toEqual([0, 0]);
    const kid = second.lines.at(-1) as string;
    const file = JSON.parse(readFileSync(join(dataDir, 'keys.json'), 'utf8')) as { keys: Array<{ kid: string; retiresAt: number | null }> };
    expect(file.keys.find((k) => k.retiresAt === null)?.kid).toBe(kid);
    expect(file.keys.map((k) => k.kid)).toContain(first.lines.at(-1));
    expect(statSync(join(dataDir, 'keys.json')).mode & 0o077).toBe(0);
  });

  it('migrates an SQLite store', async () => {
    const out = await latchkey(['migrate', '--store', 'sqlite:./migrated.db']);
    expect(out).toMatchObject({ code: 0, stdout: 'sqlite:./migrated.db: schema v0 → v2\n' });
    expect((await latchkey(['migrate', '--store', 'sqlite:./migrated.db'])).stdout).toContain('v2 → v2 (already up to date)');
  });

  it('serves on port 0, answers /healthz, and shuts down gracefully on SIGTERM with exit code 0', async () => {
    const dataDir = join(scratch.dir, 'serve-data');
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--store', 'memory:', '--data-dir', dataDir, '--log-level', 'warn'], {
      cwd: scratch.dir,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    try {
      const base = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          const m = /latchkey is listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout);
          if (m !== null && stdout.includes('Press Ctrl+C to stop.')) resolve(m[1] as string);
        });
        void exited.then(({ code }) => reject(new Error(`latchkey serve exited with ${code}: ${stderr}`)));
      });
      for (const path of ['/v1', '/demo', '/admin', '/openapi.json']) expect(stdout).toContain(`${base}${path}\n`);
      const passwordFile = join(dataDir, 'admin-password');
      expect(stdout).toContain(`admin password in ${passwordFile}`);
      expect(stdout).not.toContain(readFileSync(passwordFile, 'utf8').trim());

      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });

      child.kill('SIGTERM');
      expect(await exited).toEqual({ code: 0, signal: null });
      expect(stderr).toContain('shutting down');
      await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('ends at once, with 128 + the signal number, on a second signal during a slow shutdown', async () => {
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--store', 'memory:', '--data-dir', join(scratch.dir, 'serve-data-2'), '--log-level', 'silent', '--shutdown-timeout', '60s'], {
      cwd: scratch.dir,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const socket = new Socket();
    try {
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\n/.exec(stdout);
          if (m !== null) resolve(Number(m[1]));
        });
        void exited.then(({ code }) => reject(new Error(`latchkey serve exited with ${code}: ${stderr}`)));
      });
      // A request in flight that never ends: its body is announced, never sent whole.
      await new Promise<void>((resolve) => socket.connect(port, '127.0.0.1', resolve));
      // The server answers "100 Continue" once it has read the headers and taken the request: the signal comes after that, however slow the machine.
      const taken = new Promise<void>((resolve) => socket.on('data', (d: Buffer) => void (d.toString().startsWith('HTTP/1.1 100 Continue') && resolve())));
      socket.write('POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n');
      await taken;
      socket.write('{"user');
      child.kill('SIGTERM');
      await new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (stderr.includes('shutting down')) {
            clearInterval(poll);
            resolve();
          }
        }, 20);
      });
      // Still waiting for the request in flight...
      await new Promise((r) => setTimeout(r, 300));
      expect(child.exitCode).toBeNull();
      // ...until a second signal.
      const started = Date.now();
      child.kill('SIGINT');
      expect(await exited).toEqual({ code: 130, signal: null });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      socket.destroy();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
