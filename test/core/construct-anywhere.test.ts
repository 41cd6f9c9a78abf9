/**
 * Construct anywhere: importing and constructing the engine with the memory
 * store, the HTTP layer, every adapter, sealed mode, token mode and the
 * client starts no timer, draws no random bytes, derives no key and touches
 * no file or network, so that it works in a Workers module's global scope
 * (proved on the real workerd binary by the conformance suite) and costs
 * nothing until first use. The ban is a shim around Node's own functions in
 * a child process running the built package.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, root } from '../cli/built.js';

const run = promisify(execFile);
let scratch: string;

beforeAll(() => {
  ensureBuilt();
  scratch = mkdtempSync(join(tmpdir(), 'latchkey-construct-'));
}, 180_000);
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

interface Outcome {
  violations: Array<{ call: string; stack: string }>;
  sweepers: number;
  unrefed: boolean[];
  works: Record<string, boolean>;
}

describe('construction', () => {
  it('starts no timer, draws no random bytes, derives no key and does no I/O; the first use starts one unref’d sweeper', async () => {
    const { stdout } = await run(process.execPath, [join(root, 'test', 'fixtures', 'construct-anywhere.mjs'), join(root, 'dist'), scratch]);
    const outcome = JSON.parse(stdout) as Outcome;
    expect(outcome.violations).toEqual([]);
    // Everything built under the ban works once it is lifted.
    expect(outcome.works).toEqual({ validate: true, statefulCookie: true, sealedCookie: true, sealer: true, tokens: true });
    // The engine's sweeper started with its first store call, once, and does not keep the process alive.
    expect(outcome.sweepers).toBe(1);
    expect(outcome.unrefed).toEqual([true]);
  });
});
