/**
 * The dashboard's history: what its charts draw (signed-in sessions live
 * over the last hour, validations per minute by result, rejections by
 * reason, new devices per day), kept in the store's key-value facet so that
 * it survives restarts and covers every instance over the store.
 *
 * Each instance counts in memory (it reads its own metrics; nothing is added
 * to a request's path) and, every `flushMs` and when it closes, writes its
 * running totals of the current minute and the current day under keys of its
 * own (`<bucket>:<instance>`), overwriting them: no increment has to be
 * atomic, and a reader adds up the instances. Once a minute one sample of
 * the signed-in sessions (`store.census`, where the store has it) is written
 * under the minute's key, by whichever instance gets there.
 *
 * | namespace | key | value | kept |
 * |---|---|---|---|
 * | `stats.m.<hour start ms>` | `<minute start ms>:<instance>` | `{"v":valid,"r":{reason:n},"d":newDevices}` | 2 h |
 * | `stats.d` | `<day start ms>:<instance>` | `{"d":newDevices,"c":created}` | 15 d |
 * | `stats.live` | `<minute start ms>` | signed-in sessions | 2 h |
 *
 * A store failure while writing is reported to `onError`; the current
 * buckets' totals stay in memory and are written again at the next flush. A
 * failure while reading is the caller's (the dashboard answers 503).
 *
 * @module
 * @internal
 */
import { randomBytes } from 'node:crypto';
import type { Store } from '../core/store.js';
import type { Metrics } from './metrics.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Minutes on the hourly charts. */
export const HISTORY_MINUTES = 60;
/** Days on the daily chart. */
export const HISTORY_DAYS = 14;

/** One minute of every instance, added up. */
interface MinuteCounts {
  valid: number;
  rejected: Record<string, number>;
  newDevices: number;
}

/** What the charts draw. */
export interface HistorySeries {
  /** Start of each of the last {@link HISTORY_MINUTES} minutes, oldest first (the last is the current one). */
  readonly minutes: readonly number[];
  /** Signed-in sessions live at each minute, `null` where no instance sampled it (or the store has no census). */
  readonly live: ReadonlyArray<number | null>;
  /** Valid validations through `/v1`, per minute. */
  readonly valid: readonly number[];
  /** Rejected validations through `/v1`, per minute. */
  readonly rejected: readonly number[];
  /** Rejected validations of the last hour by reason, most first. */
  readonly rejectedByReason: ReadonlyArray<readonly [string, number]>;
  /** Start of each of the last {@link HISTORY_DAYS} days (UTC), oldest first. */
  readonly days: readonly number[];
  /** Sign-ins from a new device, per day. */
  readonly newDevices: readonly number[];
}

/** The history of one instance. */
export interface History {
  /** Writes this instance's running totals now, and the minute's census sample if none was taken (the timer does it every `flushMs`). */
  flush(): Promise<void>;
  /** The series of every instance, added up, as of `now`. */
  read(now?: number): Promise<HistorySeries>;
  /** Stops the timer after a last flush. */
  close(): Promise<void>;
}

/** Options of {@link createHistory}. */
export interface HistoryOptions {
  readonly store: Store;
  readonly metrics: Metrics;
  /** @default 10_000 */
  readonly flushMs?: number;
  readonly now?: () => number;
  readonly onError?: (err: unknown) => void;
}

/**
 * Starts counting for the charts of the dashboard.
 *
 * @example
 * ```ts
 * const history = createHistory({ store, metrics });
 * const series = await history.read(); // series.valid: validations per minute, every instance
 * ```
 */
export function createHistory(options: HistoryOptions): History {
  const { store, metrics } = options;
  const now = options.now ?? Date.now;
  const onError = options.onError ?? (() => undefined);
  // Per process: a restart starts fresh totals under a new key, and the old key's stay counted.
  const instance = randomBytes(6).toString('hex');
  let minute = floor(now(), MINUTE);
  let day = floor(now(), DAY);
  let inMinute: MinuteCounts = { valid: 0, rejected: {}, newDevices: 0 };
  let inDay = { newDevices: 0, created: 0 };
  let seen = totals(metrics);
  let sampled = -1;
  let writing: Promise<void> | null = null;

  /** Moves what the metrics counted since the last call into the current buckets; returns the buckets that ended. */
  function collect(at: number): Array<{ minute: number; counts: MinuteCounts }> {
    const ended: Array<{ minute: number; counts: MinuteCounts }> = [];
    const t = totals(metrics);
    const m = floor(at, MINUTE);
    if (m !== minute) {
      ended.push({ minute, counts: inMinute });
      minute = m;
      inMinute = { valid: 0, rejected: {}, newDevices: 0 };
    }
    const d = floor(at, DAY);
    if (d !== day) {
      day = d;
      inDay = { newDevices: 0, created: 0 };
    }
    inMinute.valid += t.valid - seen.valid;
    for (const [reason, n] of Object.entries(t.rejected)) {
      const delta = n - (seen.rejected[reason] ?? 0);
      if (delta > 0) inMinute.rejected[reason] = (inMinute.rejected[reason] ?? 0) + delta;
    }
    inMinute.newDevices += t.newDevices - seen.newDevices;
    inDay.newDevices += t.newDevices - seen.newDevices;
    inDay.created += t.created - seen.created;
    seen = t;
    return ended;
  }

  async function write(sample: boolean): Promise<void> {
    const at = now();
    // What the minute that just ended counted goes under its own key (the counts of a tick count where they fell).
    const ended = collect(at);
    const writes: Array<Promise<unknown>> = [];
    for (const e of [...ended, { minute, counts: inMinute }]) {
      writes.push(store.kv.set(`stats.m.${floor(e.minute, HOUR)}`, `${e.minute}:${instance}`, { value: minuteValue(e.counts), expiresAt: e.minute + 2 * HOUR }, at));
    }
    writes.push(store.kv.set('stats.d', `${day}:${instance}`, { value: JSON.stringify({ d: inDay.newDevices, c: inDay.created }), expiresAt: day + 15 * DAY }, at));
    const census = store.census?.bind(store);
    if (sample && sampled !== minute && census !== undefined) {
      const m = minute;
      writes.push(
        census(at, '', 1).then(async (c) => {
          await store.kv.set('stats.live', String(m), { value: String(c.sessions), expiresAt: m + 2 * HOUR }, at);
          sampled = m;
        }),
      );
    }
    // Every write settles before the flush answers, so none is left to reject unheard.
    const failed = (await Promise.allSettled(writes)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  function flush(sample = true): Promise<void> {
    // One write at a time: a slow store never piles up flushes.
    writing ??= write(sample).finally(() => {
      writing = null;
    });
    return writing;
  }

  const timer = setInterval(() => void flush(true).catch(onError), options.flushMs ?? 10_000);
  (timer as { unref?: () => void }).unref?.();

  return {
    flush: () => flush(true),
    async read(at = now()) {
      const first = floor(at, MINUTE) - (HISTORY_MINUTES - 1) * MINUTE;
      const minutes = Array.from({ length: HISTORY_MINUTES }, (_, i) => first + i * MINUTE);
      const byMinute = new Map<number, MinuteCounts>();
      const hours = [...new Set(minutes.map((m) => floor(m, HOUR)))];
      const lists = await Promise.all([...hours.map((h) => store.kv.list(`stats.m.${h}`, 10_000, at)), store.kv.list('stats.live', 10_000, at), store.kv.list('stats.d', 10_000, at)]);
      const dayEntries = lists.pop() ?? [];
      const liveEntries = lists.pop() ?? [];
      for (const entry of lists.flat()) {
        const m = Number(entry.key.slice(0, entry.key.indexOf(':')));
        const counts = parseMinute(entry.value);
        if (counts === null || m < first) continue;
        const sum = byMinute.get(m) ?? { valid: 0, rejected: {}, newDevices: 0 };
        sum.valid += counts.valid;
        sum.newDevices += counts.newDevices;
        for (const [reason, n] of Object.entries(counts.rejected)) sum.rejected[reason] = (sum.rejected[reason] ?? 0) + n;
        byMinute.set(m, sum);
      }
      const live = new Map(liveEntries.map((e) => [Number(e.key), Number(e.value)] as const));
      const reasons: Record<string, number> = {};
      for (const c of byMinute.values()) for (const [reason, n] of Object.entries(c.rejected)) reasons[reason] = (reasons[reason] ?? 0) + n;

      const firstDay = floor(at, DAY) - (HISTORY_DAYS - 1) * DAY;
      const days = Array.from({ length: HISTORY_DAYS }, (_, i) => firstDay + i * DAY);
      const perDay = new Map<number, number>();
      for (const entry of dayEntries) {
        const d = Number(entry.key.slice(0, entry.key.indexOf(':')));
        const n = parseDay(entry.value);
        if (n !== null) perDay.set(d, (perDay.get(d) ?? 0) + n);
      }
      return {
        minutes,
        live: minutes.map((m) => {
          const n = live.get(m);
          return n === undefined || !Number.isFinite(n) ? null : n;
        }),
        valid: minutes.map((m) => byMinute.get(m)?.valid ?? 0),
        rejected: minutes.map((m) => Object.values(byMinute.get(m)?.rejected ?? {}).reduce((a, b) => a + b, 0)),
        rejectedByReason: Object.entries(reasons).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)),
        days,
        newDevices: days.map((d) => perDay.get(d) ?? 0),
      };
    },
    async close() {
      clearInterval(timer);
      // The totals only: a census walks every user, and a shutdown should not wait for it.
      await writing?.catch(() => undefined);
      await flush(false).catch(onError);
    },
  };
}

function floor(t: number, unit: number): number {
  return t - (t % unit);
}

function totals(metrics: Metrics): { valid: number; rejected: Record<string, number>; newDevices: number; created: number } {
  const rejected: Record<string, number> = {};
  let valid = 0;
  for (const { labels, value } of metrics.validated.entries()) {
    const result = labels.result ?? 'unknown';
    if (result === 'valid') valid += value;
    else rejected[result] = (rejected[result] ?? 0) + value;
  }
  return { valid, rejected, newDevices: metrics.newDevices.total(), created: metrics.created.total() };
}

function minuteValue(c: MinuteCounts): string {
  return JSON.stringify({ v: c.valid, r: c.rejected, d: c.newDevices });
}

/** A stored minute, or `null` for anything malformed (another version's, or damaged): never trusted to be well-formed. */
function parseMinute(value: string): MinuteCounts | null {
  try {
    const o = JSON.parse(value) as { v?: unknown; r?: unknown; d?: unknown };
    if (typeof o.v !== 'number' || typeof o.d !== 'number' || o.r === null || typeof o.r !== 'object' || Array.isArray(o.r)) return null;
    const rejected: Record<string, number> = {};
    for (const [reason, n] of Object.entries(o.r as Record<string, unknown>)) if (typeof n === 'number' && n > 0 && reason.length <= 64) rejected[reason] = n;
    return { valid: Math.max(0, o.v), rejected, newDevices: Math.max(0, o.d) };
  } catch {
    return null;
  }
}

function parseDay(value: string): number | null {
  try {
    const o = JSON.parse(value) as { d?: unknown };
    return typeof o.d === 'number' && o.d >= 0 ? o.d : null;
  } catch {
    return null;
  }
}
