/**
 * One invalidation channel per store, per process: every in-process cache of
 * store records (the engine's `cache`, token mode's revocation cache) hears,
 * through it, both what this process changed (at once, synchronously, from
 * whichever engine changed it) and what other processes changed (the store's
 * own messages, `Store.subscribe`: Redis pub/sub, PostgreSQL LISTEN/NOTIFY).
 *
 * Caches of one store object share a single subscription to the store (one
 * connection on Redis, one pooled connection held on LISTEN on PostgreSQL),
 * opened by the first and closed by the last.
 *
 * @module
 * @internal
 */
import { ConfigError } from './errors.js';
import type { Invalidation, InvalidationListener, Store } from './store.js';

interface Channel {
  readonly listeners: Set<InvalidationListener>;
  /** The shared subscription to the store, while one is set up or running. */
  subscription: Promise<() => Promise<void>> | null;
  /** Names the current subscription: reports of an abandoned one are ignored. */
  generation: object | null;
  /** Whether the store's subscription is live now. */
  live: boolean;
}

const channels = new WeakMap<Store, Channel>();

function channelOf(store: Store): Channel {
  let c = channels.get(store);
  if (c === undefined) {
    c = { listeners: new Set(), subscription: null, generation: null, live: false };
    channels.set(store, c);
  }
  return c;
}

function deliver(c: Channel, message: Invalidation): void {
  // A message about values alone is for the caches of values: to a cache of records it would name
  // nothing, which means "forget everything".
  const valuesOnly = (message.values !== undefined || message.brakes !== undefined) && message.handles === undefined && message.userId === undefined;
  for (const l of c.listeners) {
    try {
      if (!valuesOnly) l.invalidate(message);
      if (message.values !== undefined) l.invalidateValues?.(message.values);
      if (message.brakes !== undefined) l.brakes?.(message.brakes);
    } catch {
      // A listener may not throw (InvalidationListener); one that does must not stop the others.
    }
  }
}

/**
 * Tells every cache of `store` in this process that these records changed.
 * Called by the engine after each of its own writes, so that a revocation is
 * seen by every engine and verifier of this process before the call that
 * made it resolves, whatever the store announces.
 *
 * @internal
 */
export function announceLocally(store: Store, message: Invalidation): void {
  const c = channels.get(store);
  if (c !== undefined && c.listeners.size > 0) deliver(c, message);
}

/**
 * Starts delivering `store`'s invalidations to `listener`: this process's own
 * changes always, and, when the store announces changes
 * (`capabilities.invalidations`), other processes' changes and the state of
 * the shared subscription (`status`; it starts not live). A failure to set
 * the subscription up goes to `onError`; the next watcher tries again.
 * Returns the function that stops the delivery.
 *
 * @internal
 */
export function watchInvalidations(store: Store, listener: InvalidationListener, onError: (error: unknown) => void): () => Promise<void> {
  const c = channelOf(store);
  c.listeners.add(listener);
  if (store.capabilities.invalidations === true) {
    if (typeof store.subscribe !== 'function') throw new ConfigError('the store declares capabilities.invalidations but has no subscribe() method');
    if (c.subscription === null) {
      const generation = {};
      c.generation = generation;
      const sink: InvalidationListener = {
        invalidate: (message) => {
          if (c.generation === generation) deliver(c, message);
        },
        status: (live) => {
          if (c.generation !== generation) return;
          c.live = live === true;
          for (const l of c.listeners) {
            try {
              l.status(c.live);
            } catch {
              // as in deliver()
            }
          }
        },
      };
      let started: Promise<() => Promise<void>>;
      try {
        started = store.subscribe(sink);
      } catch (err) {
        started = Promise.reject(err);
      }
      c.subscription = started;
      started.catch(() => {
        if (c.generation === generation) {
          c.subscription = null;
          c.generation = null;
          c.live = false;
        }
      });
    } else if (c.live) {
      listener.status(true);
    }
    c.subscription.catch(onError);
  }
  let stopped = false;
  return async () => {
    if (stopped) return;
    stopped = true;
    c.listeners.delete(listener);
    if (c.listeners.size > 0 || c.subscription === null) return;
    const running = c.subscription;
    c.subscription = null;
    c.generation = null;
    c.live = false;
    const stop = await running.catch(() => null);
    if (stop !== null) await stop();
  };
}
