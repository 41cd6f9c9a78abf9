/**
 * An in-process store for development, tests and single-process apps that can
 * afford to lose sessions on restart. Bounded: past `maxSessions`, expired
 * records are swept and then the oldest are dropped.
 *
 * Consistency: every operation is atomic (one synchronous step). Durability:
 * none; sessions live in this process only.
 *
 * @module
 */
import type { DataPatch, Store, StorePatchResult, Tombstone } from '../core/store.js';
import type { SessionData, SessionRecord } from '../core/model.js';
import { ClosedError, ConfigError } from '../core/errors.js';
import { refuseUnknownKeys } from '../core/option-keys.js';

/** Options of {@link memoryStore}. Any other key is refused. */
export interface MemoryStoreOptions {
  /**
   * The most records kept. When full, expired records are swept, then the
   * oldest records are dropped to make room (their users are signed out).
   * @default 100000
   */
  maxSessions?: number;
  /** The time source used to find expired records when full. @default Date.now */
  now?: () => number;
}

const OPTION_KEYS = ['maxSessions', 'now'] as const satisfies readonly (keyof MemoryStoreOptions)[];

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
 * @throws {ConfigError} for a bad `maxSessions` or an unknown option key
 */
export function memoryStore(options: MemoryStoreOptions = {}): Store {
  if (options === null || typeof options !== 'object') throw new TypeError('memoryStore() takes an options object { maxSessions?, now? }');
  refuseUnknownKeys(options, OPTION_KEYS, 'memoryStore()');
  const max = options.maxSessions ?? 100_000;
  if (!Number.isSafeInteger(max) || max < 1) throw new ConfigError('maxSessions must be a positive whole number');
  const now = options.now ?? Date.now;
  const records = new Map<string, SessionRecord>();
  // Most users have one session: keep its handle as a plain string and make a
  // Set only at the second (a Set costs ~150 bytes).
  const byUser = new Map<string, string | Set<string>>();
  let closed = false;

  function open(): void {
    if (closed) throw new ClosedError('the memory store');
  }

  function index(r: SessionRecord): void {
    if (r.userId === null) return;
    const entry = byUser.get(r.userId);
    if (entry === undefined) byUser.set(r.userId, r.handle);
    else if (typeof entry === 'string') {
      if (entry !== r.handle) byUser.set(r.userId, new Set([entry, r.handle]));
    } else entry.add(r.handle);
  }

  function unindex(r: SessionRecord): void {
    if (r.userId === null) return;
    const entry = byUser.get(r.userId);
    if (entry === undefined) return;
    if (typeof entry === 'string') {
      if (entry === r.handle) byUser.delete(r.userId);
      return;
    }
    entry.delete(r.handle);
    if (entry.size === 1) byUser.set(r.userId, entry.values().next().value as string);
    else if (entry.size === 0) byUser.delete(r.userId);
  }

  function handlesOf(userId: string): string[] {
    const entry = byUser.get(userId);
    if (entry === undefined) return [];
    return typeof entry === 'string' ? [entry] : [...entry];
  }

  function put(r: SessionRecord): void {
    const old = records.get(r.handle);
    if (old !== undefined && old.userId !== r.userId) unindex(old);
    records.set(r.handle, r);
    index(r);
  }

  function remove(handle: string): boolean {
    const r = records.get(handle);
    if (r === undefined) return false;
    records.delete(handle);
    unindex(r);
    return true;
  }

  function sweep(t: number, limit: number): number {
    let n = 0;
    for (const r of records.values()) {
      if (n >= limit) break;
      if (r.expiresAt <= t) {
        remove(r.handle);
        n++;
      }
    }
    return n;
  }

  // When full, look at the oldest few records (Map order is insertion order)
  // and drop the expired ones; if none is, drop the oldest. Bounded work per
  // create, so filling the store cannot make every later create slow.
  function makeRoom(): void {
    if (records.size < max) return;
    const t = now();
    let scanned = 0;
    for (const r of records.values()) {
      if (scanned++ >= 64) break;
      if (r.expiresAt <= t) remove(r.handle);
    }
    if (records.size >= max) {
      const oldest = records.keys().next();
      if (oldest.done !== true) remove(oldest.value);
    }
  }

  function tombstone(r: SessionRecord, t: Tombstone): SessionRecord {
    return copy(r, { status: t.status, successor: t.successor, expiresAt: Math.min(r.expiresAt, t.expiresAt), data: EMPTY });
  }

  return {
    capabilities: { expiresByItself: false, inProcess: true },

    async create(record) {
      open();
      if (records.has(record.handle)) return false;
      makeRoom();
      put(freeze(record));
      return true;
    },

    async get(handle) {
      open();
      return records.get(handle) ?? null;
    },

    async touch(handle, lastSeenAt, idleExpiresAt, expiresAt) {
      open();
      const r = records.get(handle);
      if (r === undefined || r.status !== 'active') return false;
      records.set(handle, copy(r, { lastSeenAt, idleExpiresAt, expiresAt }));
      return true;
    },

    async patch(handle, change, at, expectVersion): Promise<StorePatchResult> {
      open();
      const r = records.get(handle);
      if (r === undefined || r.status !== 'active' || r.expiresAt <= at) return { ok: false, reason: 'not-found' };
      if (expectVersion !== undefined && r.version !== expectVersion) return { ok: false, reason: 'conflict' };
      const data = applyPatch(r.data, change);
      const version = r.version + 1;
      records.set(handle, copy(r, { data, version }));
      return { ok: true, version, data };
    },

    async replace(oldHandle, expectVersion, next, t) {
      open();
      const r = records.get(oldHandle);
      if (r === undefined || r.status !== 'active' || r.version !== expectVersion || records.has(next.handle)) return false;
      makeRoom();
      unindex(r);
      records.set(oldHandle, tombstone(r, t));
      put(freeze(next));
      return true;
    },

    async revoke(handle, until) {
      open();
      const r = records.get(handle);
      if (r === undefined || r.status !== 'active') return false;
      unindex(r);
      records.set(handle, tombstone(r, { status: 'revoked', successor: null, expiresAt: until }));
      return true;
    },

    async revokeUser(userId, until, except) {
      open();
      const revoked: string[] = [];
      for (const h of handlesOf(userId)) {
        if (h === except) continue;
        const r = records.get(h);
        if (r === undefined || r.status !== 'active') continue;
        unindex(r);
        records.set(h, tombstone(r, { status: 'revoked', successor: null, expiresAt: until }));
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
        const r = records.get(h);
        if (r !== undefined && r.status === 'active') out.push(r);
      }
      return out.sort((a, b) => a.createdAt - b.createdAt || a.issuedAt - b.issuedAt);
    },

    async sweep(t, limit) {
      open();
      return sweep(t, limit);
    },

    async ping() {
      return !closed;
    },

    async close() {
      closed = true;
      records.clear();
      byUser.clear();
    },
  };
}

const EMPTY: SessionData = Object.freeze({});

/** Records and their data are frozen: what `get()` hands out can never change what is stored. */
function freeze(r: SessionRecord): SessionRecord {
  deepFreeze(r.data);
  if (r.client !== null) Object.freeze(r.client);
  return copy(r, {});
}

/**
 * A frozen copy with some fields changed. Written out field by field: object
 * spread of a record this wide makes a dictionary-mode object in V8, about
 * twice the memory of this literal.
 */
function copy(r: SessionRecord, c: Partial<SessionRecord>): SessionRecord {
  return Object.freeze({
    handle: r.handle,
    secretHash: r.secretHash,
    userId: r.userId,
    status: c.status ?? r.status,
    successor: c.successor !== undefined ? c.successor : r.successor,
    createdAt: r.createdAt,
    issuedAt: r.issuedAt,
    lastSeenAt: c.lastSeenAt ?? r.lastSeenAt,
    authTime: r.authTime,
    authLevel: r.authLevel,
    idleExpiresAt: c.idleExpiresAt ?? r.idleExpiresAt,
    absoluteExpiresAt: r.absoluteExpiresAt,
    expiresAt: c.expiresAt ?? r.expiresAt,
    version: c.version ?? r.version,
    data: c.data ?? r.data,
    client: r.client,
  });
}

// Memory: V8 keeps a number-only field of an object shape in a box of its
// own per object (16 bytes each, 7 timestamps per record). Once one record of
// the shape has held a non-number in those fields, the shape stores plain
// references, and equal timestamps of a record (created = issued = last seen;
// idle deadline = expiry) share one box: about 50 bytes less per session,
// measured by bench/engine.bench.js. This one throwaway record does that.
copy(
  {
    handle: '',
    secretHash: '',
    userId: null,
    status: 'revoked',
    successor: null,
    createdAt: null,
    issuedAt: null,
    lastSeenAt: null,
    authTime: null,
    authLevel: null,
    idleExpiresAt: null,
    absoluteExpiresAt: null,
    expiresAt: null,
    version: null,
    data: EMPTY,
    client: null,
  } as unknown as SessionRecord,
  {},
);

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
