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

/** Options of {@link memoryStore}. */
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
  const max = options.maxSessions ?? 100_000;
  if (!Number.isSafeInteger(max) || max < 1) throw new ConfigError('maxSessions must be a positive whole number');
  const now = options.now ?? Date.now;
  const records = new Map<string, SessionRecord>();
  const byUser = new Map<string, Set<string>>();
  let closed = false;

  function open(): void {
    if (closed) throw new ClosedError('the memory store');
  }

  function index(r: SessionRecord): void {
    if (r.userId === null) return;
    let set = byUser.get(r.userId);
    if (set === undefined) byUser.set(r.userId, (set = new Set()));
    set.add(r.handle);
  }

  function unindex(r: SessionRecord): void {
    if (r.userId === null) return;
    const set = byUser.get(r.userId);
    if (set === undefined) return;
    set.delete(r.handle);
    if (set.size === 0) byUser.delete(r.userId);
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

  function makeRoom(): void {
    if (records.size < max) return;
    sweep(now(), Infinity);
    // Map iteration follows insertion order: the first records are the oldest.
    for (const handle of records.keys()) {
      if (records.size < max) break;
      remove(handle);
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

    async patch(handle, change, expectVersion): Promise<StorePatchResult> {
      open();
      const r = records.get(handle);
      if (r === undefined || r.status !== 'active') return { ok: false, reason: 'not-found' };
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
      const handles = [...(byUser.get(userId) ?? [])];
      const revoked: string[] = [];
      for (const h of handles) {
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
      for (const h of byUser.get(userId) ?? []) {
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
      out[k] = structuredClone(v);
    }
  }
  deepFreeze(out);
  return out;
}
