/**
 * Engine benchmark: the cost of latchkey's session engine per operation and
 * per stored session, against express-session (the peer a user would
 * otherwise pick) and a bare HMAC cookie check (the floor), in the same run.
 * Memory is compared with the same data on both sides: a signed-in user
 * without and with the client's IP address and user agent.
 *
 * Speed: every case of ./engine/cases.js, measured in this process by
 * ./lib/measure.js (warm-up, then 5 interleaved rounds of about 1 s each,
 * medians of rounds). Memory: ./engine/session-heap.js, 100,000 sessions per
 * subject, each subject in a fresh `node --expose-gc` process.
 *
 * Prints a report and writes bench/results/engine-latest.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runNodeJson } from './lib/child.js';
import { compare } from './lib/measure.js';
import { writeResults } from './lib/results.js';
import { engineCases } from './engine/cases.js';
import { ENGINE_OPTIONS, POOL } from './engine/fixtures.js';
import { printReport } from './engine/report.js';
import { TARGETS, judge } from './engine/targets.js';

const TIMING = { warmupMs: 500, roundMs: 1000, rounds: 5 };
const HEAP_COUNT = 100_000;
const HEAP_SUBJECTS = ['latchkey', 'latchkey anonymous', 'latchkey no client', 'express-session', 'express-session with client'];

const scratch = mkdtempSync(join(tmpdir(), 'latchkey-bench-'));
let speed;
try {
  const { cases, close } = await engineCases(scratch);
  speed = await compare(cases, TIMING);
  await close();
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const heapScript = fileURLToPath(new URL('./engine/session-heap.js', import.meta.url));
const memory = [];
for (const subject of HEAP_SUBJECTS) {
  memory.push(await runNodeJson(heapScript, [subject, String(HEAP_COUNT)], ['--expose-gc']));
}

const bySubject = Object.fromEntries(memory.map((m) => [m.subject, m]));
const byName = Object.fromEntries(speed.map((r) => [r.name, r]));
const judged = judge(byName, bySubject);
printReport({
  method:
    `medians of ${TIMING.rounds} interleaved rounds of ~${TIMING.roundMs / 1000} s per case; validate and patch round-robin ` +
    `over ${POOL.toLocaleString('en-US')} sessions; touchInterval ${ENGINE_OPTIONS.touchInterval}, longer than the run, ` +
    'so validate never writes (the common read path).',
  speed,
  memory,
  judged,
});

const file = writeResults('engine', {
  method: { ...TIMING, pool: POOL, heapSessions: HEAP_COUNT, engineOptions: ENGINE_OPTIONS },
  speed: byName,
  memory: bySubject,
  ratios: judged.ratios,
  targets: TARGETS,
  met: judged.met,
});
console.log(`\nFigures written to ${file}`);
