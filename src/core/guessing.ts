/**
 * Counts invalid tokens per client in a fixed window, to detect (and let the
 * HTTP layer throttle) token guessing. Memory is bounded: at most
 * `maxClients` clients are tracked; the oldest entry is dropped first.
 *
 * @module
 */

/** Normalised guessing-defence settings. */
export interface GuessingPolicy {
  /** Invalid tokens from one client within `windowMs` that make a burst (0 = off). */
  readonly threshold: number;
  readonly windowMs: number;
  readonly maxClients: number;
}

interface Counter {
  count: number;
  start: number;
}

/** @internal */
export class GuessingMonitor {
  readonly #policy: GuessingPolicy;
  readonly #counters = new Map<string, Counter>();

  constructor(policy: GuessingPolicy) {
    this.#policy = policy;
  }

  /** Records one invalid token; returns the count when it just reached the threshold, else 0. */
  fail(client: string, now: number): number {
    if (this.#policy.threshold === 0) return 0;
    let c = this.#counters.get(client);
    if (c === undefined || now - c.start >= this.#policy.windowMs) {
      if (c !== undefined) this.#counters.delete(client);
      else if (this.#counters.size >= this.#policy.maxClients) {
        const oldest = this.#counters.keys().next();
        if (oldest.done !== true) this.#counters.delete(oldest.value);
      }
      c = { count: 0, start: now };
      this.#counters.set(client, c);
    }
    c.count++;
    return c.count === this.#policy.threshold ? c.count : 0;
  }

  /** Whether a client has reached the threshold in its current window. */
  blocked(client: string, now: number): boolean {
    if (this.#policy.threshold === 0) return false;
    const c = this.#counters.get(client);
    return c !== undefined && now - c.start < this.#policy.windowMs && c.count >= this.#policy.threshold;
  }

  /** Seconds until a blocked client's window ends. */
  retryAfterSeconds(client: string, now: number): number {
    const c = this.#counters.get(client);
    return c === undefined ? 0 : Math.max(1, Math.ceil((c.start + this.#policy.windowMs - now) / 1000));
  }
}
