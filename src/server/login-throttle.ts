/**
 * Brute-force brake of the dashboard's and the demo's sign-in: failed attempts are counted
 * per client IP in a sliding window, in memory (one process; a fleet brakes
 * per instance). Once an IP has failed `limit` times within `windowMs`, every
 * attempt from it, right or wrong, is refused until the oldest failure leaves
 * the window. The table is bounded: past `maxClients` IPs, the one whose
 * failures are oldest is forgotten first.
 *
 * @module
 */

/** The brake. */
export interface LoginThrottle {
  /** Seconds `ip` must wait before its next attempt, or 0. */
  retryAfter(ip: string, now: number): number;
  /** Records a failed attempt. */
  failed(ip: string, now: number): void;
  /** Forgets `ip`'s failures (after a successful sign-in). */
  succeeded(ip: string): void;
}

/** Options of {@link loginThrottle}. */
export interface LoginThrottleOptions {
  /** @default 10 */
  readonly limit?: number;
  /** @default 60_000 */
  readonly windowMs?: number;
  /** @default 10_000 */
  readonly maxClients?: number;
}

/** A brake of `limit` failures per `windowMs` per IP. */
export function loginThrottle(options: LoginThrottleOptions = {}): LoginThrottle {
  const limit = options.limit ?? 10;
  const windowMs = options.windowMs ?? 60_000;
  const maxClients = options.maxClients ?? 10_000;
  // Map order is insertion order; an IP is re-inserted on each failure, so the first key is the stalest.
  const failures = new Map<string, number[]>();

  const recent = (ip: string, now: number): number[] => {
    const times = failures.get(ip);
    if (times === undefined) return [];
    const kept = times.filter((t) => now - t < windowMs);
    if (kept.length === 0) failures.delete(ip);
    else if (kept.length !== times.length) failures.set(ip, kept);
    return kept;
  };

  return {
    retryAfter(ip, now) {
      const times = recent(ip, now);
      if (times.length < limit) return 0;
      const oldest = times[times.length - limit] as number;
      return Math.max(1, Math.ceil((oldest + windowMs - now) / 1000));
    },
    failed(ip, now) {
      const times = recent(ip, now);
      times.push(now);
      // Keep only what the verdict needs.
      if (times.length > limit) times.splice(0, times.length - limit);
      failures.delete(ip);
      failures.set(ip, times);
      if (failures.size > maxClients) {
        const stalest = failures.keys().next().value;
        if (stalest !== undefined) failures.delete(stalest);
      }
    },
    succeeded(ip) {
      failures.delete(ip);
    },
  };
}
