/**
 * Removal of expired records, for stores that do not expire records by
 * themselves: on demand (`sweep()`), and every `sweepInterval` from the
 * engine's first store call on (never from construction: a Workers module's
 * global scope refuses timers, and an engine never used never ticks).
 *
 * @module
 * @internal
 */
import type { Clock } from '../clock.js';
import type { Store } from '../store.js';
import { repeat, type StopTimer } from '../timers.js';
import type { StoreGate } from './store-gate.js';

/** Records removed per store call: a big backlog is swept in bounded steps. */
const BATCH = 1000;

/** @internal */
export class Sweeper {
  readonly #gate: StoreGate;
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #onError: (error: unknown) => void;
  #running: Promise<number> | null = null;
  #stopTimer: StopTimer | null = null;

  constructor(gate: StoreGate, store: Store, clock: Clock, onError: (error: unknown) => void) {
    this.#gate = gate;
    this.#store = store;
    this.#clock = clock;
    this.#onError = onError;
  }

  /** Starts sweeping every `ms` milliseconds. */
  start(ms: number): void {
    this.#stopTimer ??= repeat(() => {
      this.sweep().catch(this.#onError);
    }, ms);
  }

  /** Removes expired records now; resolves how many. Concurrent calls share one sweep. */
  sweep(): Promise<number> {
    this.#running ??= this.#sweepAll().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  /** Stops the timer and waits for a sweep under way (its failure is of no interest any more). */
  async stop(): Promise<void> {
    this.#stopTimer?.();
    this.#stopTimer = null;
    if (this.#running !== null) await this.#running.catch(() => 0);
  }

  async #sweepAll(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.#gate.call(() => this.#store.sweep(this.#clock.now(), BATCH));
      total += n;
      if (n < BATCH) return total;
    }
  }
}
