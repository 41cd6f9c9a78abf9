/**
 * A brake on repeated failures per client key (an IP): the guessing throttle
 * of the engine and the sign-in brakes of the dashboard and the demo. The
 * failures are counted in a sliding window on {@link Counters}: the store's
 * (`store.counters`, shared by every instance, atomic in the store) or the
 * process's own ({@link localCounters}). Once `limit` failures fall within
 * `windowMs`, the key is refused until the oldest of them leaves the window.
 *
 * The counters are consulted on the failure path only: {@link Brake.retryAfter},
 * asked before each attempt, reads what this process knows, never the store,
 * so that a success costs nothing more. A client that spreads failures over
 * several instances is counted once, in the store, against one budget. The
 * instance whose count engages the brake writes it to the store's brake log
 * (a ring of `store.events` per brake name) and announces it over the
 * store's invalidation channel (Redis pub/sub, PostgreSQL NOTIFY), so that
 * every instance refuses the client at once. An announcement reaches only
 * the instances listening at that moment: one that starts listening later
 * (its first check, a reconnection after the channel was lost) reads the
 * brake log once the channel is live, and so knows every brake still in
 * force without having counted anything itself. Should both be missed (the
 * store unreachable), an instance still refuses the client from its first
 * failure after the budget is spent.
 *
 * @module
 * @internal
 */
import { watchInvalidations } from './invalidations.js';
import { jsonObject } from './json.js';
import { localCounters, type Counters, type EventLog } from './shared.js';
import type { Store } from './store.js';
import { guardedCounters, guardedStore } from './store-call.js';

/** Settings of a {@link Brake}. */
export interface BrakeOptions {
  readonly counters: Counters;
  /** The counters' name (`'guessing'`, `'admin-sign-in'`). */
  readonly name: string;
  /** Failures within `windowMs` that engage the brake. */
  readonly limit: number;
  readonly windowMs: number;
  /** Most keys this process remembers as braked. */
  readonly maxClients: number;
}

/** What one failure left. */
export interface BrakeVerdict {
  /** Failures of the key in the window, this one included (at most `limit + 1`). */
  readonly count: number;
  /** This failure is the one that engaged the brake (exactly one across every instance sharing the counters). */
  readonly reached: boolean;
  /** Seconds the key must now wait, or 0. */
  readonly retryAfter: number;
}

/** @internal */
export class Brake {
  readonly #o: BrakeOptions;
  /** Keys braked, with the time the brake releases. Map order: the first key was braked first. */
  readonly #until = new Map<string, number>();
  /** The store brakes are logged and announced on, while watched. */
  #calls: Store | null = null;
  /** Hears an announcement that failed: the brake holds here all the same, and the verdict stands. */
  #onError: (error: unknown) => void = () => {};

  constructor(options: BrakeOptions) {
    this.#o = options;
  }

  /** Seconds `key` must wait before its next attempt, or 0; no store call. */
  retryAfter(key: string, now: number): number {
    const until = this.#until.get(key);
    if (until === undefined) return 0;
    if (until <= now) {
      this.#until.delete(key);
      return 0;
    }
    return Math.max(1, Math.ceil((until - now) / 1000));
  }

  /** Counts a failure of `key` at `now` (a store call when the counters are shared). */
  async failed(key: string, now: number): Promise<BrakeVerdict> {
    const { counters, name, limit, windowMs } = this.#o;
    const times = await counters.hit(name, key, now, windowMs, limit + 1);
    const count = times.length;
    if (count < limit) return { count, reached: false, retryAfter: 0 };
    // The brake releases when the oldest of the newest `limit` failures leaves the window.
    const until = (times[count - limit] as number) + windowMs;
    this.#brake(key, until);
    const reached = count === limit;
    const calls = this.#calls;
    if (reached && calls !== null) {
      // Logged before it is announced: an instance that missed the announcement (not listening yet) reads it
      // in the log once it listens, as it reads the log only after its channel is live.
      if (calls.events !== undefined) {
        await calls.events.append(brakeLog(name), JSON.stringify({ key, until }), this.#o.maxClients).catch(this.#onError);
      }
      if (calls.announce !== undefined) await calls.announce({ brakes: [{ name, key, until }] }).catch(this.#onError);
    }
    return { count, reached, retryAfter: this.retryAfter(key, now) };
  }

  /**
   * Hears the brakes other instances on `store` engage (when the store
   * announces: `capabilities.invalidations`), on the store's one channel of
   * this process (shared with its caches), reads the brakes still in force
   * from the brake log each time the channel comes live, and logs and
   * announces the ones this one engages through `calls` (the store, or a
   * view of it that bounds each call). Returns the function that stops it.
   */
  watch(store: Store, onError: (error: unknown) => void, calls: Store = store): () => Promise<void> {
    if (store.capabilities.invalidations !== true) return async () => {};
    this.#calls = calls;
    this.#onError = onError;
    const { name } = this.#o;
    // Names the current catch-up: one started before a loss of the channel is superseded by the next.
    let reading: object | null = null;
    const catchUp = (log: EventLog): void => {
      const mine = {};
      reading = mine;
      log.recent(brakeLog(name), this.#o.maxClients).then((entries) => {
        if (reading !== mine) return;
        // Oldest first: when they outnumber maxClients, the newest brakes are the ones kept.
        for (let i = entries.length - 1; i >= 0; i--) {
          const b = parseLogged((entries[i] as { body: string }).body);
          if (b !== null) this.#brake(b.key, b.until);
        }
      }, onError);
    };
    const unwatch = watchInvalidations(
      store,
      {
        invalidate: () => {},
        brakes: (brakes) => {
          for (const b of brakes) if (b.name === name && b.key.length <= 512) this.#brake(b.key, b.until);
        },
        status: (live) => {
          if (!live) reading = null;
          else if (calls.events !== undefined) catchUp(calls.events);
        },
      },
      onError,
    );
    return async () => {
      this.#calls = null;
      reading = null;
      await unwatch();
    };
  }

  #brake(key: string, until: number): void {
    if ((this.#until.get(key) ?? 0) >= until) return;
    this.#until.delete(key);
    this.#until.set(key, until);
    if (this.#until.size > this.#o.maxClients) this.#until.delete(this.#until.keys().next().value as string);
  }

  /** Forgets `key`'s failures (a successful sign-in). */
  async succeeded(key: string): Promise<void> {
    this.#until.delete(key);
    await this.#o.counters.reset(this.#o.name, key);
  }
}

/** Settings of {@link storeBrake}: a brake's, its counters chosen by the store. */
export type StoreBrakeOptions = Omit<BrakeOptions, 'counters'>;

/** A {@link Brake} on a store, returned by {@link storeBrake}. */
export interface StoreBrake {
  /** Seconds `key` must wait before its next attempt, or 0; no store call. */
  retryAfter(key: string, now: number): number;
  /** Counts a failure of `key` at `now` (a store call, bounded by `storeTimeout`, when the counters are shared). */
  failed(key: string, now: number): Promise<BrakeVerdict>;
  /** Stops hearing other instances' brakes. */
  close(): Promise<void>;
}

/**
 * @internal A brake counting on `store`'s shared counters when it has them
 * (every call bounded by `storeTimeoutMs`, failing with
 * `StoreUnavailableError`), else in this process. With shared counters it
 * hears (and announces) the brakes of every instance from its first check
 * or failure, not from construction: no I/O until it is used.
 */
export function storeBrake(store: Store, storeTimeoutMs: number, options: StoreBrakeOptions, onError: (error: unknown) => void): StoreBrake {
  const shared = store.counters;
  const brake = new Brake({ ...options, counters: shared !== undefined ? guardedCounters(shared, storeTimeoutMs) : localCounters(options.maxClients) });
  let unwatch = async (): Promise<void> => {};
  let watch: (() => void) | null =
    shared === undefined
      ? null
      : () => {
          watch = null;
          // Heard on the store's own channel (one subscription per process, shared with its caches); logged,
          // announced and read back as every other store call of the brake: a stalled store is a 503, never a hang.
          unwatch = brake.watch(store, onError, guardedStore(store, storeTimeoutMs));
        };
  return {
    retryAfter(key, now) {
      watch?.();
      return brake.retryAfter(key, now);
    },
    failed(key, now) {
      watch?.();
      return brake.failed(key, now);
    },
    close() {
      watch = null;
      return unwatch();
    },
  };
}

/** The ring of the store's event log that keeps the brakes `name` engaged. */
function brakeLog(name: string): string {
  return `brakes:${name}`;
}

/** A brake-log entry, or `null` when it is not one this version wrote. */
function parseLogged(body: string): { key: string; until: number } | null {
  const { key, until } = jsonObject(body) ?? {};
  return typeof key === 'string' && key.length > 0 && key.length <= 512 && typeof until === 'number' && Number.isSafeInteger(until) ? { key, until } : null;
}
