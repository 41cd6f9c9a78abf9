/**
 * Timing shared by every benchmark: ops/s and per-op latency of several cases,
 * measured in-process with a tight loop and process.hrtime.bigint().
 *
 * Each case is warmed up first, which also calibrates how many ops make one
 * round of about `roundMs`. Then every case runs one round in turn, `rounds`
 * times over, so that machine noise (other processes, thermal drift) hits all
 * cases alike; each figure reported is the median of the rounds.
 *
 * The clock is read once per op: an op's latency is the time since the
 * previous op ended, so latencies include the loop's own small overhead and
 * add up exactly to the round's wall time. An op that returns a promise is
 * awaited (as a caller would); a synchronous op is not.
 *
 * When the process runs with --expose-gc (bench/run.js starts it so), the heap
 * is collected before each round so that no case pays for another's garbage.
 */
import { hrtime } from 'node:process';

const clock = hrtime.bigint;

/**
 * @typedef {object} Case
 * @property {string} name
 * @property {(i: number) => unknown} op One operation. `i` counts this case's ops over the whole run: use it to pick inputs round-robin.
 * @property {() => unknown} [beforeRound] Untimed set-up before the warm-up and before each round, e.g. to empty a store that the op fills.
 */

/**
 * @typedef {object} CaseResult
 * @property {string} name
 * @property {number} opsPerRound
 * @property {number} opsPerSec median of rounds
 * @property {number} nsPerOp median of rounds (wall time / ops)
 * @property {number} p50Ns median of the rounds' median latencies
 * @property {number} p99Ns median of the rounds' 99th-percentile latencies
 * @property {Array<{ opsPerSec: number, p50Ns: number, p99Ns: number }>} rounds
 */

/**
 * Measures cases round by round.
 *
 * @param {Case[]} cases
 * @param {{ warmupMs?: number, roundMs?: number, rounds?: number }} [options]
 * @returns {Promise<CaseResult[]>}
 */
export async function compare(cases, { warmupMs = 500, roundMs = 1000, rounds = 5 } = {}) {
  const states = [];
  for (const c of cases) {
    const state = { c, next: 0, isAsync: false, opsPerRound: 0, rounds: [] };
    await c.beforeRound?.();
    const first = c.op(state.next++);
    state.isAsync = isThenable(first);
    await first;
    state.opsPerRound = await warmUp(state, warmupMs, roundMs);
    states.push(state);
  }
  for (let r = 0; r < rounds; r++) {
    for (const state of states) {
      await state.c.beforeRound?.();
      globalThis.gc?.();
      const latencies = new Float64Array(state.opsPerRound);
      const ns = await run(state, latencies);
      latencies.sort();
      state.rounds.push({
        opsPerSec: (latencies.length * 1e9) / ns,
        p50Ns: percentile(latencies, 0.5),
        p99Ns: percentile(latencies, 0.99),
      });
    }
  }
  return states.map(({ c, opsPerRound, rounds: rs }) => {
    const opsPerSec = median(rs.map((x) => x.opsPerSec));
    return {
      name: c.name,
      opsPerRound,
      opsPerSec,
      nsPerOp: 1e9 / opsPerSec,
      p50Ns: median(rs.map((x) => x.p50Ns)),
      p99Ns: median(rs.map((x) => x.p99Ns)),
      rounds: rs,
    };
  });
}

/** Runs growing batches for about `warmupMs`; returns the ops that fill `roundMs` at the last batch's rate. */
async function warmUp(state, warmupMs, roundMs) {
  let batch = 64;
  let spentNs = 0;
  let nsPerOp = 0;
  while (spentNs < warmupMs * 1e6) {
    const ns = await run(state, new Float64Array(batch));
    spentNs += ns;
    nsPerOp = ns / batch;
    batch *= 2;
  }
  return Math.max(1, Math.round((roundMs * 1e6) / nsPerOp));
}

/** Runs `latencies.length` ops, filling in each op's latency; returns the total ns. */
function run(state, latencies) {
  return state.isAsync ? runAsync(state, latencies) : runSync(state, latencies);
}

async function runAsync(state, latencies) {
  const { op } = state.c;
  const first = state.next;
  const start = clock();
  let t0 = start;
  for (let k = 0; k < latencies.length; k++) {
    await op(first + k);
    const t1 = clock();
    latencies[k] = Number(t1 - t0);
    t0 = t1;
  }
  state.next += latencies.length;
  return Number(t0 - start);
}

function runSync(state, latencies) {
  const { op } = state.c;
  const first = state.next;
  const start = clock();
  let t0 = start;
  for (let k = 0; k < latencies.length; k++) {
    op(first + k);
    const t1 = clock();
    latencies[k] = Number(t1 - t0);
    t0 = t1;
  }
  state.next += latencies.length;
  return Number(t0 - start);
}

function isThenable(value) {
  return value !== null && typeof value === 'object' && typeof value.then === 'function';
}

/**
 * The value below which a fraction `q` of sorted values lie.
 *
 * @param {ArrayLike<number>} sorted ascending
 * @param {number} q from 0 to 1
 */
export function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** @param {number[]} values */
export function median(values) {
  return percentile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}
