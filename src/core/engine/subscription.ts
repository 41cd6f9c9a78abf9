/**
 * The engine's cache of validated sessions and what keeps it honest: the
 * store's invalidation messages (this process's writes at once, other
 * processes' through `Store.subscribe`), and the subscription's state, which
 * decides whether the cache may be trusted at all.
 *
 * @module
 * @internal
 */
import { SessionCache } from '../cache.js';
import { watchInvalidations } from '../invalidations.js';
import type { Store } from '../store.js';
import type { EngineConfig } from './options.js';

/** A cache and the function that stops its subscription. */
export interface WatchedCache {
  readonly cache: SessionCache;
  readonly unwatch: () => Promise<void>;
}

/** The cache `config` asks for, subscribed to `store`'s invalidations, or `null` without the `cache` option. */
export function watchedCache(store: Store, config: EngineConfig['cache'], onError: (error: unknown) => void): WatchedCache | null {
  if (config === null) return null;
  // Trusted at once when nothing is announced (staleness is the bound); otherwise once the subscription is live.
  const announced = store.capabilities.invalidations === true;
  const cache = new SessionCache(config.maxEntries, config.stalenessMs, !announced);
  const unwatch = watchInvalidations(
    store,
    {
      invalidate: (message: unknown) => {
        if (message !== null && typeof message === 'object') cache.apply(message);
        else cache.clear();
      },
      status: (live: boolean) => cache.setTrusted(live === true),
    },
    onError,
  );
  return { cache, unwatch };
}
