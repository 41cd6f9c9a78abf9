/**
 * SQLite store benchmark: create(), validate() and patch() on every SQLite
 * driver, side by side, with the engine cases of ./engine/cases.js:
 * better-sqlite3 (and node:sqlite where this Node has it) in this process,
 * then node:sqlite on Node 24 and bun:sqlite on Bun, each in a process of
 * that runtime when scripts/runtimes.js has installed it (the checkout's
 * better-sqlite3 is built for this Node only, so each other runtime measures
 * its own SQLite).
 *
 * Usage: node bench/sqlite.bench.js            (writes bench/results/sqlite-latest.json)
 *        <runtime> bench/sqlite.bench.js --child   (one runtime's figures as JSON on stdout)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sqliteDrivers, sqliteStore } from 'latchkey/stores/sqlite';
import { compare } from './lib/measure.js';
import { writeResults } from './lib/results.js';
import { count, micros, table } from './lib/table.js';
import { latchkeyCases } from './engine/cases.js';
import { ENGINE_OPTIONS, POOL } from './engine/fixtures.js';

const TIMING = { warmupMs: 300, roundMs: 700, rounds: 5 };
const runtime = typeof globalThis.Bun !== 'undefined' ? `Bun ${globalThis.Bun.version}` : `Node ${process.version}`;

/** This runtime's figures: each driver's create, validate and patch. */
async function measureHere() {
  const scratch = mkdtempSync(join(tmpdir(), 'latchkey-bench-sqlite-'));
  const rows = [];
  try {
    for (const driver of sqliteDrivers()) {
      const { cases, close } = await latchkeyCases(driver, (name) => sqliteStore({ path: join(scratch, `${driver.replace(':', '-')}-${name}.db`), driver }));
      const results = await compare(cases, TIMING);
      await close();
      for (const r of results) rows.push({ runtime, driver, op: r.name.slice(driver.length + 1), opsPerSec: r.opsPerSec, p50Ns: r.p50Ns, p99Ns: r.p99Ns });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return rows;
}

if (process.argv.includes('--child')) {
  process.stdout.write(`${JSON.stringify(await measureHere())}\n`);
} else {
  const rows = await measureHere();
  // The other runtimes, as scripts/runtimes.js unpacked them (same cache folder and key).
  const manifest = JSON.parse(readFileSync(new URL('../scripts/runtimes.json', import.meta.url), 'utf8'));
  const cache = process.env.LATCHKEY_RUNTIMES_DIR || join(homedir(), '.cache', 'latchkey', 'runtimes');
  const self = fileURLToPath(import.meta.url);
  for (const name of ['node24', 'bun']) {
    const rt = manifest[name];
    const dir = join(cache, `${rt.package.replace('/', '+')}@${rt.version}`);
    if (!existsSync(join(dir, '.installed'))) {
      console.log(`(${name} ${rt.version} not installed: node scripts/runtimes.js install ${name})`);
      continue;
    }
    const child = spawnSync(join(dir, rt.bin), [self, '--child'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 * 1024 * 1024 });
    if (child.status !== 0) {
      console.log(`(${name}: the benchmark failed, exit ${child.status})`);
      continue;
    }
    rows.push(...JSON.parse(child.stdout.trim().split('\n').pop()));
  }
  console.log(`SQLite drivers, ${POOL.toLocaleString('en-US')} sessions, touchInterval ${ENGINE_OPTIONS.touchInterval} (validate never writes); medians of ${TIMING.rounds} rounds\n`);
  console.log(
    table(
      ['runtime', 'driver', 'op', 'ops/s', 'p50 µs', 'p99 µs'],
      rows.map((r) => [r.runtime, r.driver, r.op, count(r.opsPerSec), micros(r.p50Ns), micros(r.p99Ns)]),
    ),
  );
  console.log(`\nFigures written to ${writeResults('sqlite', { method: { ...TIMING, pool: POOL, engineOptions: ENGINE_OPTIONS }, rows })}`);
}
