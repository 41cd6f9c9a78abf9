/**
 * One outage under load: the load runs a moment, the store goes down (killed
 * or paused) for a while longer than every cache's staleness, comes back,
 * and the load runs until every operation has answered right for a second.
 * The timeline is then judged (see `summarise`) and printed.
 */
import { expect } from 'vitest';
import { Load, summarise, type Op, type OutageSummary } from './load.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Longest answer while the store is down: the engine's storeTimeout (2 s) and room for a loaded machine. */
export const BOUND_MS = 4500;

export interface Fault {
  /** 'killed' or 'paused', for the report. */
  readonly kind: string;
  down(): Promise<void> | void;
  /** Brings the store back; resolves once it answers again. */
  up(): Promise<void> | void;
}

/**
 * Runs `ops` under load through an outage of `outageMs`; `stalenessMs` is
 * the longest any cache of the target may trust a live verdict. Asserts: no
 * wrong answer at any time, nothing but 503 to requests sent once every
 * cache had expired (ended families aside), every answer within the bound,
 * and recovery without a restart within 15 s.
 */
export async function outageUnderLoad(label: string, ops: readonly Op[], fault: Fault, o: { stalenessMs: number; outageMs: number }): Promise<OutageSummary> {
  expect(o.outageMs).toBeGreaterThan(o.stalenessMs + 2500);
  const load = new Load(ops, 6);
  await sleep(800);
  const down = Date.now();
  await fault.down();
  await sleep(o.outageMs);
  const restoring = Date.now();
  await fault.up();
  const up = Date.now();
  // Until every operation has answered right for a second (or 15 s have passed).
  for (;;) {
    await sleep(200);
    const now = Date.now();
    const recent = load.between(now - 1000, now);
    if (recent.length > ops.length && recent.every((s) => s.judgement === 'ok')) break;
    if (now - up > 15_000) break;
  }
  await load.stop();
  const summary = summarise(load, { down, expired: down + o.stalenessMs + 200, restoring, up, boundMs: BOUND_MS });
  const statuses = Object.entries(summary.during)
    .map(([status, n]) => `${n}×${status}`)
    .join(', ');
  console.log(
    `${label} (${fault.kind} ${o.outageMs} ms, caches ${o.stalenessMs} ms): during the outage ${statuses}; wrong ${summary.wrong.length}; stale after expiry ${summary.servedStale.length}; slow ${summary.slow.length}; recovered ${summary.recoveryMs === null ? 'never' : `${summary.recoveryMs} ms`} after the store was back`,
  );
  expect(summary.wrong).toEqual([]);
  expect(summary.servedStale).toEqual([]);
  expect(summary.slow).toEqual([]);
  expect(summary.during['500'] ?? 0).toBe(0);
  expect(summary.during['503'] ?? 0).toBeGreaterThan(0);
  expect(summary.recoveryMs).not.toBeNull();
  return summary;
}
