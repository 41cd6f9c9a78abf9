/**
 * `latchkey bench`: a quick benchmark of the session engine on a store, to
 * size a deployment: creates sessions (with progress on standard error), then
 * validates them round-robin for a fixed time and reports operations per
 * second and p50/p99 latency. Bounded: at most 100,000 sessions, a create
 * phase of at most 60 s, a measured phase of at most 60 s. The sessions it
 * made are deleted at the end, also after Ctrl+C.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { existsSync, rmdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { hrtime } from 'node:process';
import { createSessions } from '../core/sessions.js';
import type { Store } from '../core/store.js';
import { parseStoreUrl, redactStoreUrl } from '../stores/url.js';
import { intFlag, parseVerb, stringFlag } from './args.js';
import { showHelp, type Command } from './command.js';
import { EXIT } from './exit.js';
import { println, type CliIO } from './io.js';
import { storeCall, withStore } from './open-store.js';
import { table } from './table.js';
import { packageVersion } from './version.js';

const MAX_SESSIONS = 100_000;
const MAX_SECONDS = 60;
const CREATE_LIMIT_MS = 60_000;

const HELP = `Usage: latchkey bench [--store <url>] [--sessions <n>] [--duration <s>] [--json]

A quick benchmark of the session engine on a store: creates <n> sessions
(progress on standard error), then validates them round-robin, one at a time,
for <s> seconds, and prints operations per second and p50/p99 latency of
create() and validate(). The sessions it made are deleted at the end (also
after Ctrl+C), and so is an SQLite file that did not exist before. For the
full comparison with other libraries: npm run bench.

Options:
  --store <url>      the store to measure (default: memory:; LATCHKEY_STORE is
                     not read, so that a benchmark never writes to a
                     production store unless asked to)
  --sessions <n>     sessions to create, 1 to ${MAX_SESSIONS.toLocaleString('en-US')} (default: 10,000); the
                     create phase stops after ${CREATE_LIMIT_MS / 1000} s with what it has
  --duration <s>     seconds of validate(), 1 to ${MAX_SECONDS} (default: 5)
  --json             print the results as JSON
  -h, --help         show this help`;

/** What one phase measured. */
interface PhaseResult {
  readonly operation: string;
  readonly ops: number;
  readonly opsPerSec: number;
  readonly p50Us: number;
  readonly p99Us: number;
}

/** `latchkey bench`. */
export const benchCommand: Command = {
  name: 'bench',
  summary: 'measure create and validate ops/s and latency on a store',
  help: HELP,
  async run(argv, io) {
    const { values } = parseVerb(
      argv,
      { store: { type: 'string' }, sessions: { type: 'string' }, duration: { type: 'string' }, json: { type: 'boolean' } },
      HELP,
    );
    if (values.help === true) return showHelp(io, HELP);
    const url = stringFlag(values, 'store') ?? 'memory:';
    const where = parseStoreUrl(url, io.cwd);
    const count = intFlag(values, 'sessions', 10_000, 1, MAX_SESSIONS, HELP);
    const seconds = intFlag(values, 'duration', 5, 1, MAX_SECONDS, HELP);

    let interrupted = false;
    const onSignal = (): void => {
      if (interrupted) process.exit(130);
      interrupted = true;
      println(io.stderr, 'stopping; deleting the benchmark sessions (Ctrl+C again to quit at once)');
    };
    process.on('SIGINT', onSignal);
    // An SQLite file made for the benchmark goes with it; one that was there stays (without the benchmark's sessions).
    const removeAfter = where.kind === 'sqlite' ? createdBy(where.path) : null;
    const persistent = where.kind !== 'memory' && removeAfter === null;
    try {
      const results = await withStore(url, io, (store) => measure(store, count, seconds, io, () => interrupted, persistent));
      if (interrupted) return 130;
      const shown = redactStoreUrl(url);
      if (values.json === true) {
        println(io.stdout, JSON.stringify({ store: shown, sessions: results.created, durationSeconds: seconds, results: results.phases }));
      } else {
        println(
          io.stdout,
          `latchkey ${packageVersion()} on Node.js ${process.versions.node}, store ${shown}, ${results.created.toLocaleString('en-US')} sessions`,
          '',
          ...table(
            ['OPERATION', 'OPS', 'OPS/S', 'P50 µs', 'P99 µs'],
            results.phases.map((p) => [p.operation, fmt(p.ops), fmt(p.opsPerSec), p.p50Us.toFixed(1), p.p99Us.toFixed(1)]),
          ),
        );
      }
      return EXIT.ok;
    } finally {
      process.off('SIGINT', onSignal);
      if (removeAfter !== null) removeAfter(io);
    }
  },
};

/**
 * Called before the store opens, when the SQLite file at `path` does not
 * exist yet: what removes it afterwards with its companions (-wal, -shm,
 * -journal) and the folders opening it made (only while empty). Null when
 * the file exists (or is `:memory:`): it stays.
 */
function createdBy(path: string): ((io: CliIO) => void) | null {
  if (path === ':memory:' || existsSync(path)) return null;
  const newFolders: string[] = [];
  for (let d = dirname(path); !existsSync(d) && dirname(d) !== d; d = dirname(d)) newFolders.push(d);
  return (io) => {
    try {
      for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${path}${suffix}`, { force: true });
    } catch (err) {
      println(io.stderr, `warning: could not delete the benchmark's database ${path}: ${(err as Error).message}`);
      return;
    }
    try {
      for (const d of newFolders) rmdirSync(d);
    } catch {
      // Not empty: something else was put there meanwhile; leave it.
    }
  };
}

async function measure(
  store: Store,
  count: number,
  seconds: number,
  io: CliIO,
  stopped: () => boolean,
  persistent: boolean,
): Promise<{ created: number; phases: PhaseResult[] }> {
  // touchInterval beyond the run: validate() reads only, the common path (a real deployment writes once a minute per session).
  const sessions = createSessions({ store, sweepInterval: false, touchInterval: '10m' });
  const run = randomBytes(6).toString('hex');
  const tokens: string[] = [];
  const handles: string[] = [];
  const phases: PhaseResult[] = [];
  const progress = throttle(1000);
  try {
    // Create.
    const created = new Histogram();
    const start = hrtime.bigint();
    const limit = start + BigInt(CREATE_LIMIT_MS) * 1_000_000n;
    let last = start;
    for (let i = 0; i < count && !stopped(); i++) {
      const { token, session } = await storeCall(() =>
        sessions.create({ userId: `latchkey-bench-${run}-${i}`, client: { ip: `203.0.113.${(i % 254) + 1}`, userAgent: USER_AGENT } }),
      );
      const now = hrtime.bigint();
      created.add(Number(now - last));
      last = now;
      tokens.push(token);
      handles.push(session.handle);
      if (progress()) println(io.stderr, `creating sessions: ${fmt(i + 1)}/${fmt(count)}`);
      if (now > limit) {
        println(io.stderr, `create phase stopped after ${CREATE_LIMIT_MS / 1000} s with ${fmt(i + 1)} sessions`);
        break;
      }
    }
    if (stopped()) return { created: tokens.length, phases };
    println(io.stderr, `created ${fmt(tokens.length)} sessions; validating for ${seconds} s`);
    phases.push(created.result('create', Number(last - start)));

    // Validate: a short warm-up, then the measured run.
    const valid = new Histogram();
    let i = 0;
    const warmUntil = hrtime.bigint() + 300_000_000n;
    while (hrtime.bigint() < warmUntil && !stopped()) await storeCall(() => sessions.validate(tokens[i++ % tokens.length]));
    const vStart = hrtime.bigint();
    const until = vStart + BigInt(seconds) * 1_000_000_000n;
    let vLast = vStart;
    let failures = 0;
    while (vLast < until && !stopped()) {
      const result = await storeCall(() => sessions.validate(tokens[i++ % tokens.length]));
      if (!result.ok) failures++;
      const now = hrtime.bigint();
      valid.add(Number(now - vLast));
      vLast = now;
      if (progress()) println(io.stderr, `validating: ${Math.min(seconds, Math.floor(Number(now - vStart) / 1e9))}/${seconds} s`);
    }
    if (failures > 0) println(io.stderr, `warning: ${fmt(failures)} validations failed (sessions evicted or expired during the run?)`);
    phases.push(valid.result('validate', Number(vLast - vStart)));
    return { created: tokens.length, phases };
  } finally {
    // A memory store vanishes anyway; withStore closes the store after the engine.
    if (persistent) await cleanUp(store, handles, io);
    await sessions.close().catch(() => {});
  }
}

/** Deletes the benchmark's sessions, a few at a time. Best effort: they would expire by themselves. */
async function cleanUp(store: Store, handles: readonly string[], io: CliIO): Promise<void> {
  if (handles.length === 0) return;
  const progress = throttle(1000);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < handles.length) {
      await store.delete(handles[next++] as string).catch(() => false);
      done++;
      if (progress()) println(io.stderr, `deleting the benchmark sessions: ${fmt(done)}/${fmt(handles.length)}`);
    }
  };
  await Promise.all(Array.from({ length: store.capabilities.inProcess ? 1 : 16 }, worker));
}

/**
 * Latencies in log-spaced buckets 1 % apart: constant memory however long
 * the run, percentiles within 1 %.
 */
class Histogram {
  private readonly buckets = new Float64Array(2600);
  private n = 0;

  add(ns: number): void {
    const b = ns <= 1 ? 0 : Math.min(this.buckets.length - 1, Math.floor(Math.log(ns) / LOG_STEP));
    this.buckets[b] = (this.buckets[b] as number) + 1;
    this.n++;
  }

  percentileNs(p: number): number {
    const target = Math.ceil((p / 100) * this.n);
    let seen = 0;
    for (let b = 0; b < this.buckets.length; b++) {
      seen += this.buckets[b] as number;
      if (seen >= target) return Math.exp((b + 0.5) * LOG_STEP);
    }
    return 0;
  }

  result(operation: string, elapsedNs: number): PhaseResult {
    const us = (ns: number): number => Math.round(ns / 100) / 10;
    return {
      operation,
      ops: this.n,
      opsPerSec: elapsedNs > 0 ? Math.round((this.n * 1e9) / elapsedNs) : 0,
      p50Us: us(this.percentileNs(50)),
      p99Us: us(this.percentileNs(99)),
    };
  }
}

const LOG_STEP = Math.log(1.01);

const USER_AGENT = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** True at most once per `ms`. */
function throttle(ms: number): () => boolean {
  let last = Date.now();
  return () => {
    const now = Date.now();
    if (now - last < ms) return false;
    last = now;
    return true;
  };
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
