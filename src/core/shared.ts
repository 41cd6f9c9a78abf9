/**
 * What several latchkey instances on one store share beyond records and
 * values: sliding-window counters ({@link Counters}: the guessing throttle,
 * the sign-in brakes) and a bounded log of security events
 * ({@link EventLog}: the dashboard's and `/v1`'s feed). Redis and
 * PostgreSQL offer both as facets of the store (`store.counters`,
 * `store.events`), each operation atomic in the store (one Lua script, one
 * SQL statement); the in-process stores (memory, SQLite) have none, and
 * latchkey keeps the local versions ({@link localCounters}) in each process.
 *
 * @module
 */
import { LatchkeyTypeError } from './errors.js';

/**
 * Sliding-window counters by name and key (a client IP): the times of the
 * latest events, in one atomic step per event.
 *
 * @example
 * ```ts
 * const times = await store.counters.hit('guessing', '192.0.2.7', Date.now(), 60_000, 21);
 * const blocked = times.length >= 20;
 * ```
 */
export interface Counters {
  /**
   * Records an event at `now` for `key` and resolves the times of the events
   * of the last `windowMs` (those after `now - windowMs`), oldest first, at
   * most the newest `keep` of them. Atomic: of concurrent hits on one key,
   * from any process, none is lost.
   */
  hit(name: string, key: string, now: number, windowMs: number, keep: number): Promise<number[]>;
  /** Forgets every event of `key`. */
  reset(name: string, key: string): Promise<void>;
}

/**
 * A bounded, shared log of security events in rings (a flood of one kind
 * never pushes another out): each `append` keeps at most `capacity` entries
 * of its ring, the oldest dropped in the same step.
 *
 * @example
 * ```ts
 * await store.events.append('alerts', JSON.stringify(event), 200);
 * const newest = await store.events.recent('alerts', 20); // [{ id, body }], newest first
 * ```
 */
export interface EventLog {
  /** Appends `body` (JSON) to `ring`; resolves its id, increasing across every ring of the store. */
  append(ring: string, body: string, capacity: number): Promise<number>;
  /** The newest entries of `ring`, newest first, at most `limit`. */
  recent(ring: string, limit: number): Promise<Array<{ readonly id: number; readonly body: string }>>;
}

/** Entries each ring of the security-event log keeps. */
export const EVENT_RING_CAPACITY = 200;

/**
 * The ring of the security-event log an event of `kind` lives in: new
 * devices and invalid-token reports (the kinds anyone can make in bulk)
 * apart from the alerts, so that a flood of them never pushes an alert out.
 *
 * @example
 * ```ts
 * eventRing('token-theft'); // 'alerts'
 * ```
 */
export function eventRing(kind: string): 'alerts' | 'devices' | 'invalid' {
  return kind === 'new-device' || kind === 'device-bound' ? 'devices' : kind === 'invalid-token' ? 'invalid' : 'alerts';
}

/**
 * Appends a security event (the service feed's shape, without its id) to a
 * store's log, in its ring: for a process without a feed of its own (the
 * CLI), so that every service instance on the store shows it.
 *
 * @example
 * ```ts
 * if (store.events) await recordEvent(store.events, { at: Date.now(), kind: 'revoked', userId: null, sessionKind: null, handle, ip: null, detail: 'revoked with the CLI' });
 * ```
 */
export function recordEvent(log: EventLog, event: { readonly kind: string }, capacity = EVENT_RING_CAPACITY): Promise<number> {
  return log.append(eventRing(event.kind), JSON.stringify(event), capacity);
}

const NAME = /^[a-z][a-z0-9._:-]{0,63}$/;

/**
 * Checks the arguments of a counter or event call, for stores: a short
 * lower-case name, a key of 1 to 512 characters, whole positive numbers.
 *
 * @throws {LatchkeyTypeError} naming what is wrong
 * @example
 * ```ts
 * checkShared('guessing', ip, { windowMs, keep });
 * ```
 */
export function checkShared(name: string, key: string | null, numbers: Record<string, number> = {}): void {
  if (typeof name !== 'string' || !NAME.test(name)) throw new LatchkeyTypeError('a counter or ring name is a lower-case name of at most 64 characters');
  if (key !== null && (typeof key !== 'string' || key.length === 0 || key.length > 512)) throw new LatchkeyTypeError('a counter key is a string of 1 to 512 characters');
  for (const [k, v] of Object.entries(numbers)) {
    if (!Number.isSafeInteger(v) || v < 1) throw new LatchkeyTypeError(`${k} is a whole number, 1 or more`);
  }
}

/**
 * The in-process version of {@link Counters}, for stores that are not
 * shared: at most `maxKeys` keys per name, the stalest forgotten first.
 *
 * @example
 * ```ts
 * const counters = store.counters ?? localCounters(10_000);
 * ```
 */
export function localCounters(maxKeys: number): Counters {
  // Map order is insertion order; a key is re-inserted on each hit, so the first one is the stalest.
  const names = new Map<string, Map<string, number[]>>();
  return {
    async hit(name, key, now, windowMs, keep) {
      let keys = names.get(name);
      if (keys === undefined) names.set(name, (keys = new Map()));
      const times = (keys.get(key) ?? []).filter((t) => t > now - windowMs);
      times.push(now);
      if (times.length > keep) times.splice(0, times.length - keep);
      keys.delete(key);
      keys.set(key, times);
      if (keys.size > maxKeys) keys.delete(keys.keys().next().value as string);
      return times.slice();
    },
    async reset(name, key) {
      names.get(name)?.delete(key);
    },
  };
}
