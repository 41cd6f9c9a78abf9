/**
 * The security-event feed of the dashboard and `/v1/events`: the recent
 * events of every engine that matter to an operator (refresh-token theft,
 * binding mismatches, bursts of invalid tokens, invalid tokens below the
 * burst threshold, new devices, "log out everywhere", sessions and API keys
 * revoked by an operator), in bounded rings. Events carry handles, user ids,
 * API key ids and IPs, never tokens or keys.
 *
 * On a store that several instances share (Redis, PostgreSQL: `store.events`)
 * every event is also appended to the store's bounded log (a Redis stream
 * capped by MAXLEN, a PostgreSQL table pruned at each insert), which
 * {@link SecurityFeed.read} reads: every instance shows the fleet's events,
 * the CLI's actions included (`recordEvent()` of core/shared.ts). On the other stores the
 * feed is this process's.
 *
 * @module
 */
import { jsonObject } from '../core/json.js';
import { EVENT_RING_CAPACITY, eventRing, type EventLog } from '../core/shared.js';
import type { Sessions } from '../core/sessions.js';
import type { Tokens } from '../tokens/tokens.js';

/** Kinds of {@link SecurityEvent}. */
export type SecurityEventKind =
  | 'token-theft'
  | 'binding-mismatch'
  | 'invalid-token-burst'
  | 'invalid-token'
  | 'new-device'
  | 'revoked-all'
  | 'revoked'
  | 'api-key-created'
  | 'api-key-revoked'
  | 'session-limit'
  | 'bound-proof-failed'
  | 'device-bound'
  // The dashboard's audit trail: who (in the detail), what, when, from where (ip).
  | 'admin-sign-in'
  | 'admin-sign-in-failed'
  | 'admin-sign-out'
  | 'admin-revoke'
  | 'admin-revoke-all';

const KINDS: ReadonlySet<string> = new Set<SecurityEventKind>([
  'token-theft',
  'binding-mismatch',
  'invalid-token-burst',
  'invalid-token',
  'new-device',
  'revoked-all',
  'revoked',
  'api-key-created',
  'api-key-revoked',
  'session-limit',
  'admin-sign-in',
  'admin-sign-in-failed',
  'admin-sign-out',
  'admin-revoke',
  'admin-revoke-all',
]);

/** One entry of the feed. */
export interface SecurityEvent {
  /**
   * Increasing number: unique within this process for {@link SecurityFeed.recent},
   * within the store's log for {@link SecurityFeed.read} on a shared store.
   */
  readonly id: number;
  /** ms since epoch. */
  readonly at: number;
  readonly kind: SecurityEventKind;
  readonly userId: string | null;
  /**
   * The kind of the session it is about (`'session'`, `'refresh'`, `'demo'`,
   * `'admin'`), so that a demo user `alice` is never taken for the
   * application's; `null` when it is about no one session kind (a burst of
   * invalid tokens, "log out everywhere").
   */
  readonly sessionKind: string | null;
  readonly handle: string | null;
  readonly ip: string | null;
  /** One line for people, e.g. "user agent changed; request refused (reauth)". */
  readonly detail: string;
}

/** The feed. */
export interface SecurityFeed {
  /** Adds an event (the id is assigned here). */
  push(event: Omit<SecurityEvent, 'id'>): SecurityEvent;
  /** This process's newest events first, at most `limit` (default 50). */
  recent(limit?: number): SecurityEvent[];
  /**
   * The newest events first, at most `limit` (default 50): of every instance
   * and the CLI when the store keeps a shared log, else this process's.
   * Rejects with `StoreUnavailableError` when the store fails.
   */
  read(limit?: number): Promise<SecurityEvent[]>;
  /**
   * Forwards one engine's anomalies, invalid-token reports, new devices and
   * limit evictions to the feed, labelled with the engine's `kind`; returns
   * the unsubscribe function.
   */
  watch(engine: Sessions, kind: string): () => void;
  /** Forwards token mode's theft detections. */
  watchTokens(tokens: Tokens): () => void;
  /** Calls `listener` for every new event; returns the unsubscribe function. */
  subscribe(listener: (event: SecurityEvent) => void): () => void;
}

/** Options of {@link securityFeed}. */
export interface SecurityFeedOptions {
  /** Entries kept per ring, here and in the shared log. @default 200 */
  readonly capacity?: number;
  /** The store's shared log (`store.events`, of a guarded store): events are appended to it and read from it. */
  readonly log?: EventLog;
  /** Where a failed append goes (the event stays in this process's rings). */
  readonly onError?: (error: unknown) => void;
}

/** An entry of the shared log, or `null` for anything that is not an event. */
function parseEntry(id: number, body: string): SecurityEvent | null {
  const o = jsonObject(body);
  if (o === null) return null;
  const text = (x: unknown): string | null => (typeof x === 'string' ? x : null);
  if (typeof o.at !== 'number' || typeof o.kind !== 'string' || !KINDS.has(o.kind) || typeof o.detail !== 'string') return null;
  return Object.freeze({ id, at: o.at, kind: o.kind as SecurityEventKind, userId: text(o.userId), sessionKind: text(o.sessionKind), handle: text(o.handle), ip: text(o.ip), detail: o.detail });
}

/**
 * A feed keeping the last `capacity` new-device events, the last `capacity`
 * invalid-token reports and the last `capacity` of every other kind (a
 * number, as before, or {@link SecurityFeedOptions}).
 *
 * @example
 * ```ts
 * const feed = securityFeed({ log: store.events, onError: (err) => log.warn(err) });
 * feed.watch(sessions, 'session');
 * const newest = await feed.read(20);
 * ```
 */
export function securityFeed(options: number | SecurityFeedOptions = {}): SecurityFeed {
  const o = typeof options === 'number' ? { capacity: options } : options;
  const capacity = o.capacity ?? EVENT_RING_CAPACITY;
  const log = o.log;
  const onError = o.onError ?? (() => {});
  // New devices and invalid-token reports are the common kinds (anyone can make them, on the demo or with
  // made-up tokens): each gets a ring of its own, so a flood of them never pushes a theft or a binding
  // mismatch out of the feed.
  const alerts: SecurityEvent[] = [];
  const devices: SecurityEvent[] = [];
  const invalid: SecurityEvent[] = [];
  const listeners = new Set<(event: SecurityEvent) => void>();
  let next = 1;

  const push = (event: Omit<SecurityEvent, 'id'>): SecurityEvent => {
    const e = Object.freeze({ id: next++, ...event });
    const name = eventRing(e.kind);
    const ring = name === 'devices' ? devices : name === 'invalid' ? invalid : alerts;
    ring.push(e);
    if (log !== undefined) log.append(name, JSON.stringify(event), capacity).catch(onError);
    if (ring.length > capacity) ring.shift();
    for (const fn of listeners) {
      try {
        fn(e);
      } catch {
        // a listener's failure is its own
      }
    }
    return e;
  };

  function recent(limit = 50): SecurityEvent[] {
    const n = Math.max(0, limit);
    return [...alerts.slice(-n), ...devices.slice(-n), ...invalid.slice(-n)].sort((a, b) => b.id - a.id).slice(0, n);
  }

  return {
    push,
    recent,
    async read(limit = 50) {
      if (log === undefined) return recent(limit);
      const n = Math.min(Math.max(1, Math.floor(limit)), 1000);
      const rings = await Promise.all(['alerts', 'devices', 'invalid'].map((r) => log.recent(r, n)));
      const out: SecurityEvent[] = [];
      for (const entries of rings) for (const { id, body } of entries) {
        const e = parseEntry(id, body);
        if (e !== null) out.push(e);
      }
      return out.sort((a, b) => b.id - a.id).slice(0, n);
    },
    watch(engine, sessionKind) {
      const offs = [
        engine.on('anomaly', (a) => {
          if (a.kind === 'binding-mismatch') {
            push({ at: a.at, kind: 'binding-mismatch', userId: a.userId, sessionKind, handle: a.handle, ip: a.ip, detail: `${a.attribute === 'ip' ? 'IP address' : 'user agent'} changed; ${a.action === 'log' ? 'accepted and logged' : a.action === 'reauth' ? 'request refused (re-authentication)' : 'session revoked'}` });
          } else if (a.kind === 'bound-proof-failed') {
            push({ at: a.at, kind: 'bound-proof-failed', userId: a.userId, sessionKind, handle: a.handle, ip: a.ip, detail: `${a.protocol === 'dbsc' ? 'DBSC' : 'DPoP'} proof refused: ${a.reason}` });
          } else {
            push({ at: a.at, kind: 'invalid-token-burst', userId: null, sessionKind, handle: null, ip: a.ip, detail: `${a.count} invalid tokens in the window; client throttled` });
          }
        }),
        engine.on('invalid-token', (t) => {
          const where = t.carrier === null ? '' : t.carrier === 'api' ? ' through the API' : ` in the ${t.carrier}`;
          push({ at: t.at, kind: 'invalid-token', userId: null, sessionKind, handle: null, ip: t.ip, detail: `${t.count} ${t.reason} token${t.count === 1 ? '' : 's'}${where} since ${new Date(t.since).toISOString()}` });
        }),
        engine.on('new-device', (d) => {
          push({ at: d.at, kind: 'new-device', userId: d.userId, sessionKind, handle: d.handle, ip: d.client.ip, detail: `signed in from ${d.client.device.browser} on ${d.client.device.os}` });
        }),
        engine.on('device-bound', (d) => {
          push({ at: d.at, kind: 'device-bound', userId: d.userId, sessionKind, handle: d.handle, ip: null, detail: `browser session bound to a ${d.alg} device key (DBSC)` });
        }),
        engine.on('revoked', (r) => {
          if (r.cause === 'limit') push({ at: r.at, kind: 'session-limit', userId: r.userId, sessionKind, handle: r.handle, ip: null, detail: 'oldest session revoked: too many sessions' });
        }),
      ];
      return () => offs.forEach((off) => off());
    },
    watchTokens(tokens) {
      const offs = [
        tokens.on('token-theft', (t) => {
          push({ at: t.at, kind: 'token-theft', userId: t.userId, sessionKind: 'refresh', handle: t.handle, ip: t.ip, detail: t.cause === 'dpop-key' ? 'a refresh token bound to a DPoP key came without a proof of that key; the token family is revoked' : 'a rotated refresh token was replayed; the token family is revoked' });
        }),
        tokens.on('anomaly', (a) => {
          push({ at: a.at, kind: 'invalid-token-burst', userId: null, sessionKind: 'refresh', handle: null, ip: a.ip, detail: `${a.count} invalid refresh tokens in the window; client throttled` });
        }),
      ];
      return () => offs.forEach((off) => off());
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
