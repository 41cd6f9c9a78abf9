/**
 * Reports of refused tokens (`invalid-token` events), aggregated so that a
 * flood costs bounded memory and a bounded number of events: per client IP,
 * carrier and reason, the refusals of one window are counted and reported
 * once, when the window ends. At most `maxEntries` windows are open at once;
 * when a new one would exceed that, the oldest is reported early.
 *
 * @module
 */
import type { InvalidTokenEvent } from './events.js';

/** What is counted: the refusals the engine otherwise leaves no trace of. */
export type ReportedReason = InvalidTokenEvent['reason'];

interface Entry {
  readonly ip: string | null;
  readonly carrier: string | null;
  readonly reason: ReportedReason;
  readonly since: number;
  at: number;
  count: number;
}

/** @internal */
export class InvalidTokenReports {
  readonly #windowMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #emit: (event: InvalidTokenEvent) => void;
  // Insertion order is the order windows opened in: the first entry always ends first.
  readonly #open = new Map<string, Entry>();
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(windowMs: number, maxEntries: number, now: () => number, emit: (event: InvalidTokenEvent) => void) {
    this.#windowMs = windowMs;
    this.#maxEntries = maxEntries;
    this.#now = now;
    this.#emit = emit;
  }

  /** Counts one refused token. Never holds the token: only where it came from and why it was refused. */
  record(ip: string | null, carrier: string | null, reason: ReportedReason, now: number): void {
    this.#due(now);
    const key = `${ip ?? ''}\0${carrier ?? ''}\0${reason}`;
    const entry = this.#open.get(key);
    if (entry !== undefined) {
      entry.count++;
      entry.at = now;
      return;
    }
    if (this.#open.size >= this.#maxEntries) {
      const oldest = this.#open.keys().next();
      if (oldest.done !== true) this.#report(oldest.value);
    }
    this.#open.set(key, { ip, carrier, reason, since: now, at: now, count: 1 });
    this.#arm();
  }

  /** Reports every open window now (at close). */
  flush(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    for (const key of [...this.#open.keys()]) this.#report(key);
  }

  /** Reports the windows that ended by `now`. */
  #due(now: number): void {
    for (const [key, entry] of this.#open) {
      if (entry.since + this.#windowMs > now) return;
      this.#report(key);
    }
  }

  #report(key: string): void {
    const e = this.#open.get(key);
    if (e === undefined) return;
    this.#open.delete(key);
    this.#emit({ ip: e.ip, carrier: e.carrier, reason: e.reason, count: e.count, since: e.since, at: e.at });
  }

  /** One timer for the first window to end; it re-arms for the next. Unref'd: it never keeps a process alive. */
  #arm(): void {
    if (this.#timer !== null) return;
    const first = this.#open.values().next();
    if (first.done === true) return;
    // At least 10 ms: a clock that does not move (a test's) must not make this spin.
    const delay = Math.max(10, first.value.since + this.#windowMs - this.#now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#due(this.#now());
      this.#arm();
    }, delay);
    this.#timer.unref?.();
  }
}
