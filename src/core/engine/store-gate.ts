/**
 * The one way the engine reaches its store: every call is refused once the
 * engine is closed, bounded by `storeTimeout` and mapped to
 * `StoreUnavailableError`; the first call starts the background sweep; a
 * write is announced to every cache of the store in this process.
 *
 * @module
 * @internal
 */
import type { SessionCache } from '../cache.js';
import { ClosedError } from '../errors.js';
import { announceLocally } from '../invalidations.js';
import type { SessionRecord } from '../model.js';
import type { Store } from '../store.js';
import { callStore, withTimeout } from '../store-call.js';

/** @internal */
export class StoreGate {
  /** Set by the engine's `close()`: every later call rejects with `ClosedError`. */
  closed = false;
  readonly #store: Store;
  /** What `read()` calls: the store, or a traced view of it. */
  readonly #calls: Store;
  readonly #timeoutMs: number;
  readonly #cache: SessionCache | null;
  /** Run once, by the first call (the sweeper's start): construction itself arms no timer. */
  #firstUse: (() => void) | null = null;

  constructor(store: Store, timeoutMs: number, cache: SessionCache | null, calls: Store = store) {
    this.#store = store;
    this.#calls = calls;
    this.#timeoutMs = timeoutMs;
    this.#cache = cache;
  }

  /** Runs `start` at the first store call, unless the engine closes before one. */
  onFirstUse(start: (() => void) | null): void {
    this.#firstUse = start;
  }

  /** One store call: refused after close, bounded, its failure a `StoreUnavailableError`. */
  call<T>(op: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ClosedError('the session manager'));
    this.#used();
    return callStore(op, this.#timeoutMs);
  }

  /**
   * The hot path's store read: no closure, no extra async frame for
   * in-process stores. Its failure is the store's own: the caller maps it
   * (`storeError`).
   */
  read(handle: string): Promise<SessionRecord | null> {
    if (this.closed) return Promise.reject(new ClosedError('the session manager'));
    if (this.#firstUse !== null) this.#used();
    const store = this.#calls;
    return this.#timeoutMs === 0 ? store.get(handle) : withTimeout(store.get(handle), this.#timeoutMs);
  }

  /**
   * After one of the engine's own writes to a record (or a failed attempt,
   * which may have landed): every cache of this store in the process forgets it.
   */
  forget(handle: string): void {
    if (this.#cache !== null) this.#cache.drop(handle);
    announceLocally(this.#store, { handles: [handle] });
  }

  /** After a write to every record of a user: every cache of this store in the process forgets them. */
  forgetUser(userId: string): void {
    if (this.#cache !== null) this.#cache.dropUser(userId);
    announceLocally(this.#store, { userId });
  }

  #used(): void {
    const start = this.#firstUse;
    if (start === null) return;
    this.#firstUse = null;
    start();
  }
}
