#!/usr/bin/env node
/**
 * `npm run fuzz [-- --runs N]`: the fuzz tests of the suite with N cases per
 * parser (default 100000, or LATCHKEY_FUZZ_RUNS), then a table of the cases
 * each parser received. `npm test` runs the same files with a few hundred
 * cases each. A failure prints fast-check's seed: LATCHKEY_FUZZ_SEED=<seed>
 * replays it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FILES = ['test/fuzz', 'test/http/begin.fuzz.test.ts', 'test/tokens/fuzz.test.ts'];

const args = process.argv.slice(2);
const at = args.indexOf('--runs');
const runs = Number(at !== -1 ? args[at + 1] : (process.env.LATCHKEY_FUZZ_RUNS ?? 100_000));
if (!Number.isSafeInteger(runs) || runs < 1) {
  console.error('usage: npm run fuzz [-- --runs <cases per parser>]');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'latchkey-fuzz-'));
const report = join(dir, 'counts.jsonl');
const started = Date.now();
console.log(`latchkey fuzz: ${runs} cases per parser over ${FILES.join(', ')}`);
const vitest = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...FILES], {
  stdio: 'inherit',
  env: { ...process.env, LATCHKEY_FUZZ_RUNS: String(runs), LATCHKEY_FUZZ_REPORT: report },
});

let rows = [];
try {
  rows = readFileSync(report, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
} catch {
  rows = [];
}
rmSync(dir, { recursive: true, force: true });
const width = Math.max(6, ...rows.map((r) => r.parser.length));
console.log(`\n${'parser'.padEnd(width)}  ${'cases'.padStart(9)}  file`);
for (const r of rows.sort((a, b) => a.file.localeCompare(b.file) || a.parser.localeCompare(b.parser))) {
  console.log(`${r.parser.padEnd(width)}  ${String(r.cases).padStart(9)}  ${r.file}`);
}
const total = rows.reduce((n, r) => n + r.cases, 0);
console.log(`${'total'.padEnd(width)}  ${String(total).padStart(9)}  in ${Math.round((Date.now() - started) / 1000)} s`);
const short = rows.filter((r) => r.cases < runs);
if (short.length > 0) console.log(`fewer than ${runs} cases (a property failed early): ${short.map((r) => r.parser).join(', ')}`);
process.exit(vitest.status ?? 1);
