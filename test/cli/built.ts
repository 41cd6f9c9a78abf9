/**
 * The built package for the tests that spawn it or load it from `dist/`
 * (the executable `dist/cli/main.js`, the runtime tests), rebuilt with `npm
 * run build` (which also makes the executable executable) when it is missing
 * or older than any source. Test files run in
 * parallel: a lock folder keeps two of them from building at once.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const root = join(import.meta.dirname, '..', '..');
export const bin = join(root, 'dist', 'cli', 'main.js');

function newestMtime(folder: string): number {
  return Math.max(...readdirSync(folder, { recursive: true, encoding: 'utf8' }).map((f) => statSync(join(folder, f)).mtimeMs));
}

function stale(): boolean {
  // The whole of src/: the runtime tests load the engine, adapters and sealed mode from dist/ too.
  return !existsSync(bin) || statSync(bin).mtimeMs < newestMtime(join(root, 'src'));
}

/** Builds the package if `dist/cli/main.js` is missing or stale. */
export function ensureBuilt(): void {
  if (!stale()) return;
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
    if (stale()) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'pipe' });
  } catch (err) {
    // `npm test` builds first and fails loudly on its own; here, a tree mid-edit elsewhere should not hide the CLI's results.
    if (!existsSync(bin)) throw err;
    const output = String((err as { stdout?: Buffer }).stdout ?? '').trim().split('\n').slice(-5).join('\n');
    console.warn(`WARNING: npm run build failed; testing the previous build of ${bin}.\n${output}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
