/**
 * Revocation epochs for sealed sessions, kept in the key-value facet of any
 * latchkey {@link Store} (`store.kv`, namespace `'sealed'`).
 *
 * One value per user (or, for an anonymous session, per session) holds, as
 * JSON:
 * - `e`, the user's epoch: a session sealed under an older epoch is revoked
 *   ("log out everywhere");
 * - `s:<session id>` for each session revoked one by one, until its
 *   absolute deadline.
 *
 * Opening a session reads that one value (or an in-process cached copy no
 * older than the configured staleness bound). Its key is a hash of the user
 * id, so it is stable across key rotations and never shows the user id.
 * Writes are compare-and-set (`set` with `{ ifValue }`), so that concurrent
 * revocations of one user never lose each other.
 *
 * @module
 */
import { sha256, toBase64url } from '#primitives';
import type { Clock } from '../core/clock.js';
import type { SessionData } from '../core/model.js';
import type { Store } from '../core/store.js';
import { StoreUnavailableError } from '../core/errors.js';
import { jsonObject } from '../core/json.js';
import { SEALED_NAMESPACE } from './spill.js';

/** @internal */
export interface EpochCacheConfig {
  readonly ttlMs: number;
  readonly maxEntries: number;
}

interface Cached {
  readonly data: SessionData;
  readonly at: number;
}

const SESSION_KEY = 's:';
const EMPTY: SessionData = Object.freeze({});

/** @internal */
export class Revocations {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #retainMs: number;
  readonly #cache: Map<string, Cached> | null;
  readonly #cacheCfg: EpochCacheConfig | null;
  readonly #call: <T>(op: () => Promise<T>) => Promise<T>;

  constructor(store: Store, clock: Clock, retainMs: number, cache: EpochCacheConfig | null, call: <T>(op: () => Promise<T>) => Promise<T>) {
    this.#store = store;
    this.#clock = clock;
    this.#retainMs = retainMs;
    this.#cacheCfg = cache;
    this.#cache = cache === null ? null : new Map();
    this.#call = call;
  }

  /** Whether a session is revoked. One store read at most; none on a fresh cache hit. */
  async isRevoked(userId: string | null, sessionId: string, userEpoch: number): Promise<boolean> {
    const data = await this.#read(subjectOf(userId, sessionId), false);
    const epoch = typeof data.e === 'number' ? data.e : 0;
    return userEpoch < epoch || data[SESSION_KEY + sessionId] !== undefined;
  }

  /** The user's current epoch, read from the store (never the cache): new sessions are sealed under it. */
  async currentEpoch(userId: string | null): Promise<number> {
    if (userId === null) return 0;
    const data = await this.#read(subjectOf(userId, ''), true);
    return typeof data.e === 'number' ? data.e : 0;
  }

  /** Revokes one session until `until` (its absolute deadline). */
  async revokeSession(userId: string | null, sessionId: string, until: number): Promise<void> {
    await this.#write(subjectOf(userId, sessionId), (data, now) => ({ set: { [SESSION_KEY + sessionId]: until }, unset: stale(data, now) }));
  }

  /** Revokes every session of a user sealed so far; resolves the new epoch. */
  async revokeUser(userId: string): Promise<number> {
    let epoch = 0;
    await this.#write(subjectOf(userId, ''), (data, now) => {
      const old = typeof data.e === 'number' ? data.e : 0;
      // Time-based, so that a record swept and re-created later still outranks every older epoch.
      epoch = Math.max(old + 1, now);
      return { set: { e: epoch }, unset: stale(data, now) };
    });
    return epoch;
  }

  async #read(subject: string, fresh: boolean): Promise<SessionData> {
    const cache = this.#cache;
    const now = this.#clock.now();
    if (cache !== null && !fresh) {
      const hit = cache.get(subject);
      if (hit !== undefined && now - hit.at < (this.#cacheCfg as EpochCacheConfig).ttlMs) return hit.data;
    }
    const key = handleOf(subject);
    const stored = await this.#call(() => this.#store.kv.get(SEALED_NAMESPACE, key, now));
    const data = stored === null ? EMPTY : parsed(stored.value);
    if (cache !== null) {
      cache.delete(subject);
      if (cache.size >= (this.#cacheCfg as EpochCacheConfig).maxEntries) {
        // Map order is insertion order: drop the oldest entry.
        const oldest = cache.keys().next();
        if (oldest.done !== true) cache.delete(oldest.value);
      }
      cache.set(subject, { data, at: now });
    }
    return data;
  }

  /** Read-modify-write with compare-and-set, creating the value when missing. */
  async #write(subject: string, change: (data: SessionData, now: number) => { set: Record<string, unknown>; unset: string[] }): Promise<void> {
    const kv = this.#store.kv;
    const key = handleOf(subject);
    for (let attempt = 0; attempt < 8; attempt++) {
      const now = this.#clock.now();
      const expiresAt = now + this.#retainMs;
      const stored = await this.#call(() => kv.get(SEALED_NAMESPACE, key, now));
      const before = stored === null ? EMPTY : parsed(stored.value);
      const { set, unset } = change(before, now);
      const next: Record<string, unknown> = { ...before };
      for (const k of unset) delete next[k];
      Object.assign(next, set);
      const entry = { value: JSON.stringify(next), expiresAt };
      const mode = stored === null ? 'if-absent' : { ifValue: stored.value };
      if (await this.#call(() => kv.set(SEALED_NAMESPACE, key, entry, now, mode))) return this.#done(subject);
    }
    throw new StoreUnavailableError('the revocation record kept changing under concurrent writes; try again');
  }

  #done(subject: string): void {
    this.#cache?.delete(subject);
  }
}

/** Whose record a session's revocation lives in: its user's, or its own when anonymous. */
function subjectOf(userId: string | null, sessionId: string): string {
  return userId !== null ? `u\0${userId}` : `s\0${sessionId}`;
}

const handles = new Map<string, string>();

/** The record's handle: a hash of the subject, stable across key rotations, shaped like any handle (22 characters). */
export function handleOf(subject: string): string {
  let handle = handles.get(subject);
  if (handle === undefined) {
    handle = toBase64url(sha256(`latchkey sealed epochs\0${subject}`).subarray(0, 16));
    // Deterministic, so never stale; bounded, so never a leak.
    if (handles.size >= 10_000) handles.clear();
    handles.set(subject, handle);
  }
  return handle;
}

/** Session entries whose deadline has passed: their sessions are dead anyway. */
function stale(data: SessionData, now: number): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(data)) {
    if (k.startsWith(SESSION_KEY) && typeof v === 'number' && v <= now) out.push(k);
  }
  return out;
}

/** A stored revocation value; anything unreadable counts as empty (nothing revoked by it). */
function parsed(text: string): SessionData {
  return jsonObject(text) ?? EMPTY;
}
