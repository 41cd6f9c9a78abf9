/**
 * Whether the session (refresh family) an access token was issued for is
 * still live, without a store read per verification: an in-process cache
 * keyed by the token's `sid`, filled by one lineage walk on a miss, and
 * emptied through the store's invalidation channel (see
 * core/invalidations.ts): at once for this process's own changes, within
 * milliseconds for other processes' on a store that announces them, and in
 * any case after `staleness`, the hard bound on how long a live verdict is
 * trusted without a store read.
 *
 * A family that ended never lives again, so "ended" is kept until no access
 * token issued for it can still be unexpired: replaying a copied token after
 * logout costs no store read either.
 *
 * @internal
 * @module
 */
import type { Clock } from '../../core/clock.js';
import { watchInvalidations } from '../../core/invalidations.js';
import type { Invalidation, Store } from '../../core/store.js';
import { liveRecord, type RecordReader } from './lineage.js';

/** @internal */
export interface LivenessOptions {
  /** The store whose invalidations empty the cache. */
  readonly store: Store;
  /** How a family's records are read: bounded, failures as `StoreUnavailableError`. */
  readonly read: RecordReader;
  readonly clock: Clock;
  /** How long a live verdict is trusted without a store read. */
  readonly stalenessMs: number;
  /** How long an "ended" verdict is kept: the access-token lifetime plus the clock skew. */
  readonly endedForMs: number;
  readonly maxEntries: number;
  readonly onError: (error: unknown) => void;
}

interface Entry {
  readonly sid: string;
  /** The family's live handle at the read, or `null`: the family has ended. */
  readonly head: string | null;
  readonly userId: string | null;
  /** When the read that filled it started. */
  readonly at: number;
  /** Until when the verdict holds without a store read. */
  readonly until: number;
}

interface Pending {
  promise: Promise<boolean>;
  /** Handles the walk read (or is reading): a change to one of them makes its verdict unsafe to keep. */
  readonly visited: Set<string>;
  stale: boolean;
}

/** @internal */
export class FamilyLiveness {
  readonly #o: LivenessOptions;
  readonly #bySid = new Map<string, Entry>();
  /** head → the sids whose live entry names it (other than the head's own). */
  readonly #byHead = new Map<string, Set<string>>();
  readonly #pending = new Map<string, Pending>();
  #watching = false;

  constructor(options: LivenessOptions) {
    this.#o = options;
  }

  /** The cached verdict for `sid` at `now`, or `undefined` when the store must be asked. Synchronous: the hot path. */
  lookup(sid: string, now: number): boolean | undefined {
    const e = this.#bySid.get(sid);
    if (e === undefined) return undefined;
    // A clock that went backwards makes an entry's age unknowable: ask again.
    if (now >= e.at && now < e.until) return e.head !== null;
    this.#remove(e);
    return undefined;
  }

  /** Reads the verdict for `sid` from the store (one walk, shared by concurrent callers) and keeps it unless it changed meanwhile. */
  read(sid: string): Promise<boolean> {
    const joined = this.#pending.get(sid);
    if (joined !== undefined && !joined.stale) return joined.promise;
    if (!this.#watching) this.#watch();
    const { read, clock } = this.#o;
    const at = clock.now();
    const visited = new Set<string>();
    const pending: Pending = { promise: Promise.resolve(false), visited, stale: false };
    pending.promise = (async () => {
      try {
        const record = await liveRecord(read, sid, at, (h) => visited.add(h));
        if (!pending.stale) {
          this.#fill(
            record === null
              ? { sid, head: null, userId: null, at, until: at + this.#o.endedForMs }
              : // A live family is trusted up to the bound, and never past its own deadline (a refresh that moves it is announced).
                { sid, head: record.handle, userId: record.userId, at, until: Math.min(at + this.#o.stalenessMs, record.expiresAt) },
          );
        }
        return record !== null;
      } finally {
        if (this.#pending.get(sid) === pending) this.#pending.delete(sid);
      }
    })();
    this.#pending.set(sid, pending);
    return pending.promise;
  }

  /** Forgets what a change may have made wrong. */
  apply(message: Invalidation): void {
    const handles = Array.isArray(message.handles) ? message.handles : null;
    const userId = typeof message.userId === 'string' ? message.userId : null;
    if (handles === null && userId === null) {
      this.clear();
      return;
    }
    if (handles !== null) {
      for (const h of handles) {
        if (typeof h !== 'string') continue;
        const own = this.#bySid.get(h);
        if (own !== undefined && own.head !== null) this.#remove(own);
        const sids = this.#byHead.get(h);
        if (sids !== undefined) for (const sid of [...sids]) this.#remove(this.#bySid.get(sid));
        for (const [sid, p] of this.#pending) {
          if (p.visited.has(h)) this.#abandon(sid, p);
        }
      }
    }
    if (userId !== null) {
      for (const e of [...this.#bySid.values()]) if (e.head !== null && e.userId === userId) this.#remove(e);
      // Which family a walk under way belongs to is known only once it ends.
      for (const [sid, p] of this.#pending) this.#abandon(sid, p);
    }
  }

  /** Forgets every live verdict (an ended family stays ended). */
  clear(): void {
    for (const e of [...this.#bySid.values()]) if (e.head !== null) this.#remove(e);
    for (const [sid, p] of this.#pending) this.#abandon(sid, p);
  }

  get size(): number {
    return this.#bySid.size;
  }

  #watch(): void {
    this.#watching = true;
    watchInvalidations(
      this.#o.store,
      {
        invalidate: (message) => {
          if (message !== null && typeof message === 'object') this.apply(message);
          else this.clear();
        },
        // Back after a loss: changes may have gone unannounced meanwhile. While it is down, `staleness` bounds every verdict.
        status: (live) => {
          if (live) this.clear();
        },
      },
      this.#o.onError,
    );
  }

  #abandon(sid: string, p: Pending): void {
    p.stale = true;
    if (this.#pending.get(sid) === p) this.#pending.delete(sid);
  }

  #fill(e: Entry): void {
    this.#remove(this.#bySid.get(e.sid));
    this.#bySid.set(e.sid, e);
    if (e.head !== null && e.head !== e.sid) {
      let sids = this.#byHead.get(e.head);
      if (sids === undefined) this.#byHead.set(e.head, (sids = new Set()));
      sids.add(e.sid);
    }
    if (this.#bySid.size > this.#o.maxEntries) {
      // Map order is fill order: the oldest fill goes first; entries in use are refilled every `staleness`.
      const oldest = this.#bySid.values().next();
      if (oldest.done !== true) this.#remove(oldest.value);
    }
  }

  #remove(e: Entry | undefined): void {
    if (e === undefined || this.#bySid.get(e.sid) !== e) return;
    this.#bySid.delete(e.sid);
    if (e.head !== null && e.head !== e.sid) {
      const sids = this.#byHead.get(e.head);
      if (sids !== undefined) {
        sids.delete(e.sid);
        if (sids.size === 0) this.#byHead.delete(e.head);
      }
    }
  }
}
