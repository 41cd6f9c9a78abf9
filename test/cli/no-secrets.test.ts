/**
 * The built `latchkey` executable never prints more than the handle of
 * anything token-shaped — a session or refresh token, an API key, a JWT —
 * whatever verb it was given to, on standard output or standard error, on
 * success and in every error path. A whole token given where a handle is
 * expected stands for its handle.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Latchkey from '../../src/index.js';
import type * as SqliteModule from '../../src/stores/sqlite.js';
import { bin, ensureBuilt, root } from './built.js';

interface Outcome {
  code: number | null;
  output: string;
}

let dir: string;
let store: string;
let sessions: Latchkey.Sessions;
let sqlite: Latchkey.Store | undefined;

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('LATCHKEY_')) env[k] = v;
  return env;
}

/** Runs the executable; `output` is standard output and standard error together. */
function latchkey(args: string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** Fails if any 8 consecutive characters of `secret` appear in `output`. */
function expectNoPieceOf(secret: string, output: string, what: string): void {
  for (let i = 0; i + 8 <= secret.length; i++) {
    expect(output.includes(secret.slice(i, i + 8)), `${what}: printed ${JSON.stringify(secret.slice(i, i + 8))} of the secret:\n${output}`).toBe(false);
  }
}

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'latchkey-no-secrets-'));
  const path = join(dir, 'sessions.db');
  store = `sqlite:${path}`;
  const { createSessions } = (await import(pathToFileURL(join(root, 'dist', 'index.js')).href)) as typeof Latchkey;
  const { sqliteStore } = (await import(pathToFileURL(join(root, 'dist', 'stores', 'sqlite.js')).href)) as typeof SqliteModule;
  sqlite = sqliteStore({ path });
  sessions = createSessions({ store: sqlite, sweepInterval: false });
}, 180_000);
afterAll(async () => {
  await sessions?.close();
  await sqlite?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the latchkey executable and token-shaped arguments', () => {
  it('revokes the session of a whole token given in place of its handle, printing only the handle', async () => {
    const { token, session } = await sessions.create({ userId: 'frank' });
    const secret = token.split('.')[1] as string;
    const out = await latchkey(['sessions', 'revoke', token, '--store', store]);
    expect(out.code).toBe(0);
    expect(out.output).toContain(session.handle);
    expectNoPieceOf(secret, out.output, 'revoke <token>');
    expect(await sessions.validate(token)).toEqual({ ok: false, reason: 'revoked' });

    // Again: nothing left to revoke (exit code 1), and still only the handle.
    const again = await latchkey(['sessions', 'revoke', token, '--store', store]);
    expect(again.code).toBe(1);
    expect(again.output).toContain(session.handle);
    expectNoPieceOf(secret, again.output, 'revoke <revoked token>');
  });

  it('keeps the session of a whole token given to --except, printing only handles', async () => {
    const kept = await sessions.create({ userId: 'grace' });
    const gone = await sessions.create({ userId: 'grace' });
    const out = await latchkey(['sessions', 'revoke', '--user', 'grace', '--except', kept.token, '--store', store]);
    expect(out.code).toBe(0);
    expect(out.output).toContain(gone.session.handle);
    expectNoPieceOf(kept.token.split('.')[1] as string, out.output, '--except <token>');
    expect((await sessions.validate(kept.token)).ok).toBe(true);
    expect((await sessions.validate(gone.token)).ok).toBe(false);
  });

  it('prints no piece of a secret in any error path, whatever verb it was given to', async () => {
    const { token } = await sessions.create({ userId: 'heidi' });
    const secret = token.split('.')[1] as string;
    // Well-shaped, but of no session; and the live token with a stray character around it (never taken for it).
    const unknown = `${'A'.repeat(22)}.${secret}`;
    const apiKey = `lk_${'0a'.repeat(12)}_${secret}`;
    const jwt = `eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJoZWlkaSIsInNpZCI6IiR7c2lkfSJ9.${secret}`;
    const cases: string[][] = [];
    for (const value of [unknown, `${token}\n`, `${token}x`, ` ${token}`, apiKey, jwt]) {
      cases.push(
        ['sessions', 'revoke', value, '--store', store],
        ['sessions', 'revoke', '--user', value, '--store', store],
        ['sessions', 'list', '--user', value, '--store', store],
        ['sessions', 'list', value, '--store', store],
        ['sessions', value],
        [value],
        ['apikeys', 'revoke', value, '--store', store],
        ['apikeys', 'list', value, '--store', store],
        ['keys', 'list', value],
        ['migrate', value],
        ['sessions', 'list', '--user', 'heidi', '--store', value],
        ['sessions', 'list', '--user', 'heidi', '--store', `sqlite:${join(dir, value)}`],
        ['bench', '--sessions', value],
      );
    }
    for (const args of cases) {
      const out = await latchkey(args);
      // Each one has something to say about the value (an error, or "no live sessions of user ..."), without it.
      expect(out.output, args.join(' ')).toMatch(/^(latchkey: |no live sessions of user )/m);
      expectNoPieceOf(secret, out.output, args.join(' '));
    }
    // None of those calls touched the session.
    expect((await sessions.validate(token)).ok).toBe(true);
  }, 120_000);
});
