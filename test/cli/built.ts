/**
 * The built executable for the tests that spawn it: `dist/cli/main.js`,
 * rebuilt by `scripts/build.js --if-stale` (which also makes it executable)
 * unless dist/ is stamped as the build of the sources as they are. Test files
 * run in parallel: a lock folder keeps two of them from building at once.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const root = join(import.meta.dirname, '..', '..');
export const bin = join(root, 'dist', 'cli', 'main.js');

/** Builds the package unless dist/ is up to date with src/ (see scripts/build.js). */
export function ensureBuilt(): void {
  const lock = join(tmpdir(), `latchkey-build-${createHash('sha256').update(root).digest('hex').slice(0, 12)}.lock`);
  const until = Date.now() + 170_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another test file is building; a lock older than the longest build is left over from a killed run.
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 180_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > until) throw new Error(`timed out waiting for ${lock}`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    execFileSync(process.execPath, [join(root, 'scripts', 'build.js'), '--if-stale'], { cwd: root, stdio: 'pipe' });
  } catch (err) {
    // `npm test` builds first and fails loudly on its own; here, a tree mid-edit elsewhere should not hide the CLI's results.
    if (!existsSync(bin)) throw err;
    const output = String((err as { stdout?: Buffer }).stdout ?? '').trim().split('\n').slice(-5).join('\n');
    console.warn(`WARNING: the build failed; testing the previous build of ${bin}.\n${output}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
