/**
 * The memory store's key-value facet: a map per namespace, every operation
 * one synchronous step (so atomic), expired values dropped by `sweep()` and
 * whenever the facet is full. Bounded by `maxValues`: when every value held
 * is live, a new key is refused with `StoreUnavailableError` rather than
 * another value dropped, since forgetting a live value (a replay cache's
 * key, an API key) is never safe.
 *
 * @module
 * @internal
 */
import type { Clock } from '../core/clock.js';
import { StoreUnavailableError } from '../core/errors.js';
import { checkKeyValue, checkListLimit, isLive, type KeyValues, type StoredEntry, type StoredValue } from '../core/key-values.js';

/** The facet and what the store does with it besides. */
export interface MemoryValues {
  readonly kv: KeyValues;
  /** Removes up to `limit` values whose `expiresAt <= now`; returns how many. */
  sweep(now: number, limit: number): number;
  clear(): void;
}

/** A memory facet of at most `max` values; `open()` throws once the store is closed. */
export function memoryValues(max: number, clock: Clock, open: () => void): MemoryValues {
  const spaces = new Map<string, Map<string, StoredValue>>();
  let size = 0;
  let purgedAt = -Infinity;

  function live(namespace: string, key: string, now: number): StoredValue | null {
    const v = spaces.get(namespace)?.get(key);
    return v !== undefined && isLive(v.expiresAt, now) ? v : null;
  }

  function remove(namespace: string, key: string): boolean {
    const space = spaces.get(namespace);
    if (space === undefined || !space.delete(key)) return false;
    size--;
    if (space.size === 0) spaces.delete(namespace);
    return true;
  }

  function sweep(now: number, limit: number): number {
    let n = 0;
    for (const [namespace, space] of spaces) {
      for (const [key, v] of space) {
        if (n >= limit) return n;
        if (!isLive(v.expiresAt, now)) {
          remove(namespace, key);
          n++;
        }
      }
    }
    return n;
  }

  /** Room for one more key: expired values go first (a full walk at most once a second), else the call fails. */
  function makeRoom(): void {
    if (size < max) return;
    const now = clock.now();
    if (now - purgedAt >= 1000) {
      purgedAt = now;
      sweep(now, Infinity);
    }
    if (size >= max) throw new StoreUnavailableError(`the memory store holds its maxValues (${max}) live key-value entries`);
  }

  const kv: KeyValues = {
    async get(namespace, key, now) {
      open();
      checkKeyValue(namespace, key);
      const v = live(namespace, key, now);
      return v === null ? null : { value: v.value, expiresAt: v.expiresAt };
    },

    async set(namespace, key, entry, now, mode = 'always') {
      open();
      checkKeyValue(namespace, key, entry, mode);
      const current = live(namespace, key, now);
      if (mode === 'if-absent' && current !== null) return false;
      if (typeof mode === 'object' && (current === null || current.value !== mode.ifValue)) return false;
      let space = spaces.get(namespace);
      if (space?.has(key) !== true) {
        makeRoom();
        size++;
        if (space === undefined) {
          space = new Map();
          spaces.set(namespace, space);
        }
      }
      (space as Map<string, StoredValue>).set(key, { value: entry.value, expiresAt: entry.expiresAt });
      return true;
    },

    async take(namespace, key, now) {
      open();
      checkKeyValue(namespace, key);
      const v = live(namespace, key, now);
      // Read and removed in the same synchronous step: two takes cannot both see it.
      remove(namespace, key);
      return v === null ? null : { value: v.value, expiresAt: v.expiresAt };
    },

    async delete(namespace, key) {
      open();
      checkKeyValue(namespace, key);
      return remove(namespace, key);
    },

    async list(namespace, limit, now) {
      open();
      checkKeyValue(namespace, '-');
      checkListLimit(limit);
      const out: StoredEntry[] = [];
      for (const [key, v] of spaces.get(namespace) ?? []) {
        if (out.length >= limit) break;
        if (isLive(v.expiresAt, now)) out.push({ key, value: v.value, expiresAt: v.expiresAt });
      }
      return out;
    },
  };

  return {
    kv,
    sweep,
    clear() {
      spaces.clear();
      size = 0;
    },
  };
}
