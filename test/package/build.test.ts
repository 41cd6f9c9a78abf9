/**
 * scripts/build.js, the build behind `npm run build`, `npm start` and
 * `npm test`: with --if-stale it skips tsc when dist/ carries the stamp of
 * the sources as they are, and rebuilds whenever anything the output
 * depends on changed. Run on a small scratch project (its own src/ and
 * tsconfig files, this project's TypeScript), so that each build takes a
 * second and this project's dist/ is never touched.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
let dir: string;

/** Runs the build script in the scratch project: its exit code and what it printed. */
function build(...args: string[]): { code: number | null; output: string } {
  const r = spawnSync(process.execPath, ['scripts/build.js', ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

/** A dist/ that is the build of the sources as they are (a build only when the previous test left it stale). */
function current(): void {
  const r = build('--if-stale');
  expect(r.code, r.output).toBe(0);
}

const skipped = (r: { output: string }): boolean => r.output.includes('dist/ is up to date with src/ (build skipped');
const built = (r: { output: string }): boolean => /built dist\/ in [\d.]+ s/.test(r.output);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-build-'));
  mkdirSync(join(dir, 'scripts'));
  cpSync(join(root, 'scripts', 'build.js'), join(dir, 'scripts', 'build.js'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'scratch', type: 'module', bin: { scratch: './dist/cli/main.js' } }));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', lib: ['ES2022'], module: 'NodeNext', strict: true, skipLibCheck: true, outDir: 'dist', rootDir: '.', types: [] }, include: ['src'] }));
  writeFileSync(join(dir, 'tsconfig.build.json'), JSON.stringify({ extends: './tsconfig.json', compilerOptions: { rootDir: 'src' }, include: ['src'] }));
  mkdirSync(join(dir, 'src', 'cli'), { recursive: true });
  writeFileSync(join(dir, 'src', 'cli', 'main.ts'), "#!/usr/bin/env node\nimport { greeting } from '../greeting.js';\nexport const shown = greeting;\n");
  writeFileSync(join(dir, 'src', 'greeting.ts'), "export const greeting: string = 'one';\n");
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the build script', () => {
  it('builds, stamps dist/ and makes the bin executable, then skips a build of unchanged sources', () => {
    const first = build();
    expect(first.code, first.output).toBe(0);
    expect(built(first)).toBe(true);
    expect(readFileSync(join(dir, 'dist', 'greeting.js'), 'utf8')).toContain("'one'");
    expect(readFileSync(join(dir, 'dist', '.build-stamp'), 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    expect(statSync(join(dir, 'dist', 'cli', 'main.js')).mode & 0o111).not.toBe(0);

    const before = statSync(join(dir, 'dist', 'greeting.js')).mtimeMs;
    const again = build('--if-stale');
    expect(again.code).toBe(0);
    expect(skipped(again)).toBe(true);
    expect(statSync(join(dir, 'dist', 'greeting.js')).mtimeMs).toBe(before);
    // Without the flag it always builds.
    expect(built(build())).toBe(true);
  });

  it('skips after a touch that changes no content (a checkout, a copy)', () => {
    current();
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(dir, 'src', 'greeting.ts'), later, later);
    expect(skipped(build('--if-stale'))).toBe(true);
  });

  it('rebuilds when a source changes, even with an older mtime', () => {
    current();
    const file = join(dir, 'src', 'greeting.ts');
    const { mtime } = statSync(file);
    writeFileSync(file, "export const greeting: string = 'two';\n");
    utimesSync(file, mtime, new Date(mtime.getTime() - 3_600_000));
    const r = build('--if-stale');
    expect(built(r)).toBe(true);
    expect(readFileSync(join(dir, 'dist', 'greeting.js'), 'utf8')).toContain("'two'");
  });

  it('rebuilds when a source is added or removed, and drops the output of a removed one', () => {
    current();
    writeFileSync(join(dir, 'src', 'extra.ts'), 'export const extra = 1;\n');
    expect(built(build('--if-stale'))).toBe(true);
    expect(existsSync(join(dir, 'dist', 'extra.js'))).toBe(true);
    rmSync(join(dir, 'src', 'extra.ts'));
    expect(built(build('--if-stale'))).toBe(true);
    expect(existsSync(join(dir, 'dist', 'extra.js'))).toBe(false);
  });

  it('rebuilds when a tsconfig file changes', () => {
    current();
    const file = join(dir, 'tsconfig.build.json');
    const config = readFileSync(file, 'utf8');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(config), compilerOptions: { rootDir: 'src', removeComments: true } }));
    try {
      expect(built(build('--if-stale'))).toBe(true);
    } finally {
      writeFileSync(file, config);
    }
    expect(built(build('--if-stale'))).toBe(true);
  });

  it('keeps the previous dist/ when tsc fails, and tries again on the next --if-stale', () => {
    current();
    const file = join(dir, 'src', 'greeting.ts');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, 'export const greeting: number = "not a number";\n');
    try {
      const failed = build('--if-stale');
      expect(failed.code).toBe(1);
      expect(failed.output).toContain('build failed (tsc exit code 2); dist/ is unchanged');
      expect(readFileSync(join(dir, 'dist', 'greeting.js'), 'utf8')).toContain('greeting');
      expect(build('--if-stale').code).toBe(1);
    } finally {
      writeFileSync(file, good);
    }
    // Back to the sources of the last good build: that build is current again.
    expect(skipped(build('--if-stale'))).toBe(true);
    expect(readdirSync(dir).filter((f) => f.startsWith('dist.tmp'))).toEqual([]);
  });
});
