/**
 * An in-process store for development, tests and single-process apps that can
 * afford to lose sessions on restart. Bounded: past `maxSessions`, expired
 * records are swept and then the oldest are dropped.
 *
 * Consistency: every operation is atomic (one synchronous step), the
 * key-value facet's too (memory-values.ts). Durability: none; sessions live
 * in this process only.
 *
 * Memory: records are kept by column, not as one object each: the numbers of
 * every record in one `Float64Array`, the references (secret hash, user,
 * successor, data, client, kind) in one array, a slot per record. A record
 * object of seventeen fields costs about 160 bytes, plus 16 for each
 * distinct timestamp V8 boxes; a slot costs 128 (bench/engine.bench.js
 * measures the bytes per signed-in session in all). `get()` builds a fresh
 * record from its slot (about 30 ns), so what it hands out can never change
 * what is stored; data and client, which it shares, are frozen.
 *
 * @module
 */
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import type { DataPatch, Store, StorePatchResult, Tombstone } from '../core/store.js';
import { checkCensus, topUsers } from '../core/census.js';
import type { ClientRecord, RecordStatus, SessionData, SessionRecord } from '../core/model.js';
import { ClosedError, ConfigError } from '../core/errors.js';
import { checkOptionKeys } from '../core/option-keys.js';
import { clockOption } from './options.js';
import { memoryValues } from './memory-values.js';

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /**
   * The most records kept. When full, expired records are swept, then the
   * oldest records are dropped to make room (their users are signed out).
   * @default 100000
   */
  maxSessions?: number;
  /**
   * The most key-value entries kept (`store.kv`: API keys, sealed mode's
   * revocation values, challenges, a replay cache). When full, expired
   * entries are dropped; if every entry is live, a new key is refused with
   * `StoreUnavailableError` (a 503), never another entry forgotten.
   * @default 100000
   */
  maxValues?: number;
  /**
   * The time source used to find expired records when full; give it the
   * clock you give `createSessions`.
   * @default the system clock
   */
  clock?: Clock;
}

const OPTION_NAMES = ['maxSessions', 'maxValues', 'clock'];

// The numbers of a record: STRIDE doubles per slot. A null authTime is NaN.
const CREATED = 0;
const ISSUED = 1;
const LAST_SEEN = 2;
const AUTH_TIME = 3;
const AUTH_LEVEL = 4;
const IDLE = 5;
const ABSOLUTE = 6;
const EXPIRES = 7;
const VERSION = 8;
const STATUS = 9;
const STRIDE = 10;

// The references of a record: REFS entries per slot.
const SECRET = 0;
const USER = 1;
const SUCCESSOR = 2;
const DATA = 3;
const CLIENT = 4;
const KIND = 5;
const REFS = 6;

const STATUSES: readonly RecordStatus[] = ['active', 'revoked', 'rotated'];
const ACTIVE = 0;
const REVOKED = 1;

/**
 * Creates an in-memory store.
 *
 * @example
 * ```ts
 * import { createSessions } from 'latchkey';
 * import { memoryStore } from 'latchkey/stores/memory';
 *
 * const sessions = createSessions({ store: memoryStore() });
 * ```
 */
export function memoryStore(options: MemoryStoreOptions = {}): Store {
  checkOptionKeys(options, 'memoryStore()', OPTION_NAMES, { retired: { now: 'use clock, an object with a now() method (the clock given to createSessions)' } });
  const max = options.maxSessions ?? 100_000;
  if (!Number.isSafeInteger(max) || max < 1) throw new ConfigError('maxSessions must be a positive whole number');
  const maxValues = options.maxValues ?? 100_000;
  if (!Number.isSafeInteger(maxValues) || maxValues < 1) throw new ConfigError('maxValues must be a positive whole number');
  const clock = clockOption(options.clock, systemClock);

  /** Handle → slot, in insertion order (the oldest first, for makeRoom). */
  const slots = new Map<string, number>();
  let nums = new Float64Array(0);
  let refs: unknown[] = [];
  let capacity = 0;
  /** Slots below it have been used; freed ones wait in `free`. */
  let used = 0;
  let free: number[] = [];
  // Most users have one session: keep its handle as a plain string and make a
  // Set only at the second (a Set costs ~150 bytes).
  const byUser = new Map<string, string | Set<string>>();
  let closed = false;

  function open(): void {
    if (closed) throw new ClosedError('the memory store');
  }
  const values = memoryValues(maxValues, clock, open);

  /** Room for one more slot: grows by half, up to maxSessions (more only if a rotation needs it). */
  function allocate(): number {
    const reused = free.pop();
    if (reused !== undefined) return reused;
    if (used === capacity) {
      capacity = Math.max(used + 1, Math.min(max, Math.max(64, Math.ceil(capacity * 1.5))));
      const grown = new Float64Array(capacity * STRIDE);
      grown.set(nums);
      nums = grown;
      const more: unknown[] = new Array(capacity * REFS);
      for (let i = 0; i < refs.length; i++) more[i] = refs[i];
      refs = more;
    }
    return used++;
  }

  function index(userId: string | null, handle: string): void {
    if (userId === null) return;
    const entry = byUser.get(userId);
    if (entry === undefined) byUser.set(userId, handle);
    else if (typeof entry === 'string') {
      if (entry !== handle) byUser.set(userId, new Set([entry, handle]));
    } else entry.add(handle);
  }

  function unindex(userId: string | null, handle: string): void {
    if (userId === null) return;
    const entry = byUser.get(userId);
    if (entry === undefined) return;
    if (typeof entry === 'string') {
      if (entry === handle) byUser.delete(userId);
      return;
    }
    entry.delete(handle);
    if (entry.size === 1) byUser.set(userId, entry.values().next().value as string);
    else if (entry.size === 0) byUser.delete(userId);
  }

  function handlesOf(userId: string): string[] {
    const entry = byUser.get(userId);
    if (entry === undefined) return [];
    return typeof entry === 'string' ? [entry] : [...entry];
  }

  /** Stores `r` in its slot (a new one if the handle has none), indexed by user if active. */
  function put(r: SessionRecord): void {
    let s = slots.get(r.handle);
    if (s === undefined) {
      s = allocate();
      slots.set(r.handle, s);
    } else unindex(refs[s * REFS + USER] as string | null, r.handle);
    const n = s * STRIDE;
    nums[n + CREATED] = r.createdAt;
    nums[n + ISSUED] = r.issuedAt;
    nums[n + LAST_SEEN] = r.lastSeenAt;
    nums[n + AUTH_TIME] = r.authTime === null ? NaN : r.authTime;
    nums[n + AUTH_LEVEL] = r.authLevel;
    nums[n + IDLE] = r.idleExpiresAt;
    nums[n + ABSOLUTE] = r.absoluteExpiresAt;
    nums[n + EXPIRES] = r.expiresAt;
    nums[n + VERSION] = r.version;
    nums[n + STATUS] = STATUSES.indexOf(r.status);
    const f = s * REFS;
    refs[f + SECRET] = r.secretHash;
    refs[f + USER] = r.userId;
    refs[f + SUCCESSOR] = r.successor;
    deepFreeze(r.data);
    refs[f + DATA] = r.data;
    refs[f + CLIENT] = r.client === null ? null : Object.freeze(r.client);
    refs[f + KIND] = r.kind;
    index(r.userId, r.handle);
  }

  /** A fresh record of what slot `s` holds (a copy: changing it changes nothing stored). */
  function recordAt(handle: string, s: number): SessionRecord {
    const n = s * STRIDE;
    const f = s * REFS;
    const authTime = nums[n + AUTH_TIME] as number;
    return {
      handle,
      secretHash: refs[f + SECRET] as string,
      kind: refs[f + KIND] as string,
      userId: refs[f + USER] as string | null,
      status: STATUSES[nums[n + STATUS] as number] as RecordStatus,
      successor: refs[f + SUCCESSOR] as string | null,
      createdAt: nums[n + CREATED] as number,
      issuedAt: nums[n + ISSUED] as number,
      lastSeenAt: nums[n + LAST_SEEN] as number,
      authTime: Number.isNaN(authTime) ? null : authTime,
      authLevel: nums[n + AUTH_LEVEL] as number,
      idleExpiresAt: nums[n + IDLE] as number,
      absoluteExpiresAt: nums[n + ABSOLUTE] as number,
      expiresAt: nums[n + EXPIRES] as number,
      version: nums[n + VERSION] as number,
      data: refs[f + DATA] as SessionData,
      client: refs[f + CLIENT] as ClientRecord | null,
    };
  }

  /** The slot of an active record, or -1. */
  function activeSlot(handle: string): number {
    const s = slots.get(handle);
    return s !== undefined && nums[s * STRIDE + STATUS] === ACTIVE ? s : -1;
  }

  /** Turns an active record into a tombstone in place: out of the user index, data gone, expiry shortened. */
  function entomb(handle: string, s: number, status: number, successor: string | null, until: number): void {
    const f = s * REFS;
    unindex(refs[f + USER] as string | null, handle);
    const n = s * STRIDE;
    nums[n + STATUS] = status;
    nums[n + EXPIRES] = Math.min(nums[n + EXPIRES] as number, until);
    refs[f + SUCCESSOR] = successor;
    refs[f + DATA] = EMPTY;
  }

  function remove(handle: string): boolean {
    const s = slots.get(handle);
    if (s === undefined) return false;
    slots.delete(handle);
    const f = s * REFS;
    unindex(refs[f + USER] as string | null, handle);
    // Let the strings and objects go; the slot is reused by the next record.
    refs.fill(undefined, f, f + REFS);
    free.push(s);
    return true;
  }

  function sweep(t: number, limit: number): number {
    let n = 0;
    for (const [handle, s] of slots) {
      if (n >= limit) break;
      if ((nums[s * STRIDE + EXPIRES] as number) <= t) {
        remove(handle);
        n++;
      }
    }
    return n;
  }

  // When full, look at the oldest few records (Map order is insertion order)
  // and drop the expired ones; if none is, drop the oldest. Bounded work per
  // create, so filling the store cannot make every later create slow.
  function makeRoom(): void {
    if (slots.size < max) return;
    const t = clock.now();
    let scanned = 0;
    for (const [handle, s] of slots) {
      if (scanned++ >= 64) break;
      if ((nums[s * STRIDE + EXPIRES] as number) <= t) remove(handle);
    }
    if (slots.size >= max) {
      const oldest = slots.keys().next();
      if (oldest.done !== true) remove(oldest.value);
    }
  }

  return {
    capabilities: { expiresByItself: false, inProcess: true },

    async create(record) {
      open();
      if (slots.has(record.handle)) return false;
      makeRoom();
      put(record);
      return true;
    },

    async get(handle) {
      open();
      const s = slots.get(handle);
      return s === undefined ? null : recordAt(handle, s);
    },

    async touch(handle, lastSeenAt, idleExpiresAt, expiresAt) {
      open();
      const s = activeSlot(handle);
      if (s === -1) return false;
      const n = s * STRIDE;
      nums[n + LAST_SEEN] = lastSeenAt;
      nums[n + IDLE] = idleExpiresAt;
      nums[n + EXPIRES] = expiresAt;
      return true;
    },

    async patch(handle, change, at, expectVersion): Promise<StorePatchResult> {
      open();
      const s = activeSlot(handle);
      if (s === -1 || (nums[s * STRIDE + EXPIRES] as number) <= at) return { ok: false, reason: 'not-found' };
      const n = s * STRIDE;
      if (expectVersion !== undefined && nums[n + VERSION] !== expectVersion) return { ok: false, reason: 'conflict' };
      const data = applyPatch(refs[s * REFS + DATA] as SessionData, change);
      const version = (nums[n + VERSION] as number) + 1;
      refs[s * REFS + DATA] = data;
      nums[n + VERSION] = version;
      return { ok: true, version, data };
    },

    async replace(oldHandle, expectVersion, next, t: Tombstone) {
      open();
      const s = activeSlot(oldHandle);
      if (s === -1 || nums[s * STRIDE + VERSION] !== expectVersion || slots.has(next.handle)) return false;
      // makeRoom() may drop the old record itself (the oldest of a full store): its tombstone is put back.
      const old = recordAt(oldHandle, s);
      makeRoom();
      put(old);
      entomb(oldHandle, slots.get(oldHandle) as number, STATUSES.indexOf(t.status), t.successor, t.expiresAt);
      put(next);
      return true;
    },

    async revoke(handle, until) {
      open();
      const s = activeSlot(handle);
      if (s === -1) return false;
      entomb(handle, s, REVOKED, null, until);
      return true;
    },

    async revokeUser(userId, until, except, kinds) {
      open();
      const revoked: string[] = [];
      for (const h of handlesOf(userId)) {
        if (h === except) continue;
        const s = activeSlot(h);
        if (s === -1 || (kinds !== undefined && !kinds.includes(refs[s * REFS + KIND] as string))) continue;
        entomb(h, s, REVOKED, null, until);
        revoked.push(h);
      }
      return revoked;
    },

    async delete(handle) {
      open();
      return remove(handle);
    },

    async listUser(userId) {
      open();
      const out: SessionRecord[] = [];
      for (const h of handlesOf(userId)) {
        const s = activeSlot(h);
        if (s !== -1) out.push(recordAt(h, s));
      }
      return out.sort((a, b) => a.createdAt - b.createdAt || a.issuedAt - b.issuedAt);
    },

    async sweep(t, limit) {
      open();
      const records = sweep(t, limit);
      return records + values.sweep(t, limit - records);
    },

    kv: values.kv,

    async census(now, prefix, limit) {
      checkCensus(now, prefix, limit);
      open();
      const users: Array<{ userId: string; sessions: number }> = [];
      let sessions = 0;
      for (const userId of byUser.keys()) {
        if (!userId.startsWith(prefix)) continue;
        let n = 0;
        for (const h of handlesOf(userId)) {
          const s = activeSlot(h);
          if (s !== -1 && (nums[s * STRIDE + EXPIRES] as number) > now && (nums[s * STRIDE + IDLE] as number) > now) n++;
        }
        if (n === 0) continue;
        sessions += n;
        users.push({ userId, sessions: n });
      }
      return { sessions, userCount: users.length, users: topUsers(users, limit), complete: true };
    },

    async ping() {
      return !closed;
    },

    async close() {
      closed = true;
      values.clear();
      slots.clear();
      byUser.clear();
      nums = new Float64Array(0);
      refs = [];
      free = [];
      capacity = 0;
      used = 0;
    },
  };
}

const EMPTY: SessionData = Object.freeze({});

function deepFreeze(v: unknown): void {
  if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const x of Object.values(v)) deepFreeze(x);
}

function applyPatch(data: SessionData, change: DataPatch): SessionData {
  const out: Record<string, unknown> = { ...data };
  if (change.unset !== undefined) for (const k of change.unset) delete out[k];
  if (change.set !== undefined) {
    for (const [k, v] of Object.entries(change.set)) {
      out[k] = v; // already a private JSON copy (the engine normalises every patch)
    }
  }
  deepFreeze(out);
  return out;
}
