/**
 * The Store contract: a small, promise-only, session-specific storage
 * interface. A store does storage and atomicity, nothing else; every policy
 * (timeouts, binding, limits) lives in the engine. Every store, ours or a
 * user's, must pass the conformance suite in `latchkey/testing/store-contract`.
 *
 * Two parts: session records (each of a kind, keyed by handle, indexed by
 * user), and {@link Store.kv}, a small namespaced key-value facet for what
 * is not a session (API keys, sealed mode's revocation epochs, one-time
 * challenges, replay caches).
 *
 * @module
 */
import type { SessionData, SessionRecord } from './model.js';
import type { KeyValues } from './key-values.js';

export type { KeyValues, SetMode, StoredEntry, StoredValue } from './key-values.js';

/** A change to session data: keys to set and keys to remove. Other keys are left alone. */
export interface DataPatch {
  readonly set?: Readonly<Record<string, unknown>> | undefined;
  readonly unset?: readonly string[] | undefined;
}

/** Result of {@link Store.patch}. */
export type StorePatchResult =
  | { readonly ok: true; readonly version: number; readonly data: SessionData }
  | { readonly ok: false; readonly reason: 'not-found' | 'conflict' };

/** What a store declares about itself, so the engine never has to probe. */
export interface StoreCapabilities {
  /**
   * The backend forgets records at `expiresAt` by itself (e.g. Redis TTLs), so
   * the engine need not call `sweep()`.
   * @default false
   */
  readonly expiresByItself: boolean;
  /**
   * Every operation completes inside this process without network I/O (memory,
   * SQLite), so the engine does not arm a timer around each call. A store
   * whose calls may still wait (for another process's lock) declares
   * {@link lockWaits} and bounds those waits itself.
   * @default false
   */
  readonly inProcess: boolean;
  /**
   * An in-process store whose calls may wait for a lock held by another
   * process (SQLite: another connection's write transaction on the file).
   * It never blocks the event loop for more than a few milliseconds at a
   * time (it retries between short synchronous attempts), and it rejects a
   * call with `StoreUnavailableError` once it has waited as long as the
   * bound the engine gives it through {@link Store.limitLockWaits} (the
   * engine's `storeTimeout`). A store that declares it must implement
   * `limitLockWaits`.
   * @default false
   */
  readonly lockWaits?: boolean;
  /**
   * The store announces, to every process subscribed through
   * {@link Store.subscribe}, each write that changes what a validation would
   * answer (patch, replace, revoke, revokeUser, delete; not touch, which
   * only moves the idle deadline forward, nor sweep, which removes only
   * records a cached copy already finds expired), so that the engines'
   * in-process caches (the `cache` option of `createSessions`) forget what
   * changed. A store that declares it must implement `subscribe`. Without
   * it, a cache is bounded by its `staleness` alone.
   * @default false
   */
  readonly invalidations?: boolean;
}

/**
 * An invalidation message: forget these records. `handles`, `userId` (every
 * record of that user) or both; a message naming neither means "forget
 * everything".
 */
export interface Invalidation {
  readonly handles?: readonly string[];
  readonly userId?: string;
}

/** What {@link Store.subscribe} reports to. Neither method may throw. */
export interface InvalidationListener {
  /** Records changed in the store (by this process or another): forget them. */
  invalidate(message: Invalidation): void;
  /**
   * The subscription became live (`true`: from now on every change is
   * announced) or was lost (`false`: changes may go unannounced until it is
   * live again). It starts not live.
   */
  status(live: boolean): void;
}

/**
 * Session storage. All methods are atomic with respect to each other for the
 * same handle. Records are returned as stored; expired records may still be
 * returned until swept and the engine decides what they mean. A data write
 * ({@link Store.patch}) takes the engine's `now` and never lands in a record
 * whose time is up, so that nothing is written into a session that `get()`
 * and `validate()` already treat as gone.
 *
 * Failures: a call whose backend cannot be reached, stops answering, stays
 * locked or fails rejects with `StoreUnavailableError` (the driver's error as
 * its `cause`), whatever the driver said; a call after `close()` with
 * `ClosedError`; data the backend cannot hold with `InvalidDataError`. The
 * engine maps anything else a store throws to `StoreUnavailableError` too.
 */
export interface Store {
  readonly capabilities: StoreCapabilities;

  /** Inserts a record. Resolves `false`, changing nothing, if the handle exists. */
  create(record: SessionRecord): Promise<boolean>;

  /** The record for a handle, or `null`. */
  get(handle: string): Promise<SessionRecord | null>;

  /**
   * Extends an active record's idle deadline: sets `lastSeenAt`,
   * `idleExpiresAt` and `expiresAt`, touching nothing else (not `version`,
   * not `data`). Resolves `false` if the record is missing or not active.
   */
  touch(handle: string, lastSeenAt: number, idleExpiresAt: number, expiresAt: number): Promise<boolean>;

  /**
   * Applies set/unset to the data of a live record (active, and
   * `expiresAt > now`), leaving other keys as they are in the store (never a
   * whole-record overwrite), and increments `version`. A record that is
   * missing, not active, or whose time is up (`expiresAt <= now`, as
   * {@link sweep} counts it, even though no sweep removed it yet) resolves
   * `{ ok: false, reason: 'not-found' }` and is left exactly as it is. With
   * `expectVersion`, applies only if the stored version equals it
   * (compare-and-set), else resolves `{ ok: false, reason: 'conflict' }`.
   *
   * `now` is the engine's clock, as for `sweep()`: the store compares it
   * with `expiresAt` and holds no timeout policy of its own.
   */
  patch(handle: string, patch: DataPatch, now: number, expectVersion?: number): Promise<StorePatchResult>;

  /**
   * Rotation in one atomic step: if the record `oldHandle` is active and its
   * version equals `expectVersion`, insert `next` and turn the old record into
   * `tombstone` (same handle; status `'rotated'` or `'revoked'`). Otherwise
   * change nothing and resolve `false`. Of several concurrent calls for one
   * old handle, exactly one succeeds.
   */
  replace(oldHandle: string, expectVersion: number, next: SessionRecord, tombstone: Tombstone): Promise<boolean>;

  /**
   * Marks an active record revoked and shortens its `expiresAt` to
   * `min(expiresAt, until)`. Resolves `false` if missing or not active.
   */
  revoke(handle: string, until: number): Promise<boolean>;

  /**
   * Revokes every active record of a user but `except`, as {@link revoke}
   * does, and resolves the handles it revoked. With `kinds`, only records of
   * those kinds; without, records of every kind.
   */
  revokeUser(userId: string, until: number, except?: string, kinds?: readonly string[]): Promise<string[]>;

  /** Removes a record outright. Resolves whether it existed. */
  delete(handle: string): Promise<boolean>;

  /** The active records of a user, of every kind, in creation order (oldest first). */
  listUser(userId: string): Promise<SessionRecord[]>;

  /**
   * Removes up to `limit` records and values ({@link kv}) whose `expiresAt
   * <= now`, in all; resolves how many.
   */
  sweep(now: number, limit: number): Promise<number>;

  /**
   * The key-value facet: values that are not sessions, by namespace and key,
   * each with an optional expiry. Required of every store; see
   * {@link KeyValues}.
   */
  readonly kv: KeyValues;

  /**
   * Only with `capabilities.invalidations`: starts delivering invalidation
   * messages to `listener`, over a connection of its own that the store keeps
   * alive (it reconnects and resubscribes by itself, reporting each loss and
   * recovery through `listener.status`). Resolves the function that stops it;
   * rejects only when it cannot be set up at all (not for a backend that is
   * down: that is a `status(false)` until it is back).
   */
  subscribe?(listener: InvalidationListener): Promise<() => Promise<void>>;

  /**
   * Only with `capabilities.lockWaits`: the longest one call may wait for a
   * lock, in ms. Every engine built over the store calls it once, at
   * construction, with its `storeTimeout`; the store keeps the shortest
   * bound it was given.
   */
  limitLockWaits?(ms: number): void;

  /**
   * Optional: who holds live sessions, for dashboards (a user search by
   * prefix, the users with most sessions, the number of signed-in sessions
   * over time). Counts active records of every kind whose `expiresAt` and
   * `idleExpiresAt` are after `now`, of users whose id starts with `prefix`
   * (`''`: every user); anonymous records are not counted. Not on any
   * request path: a store may take time proportional to its users.
   */
  census?(now: number, prefix: string, limit: number): Promise<UserCensus>;

  /** Whether the backend answers; used by readiness checks. */
  ping(): Promise<boolean>;

  /** Releases connections and timers. */
  close(): Promise<void>;
}

/** What {@link Store.census} answers. */
export interface UserCensus {
  /** Live signed-in sessions of the matching users, in all. */
  readonly sessions: number;
  /** Matching users with live sessions. */
  readonly userCount: number;
  /** The matching users with most live sessions (then by id), at most `limit`. */
  readonly users: ReadonlyArray<{ readonly userId: string; readonly sessions: number }>;
  /**
   * `false` when the store stopped at its scan bound (Redis, past
   * 100,000 user indexes): the figures are then lower
   * bounds.
   */
  readonly complete: boolean;
}

/** How {@link Store.replace} rewrites the old record. */
export interface Tombstone {
  readonly status: 'rotated' | 'revoked';
  /**
   * For `'rotated'`: the new handle, followed during the overlap window. A
   * `'revoked'` tombstone may name one too (a refresh rotation of
   * `latchkey/tokens`: lineage only, never followed by the engine).
   */
  readonly successor: string | null;
  /** The tombstone's `expiresAt`. */
  readonly expiresAt: number;
}
