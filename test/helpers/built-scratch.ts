/**
 * For test files that run the built package (dist/, the `latchkey`
 * executable): the package built before their tests (`ensureBuilt()`, once
 * for all files at a time) and a scratch folder under the system's
 * temporary folder, removed after them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { ensureBuilt } from '../cli/built.js';

/** Call at the top level of a test file; `dir` is there once its `beforeAll` ran. */
export function builtScratch(prefix: string): { readonly dir: string } {
  let dir: string | undefined;
  beforeAll(() => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), prefix));
  }, 180_000);
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      if (dir === undefined) throw new Error('the scratch folder is made before the tests, in beforeAll');
      return dir;
    },
  };
}
