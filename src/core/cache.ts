/**
 * The engine's optional in-process cache of validated session records, for
 * validation without a store round trip. Internal: configured through the
 * `cache` option of `createSessions()`.
 *
 * An entry is trusted for at most `staleness` after the store read that
 * filled it. Cross-instance changes reach it through the store's invalidation
 * messages (see `Store.subscribe`); while the store's subscription is down the
 * whole cache is bypassed, and it is emptied when the subscription comes back,
 * because messages may have been missed in between.
 *
 * @module
 * @internal
 */
import type { SessionRecord } from './model.js';
import type { Invalidation } from './store.js';

interface Entry {
  record: SessionRecord;
  /** When the store read that filled it started, on the engine's clock. */
  readonly at: number;
}

/** @internal */
export class SessionCache {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;
  readonly #stalenessMs: number;
  #trusted: boolean;
  /**
   * Bumped by every invalidation: a read that started before one must not
   * fill the cache with what it read (it may predate the change).
   */
  generation = 0;

  constructor(maxEntries: number, stalenessMs: number, trusted: boolean) {
    this.#max = maxEntries;
    this.#stalenessMs = stalenessMs;
    this.#trusted = trusted;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached active record of `handle`, if trusted and younger than the staleness bound at `now`. */
  lookup(handle: string, now: number): SessionRecord | null {
    if (!this.#trusted) return null;
    const e = this.#entries.get(handle);
    if (e === undefined) return null;
    // A clock that went backwards makes an entry's age unknowable: drop it.
    if (now - e.at >= this.#stalenessMs || now < e.at) {
      this.#entries.delete(handle);
      return null;
    }
    return e.record;
  }

  /** Keeps an active record read from the store at `at`, unless anything was invalidated since `generation`. */
  fill(record: SessionRecord, at: number, generation: number): void {
    if (!this.#trusted || generation !== this.generation || record.status !== 'active') return;
    this.#entries.delete(record.handle);
    this.#entries.set(record.handle, { record, at });
    if (this.#entries.size > this.#max) {
      // Map order is fill order: the oldest fill goes first. Entries are refilled every
      // `staleness` while in use, so this stays close to least-recently-used.
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
  }

  /** Records the engine's own touch in the cached copy, without renewing its trust. */
  touched(handle: string, lastSeenAt: number, idleExpiresAt: number, expiresAt: number): void {
    const e = this.#entries.get(handle);
    if (e !== undefined) e.record = { ...e.record, lastSeenAt, idleExpiresAt, expiresAt };
  }

  /** Forgets one record. */
  drop(handle: string): void {
    this.generation++;
    this.#entries.delete(handle);
  }

  /** Forgets every record of a user. */
  dropUser(userId: string): void {
    this.generation++;
    for (const [handle, e] of this.#entries) if (e.record.userId === userId) this.#entries.delete(handle);
  }

  /** Applies an invalidation message; one that names nothing forgets everything. */
  apply(message: Invalidation): void {
    const handles = message.handles;
    const userId = message.userId;
    let named = false;
    if (Array.isArray(handles)) {
      for (const h of handles) if (typeof h === 'string') this.drop(h);
      named = true;
    }
    if (typeof userId === 'string') {
      this.dropUser(userId);
      named = true;
    }
    if (!named) this.clear();
  }

  /** Whether the cache may be used: the store's subscription is live (or the store has none). */
  setTrusted(trusted: boolean): void {
    // Either way, what was cached may have changed unheard.
    this.clear();
    this.#trusted = trusted;
  }

  clear(): void {
    this.generation++;
    this.#entries.clear();
  }
}
