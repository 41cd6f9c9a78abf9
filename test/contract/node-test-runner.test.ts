/**
 * The store conformance suite under another test runner than vitest:
 * Node's own `node:test`, as a store outside this repository may use it
 * (the README's "Writing your own store" shows it so). It runs the built
 * `latchkey/testing/store-contract` on the memory store in a child process.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { root } from '../cli/built.js';
import { builtScratch } from '../helpers/built-scratch.js';

const scratch = builtScratch('latchkey-node-test-');

describe('the store contract under node:test', () => {
  it('runs every test of the suite and passes them on the memory store', () => {
    const dist = (path: string): string => pathToFileURL(join(root, 'dist', path)).href;
    const file = join(scratch.dir, 'memory.test.mjs');
    writeFileSync(
      file,
      [
        "import { describe, it } from 'node:test';",
        `import { storeContract } from '${dist('testing/store-contract.js')}';`,
        `import { memoryStore } from '${dist('stores/memory.js')}';`,
        "storeContract('memory', { describe, it }, { makeStore: () => memoryStore() });",
      ].join('\n'),
    );
    const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', file], { encoding: 'utf8', timeout: 120_000 });
    const count = (name: string): number => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(r.stdout)?.[1] ?? NaN);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(count('tests')).toBeGreaterThanOrEqual(20);
    expect(count('pass')).toBe(count('tests'));
    expect(count('fail')).toBe(0);
  });
});
