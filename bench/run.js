/**
 * Runs every bench/*.bench.js, one after the other, each in its own Node
 * process so that no benchmark's heap or JIT state weighs on another. Each is
 * started with --expose-gc so that it can collect the heap between cases.
 *
 * Usage: node bench/run.js [name...]   (only the files whose name contains one of the given names)
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { argv, execPath, exit } from 'node:process';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const suffix = '.bench.js';
const all = readdirSync(dir)
  .filter((f) => f.endsWith(suffix))
  .sort()
  .map((f) => f.slice(0, -suffix.length));
const filters = argv.slice(2);
const chosen = filters.length === 0 ? all : all.filter((name) => filters.some((f) => name.includes(f)));

if (chosen.length === 0) {
  console.error(`no benchmark matches ${filters.join(', ')}; there are: ${all.join(', ')}`);
  exit(2);
}

const failed = [];
for (const name of chosen) {
  console.log(`\n=== ${name} ===\n`);
  const started = Date.now();
  const { status, signal } = spawnSync(execPath, ['--expose-gc', `${dir}${name}${suffix}`], { stdio: 'inherit' });
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  if (status === 0) console.log(`\n${name}: done in ${seconds} s`);
  else {
    console.error(`\n${name}: failed (${signal ?? `exit code ${status}`}) after ${seconds} s`);
    failed.push(name);
  }
}
exit(failed.length === 0 ? 0 : 1);
