/**
 * The folders `latchkey serve` and the `latchkey` CLI create for their
 * state (`.latchkey/` by default) carry a `.gitignore`, so that signing
 * keys, the refresh secret, the admin password and the SQLite file never
 * reach a commit of the project they were started in. Checked with real
 * git in a scratch repository, through the built executable.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { latchkey, serve } from './process.js';
import { builtScratch } from '../helpers/built-scratch.js';

const scratch = builtScratch('latchkey-state-');

/** A fresh git repository with one committed file, as a user's project. */
function project(): string {
  const repo = mkdtempSync(join(scratch.dir, 'app-'));
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: repo, encoding: 'utf8' });
  git('-c', 'init.defaultBranch=main', 'init', '-q');
  writeFileSync(join(repo, 'index.js'), 'console.log("app");\n');
  return repo;
}

/** What `git add -A` would stage in `repo`: every path git does not ignore. */
function stageable(repo: string): string[] {
  return execFileSync('git', ['status', '--porcelain', '--untracked-files=all', '--ignored=no'], { cwd: repo, encoding: 'utf8' })
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.slice(3));
}

describe('a state folder latchkey creates', () => {
  it('keeps the keys, secrets, admin password and database of latchkey serve out of git', async () => {
    const repo = project();
    const running = await serve(['--port', '0'], repo);
    try {
      const files = readdirSync(join(repo, '.latchkey')).sort();
      for (const f of ['.gitignore', 'admin-password', 'keys.json', 'latchkey.db', 'refresh-secret']) expect(files).toContain(f);
      expect(statSync(join(repo, '.latchkey')).mode & 0o777).toBe(0o700);
      expect(stageable(repo)).toEqual(['index.js']);
    } finally {
      expect(await running.stop()).toBe(0);
    }
    expect(stageable(repo)).toEqual(['index.js']);
  });

  it('is made so by latchkey keys rotate and latchkey migrate too', async () => {
    const repo = project();
    expect((await latchkey(['keys', 'rotate'], repo)).code).toBe(0);
    expect(existsSync(join(repo, '.latchkey', 'keys.json'))).toBe(true);
    expect((await latchkey(['migrate', '--store', 'sqlite:./var/db/sessions.db'], repo)).code).toBe(0);
    expect(existsSync(join(repo, 'var', 'db', 'sessions.db'))).toBe(true);
    expect(readFileSync(join(repo, 'var', 'db', '.gitignore'), 'utf8')).toBe(readFileSync(join(repo, '.latchkey', '.gitignore'), 'utf8'));
    expect(stageable(repo)).toEqual(['index.js']);
  });

  it('gives the folder of an SQLite store elsewhere its own .gitignore when serve creates it', async () => {
    const repo = project();
    const running = await serve(['--port', '0', '--store', 'sqlite:./state/latchkey.db'], repo);
    await running.stop();
    expect(existsSync(join(repo, 'state', 'latchkey.db'))).toBe(true);
    expect(existsSync(join(repo, 'state', '.gitignore'))).toBe(true);
    expect(stageable(repo)).toEqual(['index.js']);
  });

  it("leaves a folder that existed before, the user's own, as it is", async () => {
    const repo = project();
    mkdirSync(join(repo, 'config'));
    writeFileSync(join(repo, 'config', 'app.json'), '{}\n');
    const running = await serve(['--port', '0', '--data-dir', './config', '--store', 'memory:'], repo);
    await running.stop();
    expect(existsSync(join(repo, 'config', 'keys.json'))).toBe(true);
    expect(existsSync(join(repo, 'config', '.gitignore'))).toBe(false);
    // What the user keeps there is still theirs to commit (and so are latchkey's files: their choice of folder).
    expect(stageable(repo)).toContain('config/app.json');
  });
});
