/**
 * How latchkey calls a store, everywhere (engine, sealed mode, token mode,
 * the service): a failure surfaces as `StoreUnavailableError` (adapters and
 * the service answer 503), whatever the store threw, and a call is bounded in
 * time: by a timer for stores that talk over a network, by the store itself
 * for in-process stores that may wait for a lock (`capabilities.lockWaits`).
 *
 * @module
 * @internal
 */
import { durationOption, type Duration } from './duration.js';
import { LatchkeyError, StoreUnavailableError } from './errors.js';
import type { Counters, EventLog, KeyValues, Store } from './store.js';

/** A store's failure as latchkey reports it: our own errors as they are, anything else wrapped (the cause kept). */
export function storeError(err: unknown): LatchkeyError {
  return err instanceof LatchkeyError ? err : new StoreUnavailableError('the session store failed; see cause', { cause: err });
}

/** `p`, or a `StoreUnavailableError` after `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError(`the session store did not answer within ${ms} ms`)), ms);
  });
  // The losing promise must never become an unhandled rejection.
  p.catch(() => {});
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The `storeTimeout` option, validated for every store, and how it bounds
 * calls: the ms of the timer to arm around each call, or 0 for in-process
 * stores, whose calls never hang on a network. An in-process store that may
 * wait for a lock (`capabilities.lockWaits`) is given the bound here, once,
 * and rejects by itself when a wait reaches it.
 */
export function storeTimeoutMs(store: Store, value: Duration | undefined): number {
  const ms = durationOption('storeTimeout', value ?? '2s', { min: 1 });
  if (!store.capabilities.inProcess) return ms;
  if (store.capabilities.lockWaits === true) store.limitLockWaits?.(ms);
  return 0;
}

/** One store call, bounded by `timeoutMs` (0: not bounded), its failure a `StoreUnavailableError`. */
export async function callStore<T>(op: () => Promise<T>, timeoutMs = 0): Promise<T> {
  try {
    return timeoutMs === 0 ? await op() : await withTimeout(op(), timeoutMs);
  } catch (err) {
    throw storeError(err);
  }
}

/**
 * A view of `store` whose every call goes through {@link callStore}: for code
 * that reads or writes records itself, outside an engine (the service's API
 * keys and route checks), so that no store call can escape the mapping.
 * `timeoutMs` as {@link storeTimeoutMs} computed it. `close()` closes `store`.
 */
export function guardedStore(store: Store, timeoutMs: number): Store {
  const guarded: Store = {
    capabilities: store.capabilities,
    create: (r) => callStore(() => store.create(r), timeoutMs),
    get: (h) => callStore(() => store.get(h), timeoutMs),
    touch: (h, a, b, c) => callStore(() => store.touch(h, a, b, c), timeoutMs),
    patch: (h, p, n, v) => callStore(() => store.patch(h, p, n, v), timeoutMs),
    replace: (h, v, n, t) => callStore(() => store.replace(h, v, n, t), timeoutMs),
    revoke: (h, u) => callStore(() => store.revoke(h, u), timeoutMs),
    revokeUser: (u, t, e, k) => callStore(() => store.revokeUser(u, t, e, k), timeoutMs),
    delete: (h) => callStore(() => store.delete(h), timeoutMs),
    listUser: (u) => callStore(() => store.listUser(u), timeoutMs),
    sweep: (n, l) => callStore(() => store.sweep(n, l), timeoutMs),
    kv: guardedValues(store.kv, timeoutMs),
    // A readiness probe answers false rather than throwing.
    ping: () => callStore(() => store.ping(), timeoutMs).catch(() => false),
    close: () => store.close(),
  };
  if (store.subscribe !== undefined) guarded.subscribe = store.subscribe.bind(store);
  if (store.announce !== undefined) {
    const announce = store.announce.bind(store);
    guarded.announce = (message) => callStore(() => announce(message), timeoutMs);
  }
  if (store.counters !== undefined) Object.assign(guarded, { counters: guardedCounters(store.counters, timeoutMs) });
  if (store.events !== undefined) {
    const events = store.events;
    Object.assign(guarded, {
      events: {
        append: (ring, body, capacity) => callStore(() => events.append(ring, body, capacity), timeoutMs),
        recent: (ring, limit) => callStore(() => events.recent(ring, limit), timeoutMs),
      } satisfies EventLog,
    });
  }
  if (store.limitLockWaits !== undefined) guarded.limitLockWaits = store.limitLockWaits.bind(store);
  // A census walks every user (dashboards only): a longer bound than a request's calls.
  const census = store.census?.bind(store);
  if (census !== undefined) guarded.census = (n, p, l) => callStore(() => census(n, p, l), Math.max(timeoutMs * 5, 5_000));
  return guarded;
}

/** {@link guardedStore} of the shared counters: every call through {@link callStore}. */
export function guardedCounters(counters: Counters, timeoutMs: number): Counters {
  return {
    hit: (name, key, now, windowMs, keep) => callStore(() => counters.hit(name, key, now, windowMs, keep), timeoutMs),
    reset: (name, key) => callStore(() => counters.reset(name, key), timeoutMs),
  };
}

/** {@link guardedStore} of the key-value facet: every call through {@link callStore}. */
export function guardedValues(kv: KeyValues, timeoutMs: number): KeyValues {
  return {
    get: (ns, k, now) => callStore(() => kv.get(ns, k, now), timeoutMs),
    set: (ns, k, entry, now, mode) => callStore(() => kv.set(ns, k, entry, now, mode), timeoutMs),
    take: (ns, k, now) => callStore(() => kv.take(ns, k, now), timeoutMs),
    delete: (ns, k) => callStore(() => kv.delete(ns, k), timeoutMs),
    list: (ns, limit, now) => callStore(() => kv.list(ns, limit, now), timeoutMs),
  };
}
