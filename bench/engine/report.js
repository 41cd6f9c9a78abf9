/**
 * The engine benchmark's printed report: speed per case, memory per session,
 * and the targets.
 */
import { count, micros, table, times } from '../lib/table.js';
import { TARGETS } from './targets.js';

/**
 * @param {object} run
 * @param {string} run.method one line on how speed was measured
 * @param {import('../lib/measure.js').CaseResult[]} run.speed
 * @param {Array<{ subject: string, count: number, heapUsed: number, arrayBuffers: number, bytesPerItem: number }>} run.memory
 * @param {ReturnType<typeof import('./targets.js').judge>} run.judged
 */
export function printReport({ method, speed, memory, judged: { ratios, met } }) {
  console.log(`Speed: ${method}\n`);
  console.log(
    table(
      ['case', 'ops/s', 'median µs', 'p99 µs', 'rounds ops/s min-max'],
      speed.map((r) => {
        const rounds = r.rounds.map((x) => x.opsPerSec);
        return [r.name, count(r.opsPerSec), micros(r.p50Ns), micros(r.p99Ns), `${count(Math.min(...rounds))}-${count(Math.max(...rounds))}`];
      }),
    ),
  );

  console.log(`\nMemory: (heapUsed + arrayBuffers growth) / sessions, each store filled in a fresh process.\n`);
  console.log(
    table(
      ['store', 'sessions', 'heap delta', 'bytes/session'],
      memory.map((m) => [m.subject, count(m.count), count(m.heapUsed + m.arrayBuffers), count(m.bytesPerItem)]),
    ),
  );

  const verdict = (ok) => (ok ? 'met' : 'MISSED');
  console.log('\nTargets (time ratios at the median latency; on the mean time per op, from ops/s, for reference):\n');
  console.log(
    table(
      ['measure', 'value', 'by ops/s', 'target', 'verdict'],
      [
        [
          'memory validate time / floor time',
          times(ratios.validateVsFloor),
          times(ratios.validateVsFloorByThroughput),
          `<= ${times(TARGETS.validateVsFloor)}`,
          verdict(met.validateVsFloor),
        ],
        [
          'express-session load time / memory validate time',
          times(ratios.expressVsValidate),
          times(ratios.expressVsValidateByThroughput),
          `>= ${times(TARGETS.expressVsValidate)}`,
          verdict(met.expressVsValidate),
        ],
        ['sqlite validate median µs', ratios.sqliteValidateP50Us.toFixed(2), '', `< ${TARGETS.sqliteValidateP50Us}`, verdict(met.sqliteValidateP50Us)],
        [
          'memory store bytes / express-session, same data (with client)',
          times(ratios.bytesVsExpressSession),
          '',
          `<= ${times(TARGETS.bytesVsExpressSession)}`,
          verdict(met.bytesVsExpressSession),
        ],
        [
          'memory store bytes / express-session, same data (no client)',
          times(ratios.bytesVsExpressSessionNoClient),
          '',
          `<= ${times(TARGETS.bytesVsExpressSession)}`,
          verdict(met.bytesVsExpressSessionNoClient),
        ],
      ],
    ),
  );
}
