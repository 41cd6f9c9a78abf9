/**
 * The security-event feed of the dashboard: the recent events of every
 * engine that matter to an operator (refresh-token theft, binding
 * mismatches, bursts of invalid tokens, invalid tokens below the burst
 * threshold, new devices, "log out everywhere"), in bounded rings. Events
 * carry handles, user ids and IPs, never tokens.
 *
 * @module
 */
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
  | 'session-limit'
  // The dashboard's audit trail: who (in the detail), what, when, from where (ip).
  | 'admin-sign-in'
  | 'admin-sign-in-failed'
  | 'admin-sign-out'
  | 'admin-revoke'
  | 'admin-revoke-all';

/** One entry of the feed. */
export interface SecurityEvent {
  /** Increasing number, unique within this process. */
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
  /** The newest events first, at most `limit` (default 50). */
  recent(limit?: number): SecurityEvent[];
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

/** A feed keeping the last `capacity` new-device events, the last `capacity` invalid-token reports and the last `capacity` of every other kind. */
export function securityFeed(capacity = 200): SecurityFeed {
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
    const ring = e.kind === 'new-device' ? devices : e.kind === 'invalid-token' ? invalid : alerts;
    ring.push(e);
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

  return {
    push,
    recent(limit = 50) {
      const n = Math.max(0, limit);
      return [...alerts.slice(-n), ...devices.slice(-n), ...invalid.slice(-n)].sort((a, b) => b.id - a.id).slice(0, n);
    },
    watch(engine, sessionKind) {
      const offs = [
        engine.on('anomaly', (a) => {
          if (a.kind === 'binding-mismatch') {
            push({ at: a.at, kind: 'binding-mismatch', userId: a.userId, sessionKind, handle: a.handle, ip: a.ip, detail: `${a.attribute === 'ip' ? 'IP address' : 'user agent'} changed; ${a.action === 'log' ? 'accepted and logged' : a.action === 'reauth' ? 'request refused (re-authentication)' : 'session revoked'}` });
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
        engine.on('revoked', (r) => {
          if (r.cause === 'limit') push({ at: r.at, kind: 'session-limit', userId: r.userId, sessionKind, handle: r.handle, ip: null, detail: 'oldest session revoked: too many sessions' });
        }),
      ];
      return () => offs.forEach((off) => off());
    },
    watchTokens(tokens) {
      const offs = [
        tokens.on('token-theft', (t) => {
          push({ at: t.at, kind: 'token-theft', userId: t.userId, sessionKind: 'refresh', handle: t.handle, ip: t.ip, detail: 'a rotated refresh token was replayed; the token family is revoked' });
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
