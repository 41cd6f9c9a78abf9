/**
 * Brute-force brake of the dashboard's and the demo's sign-in: failed
 * attempts are counted per client IP in a sliding window. Once an IP has
 * failed `limit` times within `windowMs`, every attempt from it, right or
 * wrong, is refused until the oldest failure leaves the window.
 *
 * On a store shared by several instances (Redis, PostgreSQL: `store.counters`)
 * the failures are counted in the store, atomically, and a brake that
 * engages is announced to every instance, so that a fleet brakes at the
 * same total budget as one process; on the other stores, in this process
 * (at most `maxClients` IPs, the stalest forgotten first). Only failures
 * reach the store: the check before an attempt reads what this process
 * knows.
 *
 * @module
 */
import { Brake } from '../core/brake.js';
import { localCounters } from '../core/shared.js';
import type { Store } from '../core/store.js';

/** The brake. */
export interface LoginThrottle {
  /** Seconds `ip` must wait before its next attempt, or 0 (no store call). */
  retryAfter(ip: string, now: number): number;
  /**
   * Records a failed attempt; resolves the seconds `ip` must now wait (or
   * 0), and whether this attempt came after the budget was spent (on
   * another instance whose announcement this one had not heard yet): it is
   * then answered as refused (429), as it would have been on one instance.
   */
  failed(ip: string, now: number): Promise<{ readonly retryAfter: number; readonly beyond: boolean }>;
  /** Forgets `ip`'s failures (after a successful sign-in). */
  succeeded(ip: string): Promise<void>;
  /** Stops hearing other instances' brakes. */
  close(): Promise<void>;
}

/** Options of {@link loginThrottle}. */
export interface LoginThrottleOptions {
  /** @default 10 */
  readonly limit?: number;
  /** @default 60_000 */
  readonly windowMs?: number;
  /** @default 10_000 */
  readonly maxClients?: number;
  /**
   * Count in this store's shared counters when it has them (`store.counters`),
   * under `name`. Give the service's guarded store, whose calls are bounded
   * and fail with `StoreUnavailableError`.
   */
  readonly store?: Store;
  /** The counters' name, one per sign-in form. @default 'sign-in' */
  readonly name?: string;
  /** Where a failure to hear other instances goes. @default ignored */
  readonly onError?: (error: unknown) => void;
}

/**
 * A brake of `limit` failures per `windowMs` per IP.
 *
 * @example
 * ```ts
 * const throttle = loginThrottle({ limit: 10, windowMs: 60_000, store: ctx.store, name: 'admin-sign-in' });
 * if (throttle.retryAfter(ip, Date.now()) > 0) return reply.code(429).send();
 * if (!passwordOk) await throttle.failed(ip, Date.now());
 * ```
 */
export function loginThrottle(options: LoginThrottleOptions = {}): LoginThrottle {
  const limit = options.limit ?? 10;
  const maxClients = options.maxClients ?? 10_000;
  const shared = options.store?.counters;
  const brake = new Brake({
    counters: shared ?? localCounters(maxClients),
    name: options.name ?? 'sign-in',
    limit,
    windowMs: options.windowMs ?? 60_000,
    maxClients,
  });
  const stop = shared !== undefined && options.store !== undefined ? brake.watch(options.store, options.onError ?? (() => {})) : async () => {};
  return {
    retryAfter: (ip, now) => brake.retryAfter(ip, now),
    failed: async (ip, now) => {
      const v = await brake.failed(ip, now);
      return { retryAfter: v.retryAfter, beyond: v.count > limit };
    },
    succeeded: (ip) => brake.succeeded(ip),
    close: stop,
  };
}
