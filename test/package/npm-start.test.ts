/**
 * `npm start` in a clone whose dist/ is current skips the build and answers
 * /healthz: the build step sees dist/ stamped as the build of src/ and does
 * not run tsc (13 s), then `latchkey serve` starts. What shows that no build
 * ran is dist/ itself (a build replaces the folder: a new inode and a new
 * stamp), not a stopwatch, which a loaded machine would make lie. Run for
 * real through npm, with the store and data folder in a temporary folder.
 */
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from '../cli/built.js';
import { cleanEnv } from '../cli/process.js';
import { builtScratch } from '../helpers/built-scratch.js';

const scratch = builtScratch('latchkey-npm-start-');

describe('npm start', () => {
  it('answers /healthz without rebuilding when dist/ is up to date with src/', async () => {
    const dist = join(root, 'dist');
    const stamp = join(dist, '.build-stamp');
    const before = { inode: statSync(dist).ino, stamp: readFileSync(stamp, 'utf8') };
    const child = spawn('npm', ['start'], {
      cwd: root,
      detached: true, // its own process group: npm, the shell and node stop together
      env: cleanEnv({ LATCHKEY_PORT: '0', LATCHKEY_DATA_DIR: join(scratch.dir, 'data'), LATCHKEY_STORE: `sqlite:${join(scratch.dir, 'latchkey.db')}`, LATCHKEY_LOG_LEVEL: 'warn' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    try {
      const base = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', () => {
          const m = /latchkey is listening on (http:\/\/\S+)\n/.exec(output);
          if (m !== null) resolve(m[1] as string);
        });
        void exited.then(() => reject(new Error(`npm start ended before listening:\n${output}`)));
      });
      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
      expect(output).toContain('dist/ is up to date with src/ (build skipped');
      expect(output).not.toContain('built dist/ in');
      // The dist/ that answered is the one that was there: no build replaced it.
      expect({ inode: statSync(dist).ino, stamp: readFileSync(stamp, 'utf8') }).toEqual(before);
    } finally {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
      await exited;
    }
  });
});
