/**
 * The types users write against, compiled as a user's project would compile
 * them (the built package's declarations, strict, exactOptionalPropertyTypes,
 * skipLibCheck false): test/fixtures/types/augmented declares its session
 * data once (module augmentation of 'latchkey') and uses it through the
 * engine, sealed mode and every adapter, Hono's `c.var.session` without a
 * cast; test/fixtures/types/plain declares nothing and keeps open data. Each
 * `@ts-expect-error` there is a refusal the types must make: if the line
 * compiled, tsc would fail on the unused directive.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, root } from '../cli/built.js';

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

function compile(project: string): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'test', 'fixtures', 'types', project, 'tsconfig.json'), '--pretty', 'false'], { cwd: root, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('the types of session data', () => {
  beforeAll(() => ensureBuilt(), 300_000);

  it('carry a declared SessionDataTypes through the engine, sealed mode and every adapter, and refuse what it does not allow', () => {
    const r = compile('augmented');
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);

  it('leave data open (any key, unknown values) when nothing is declared', () => {
    const r = compile('plain');
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);
});
