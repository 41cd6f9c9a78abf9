/**
 * Session policies as pure functions of a record, a time and a normalised
 * configuration. The engine composes them; tests exercise them directly.
 *
 * @module
 */
import { durationOption, type Duration } from './duration.js';
import { ConfigError } from './errors.js';
import type { ClientInfo, ClientRecord, SessionRecord } from './model.js';
import { samePrefix } from './ip.js';

/** Why a stored session is not usable at time `now`, or `null` if it is. */
export type ExpiryVerdict = 'expired-absolute' | 'expired-idle' | null;

/** Absolute expiry wins over idle expiry when both have passed. */
export function expiryOf(record: Pick<SessionRecord, 'idleExpiresAt' | 'absoluteExpiresAt'>, now: number): ExpiryVerdict {
  if (now >= record.absoluteExpiresAt) return 'expired-absolute';
  if (now >= record.idleExpiresAt) return 'expired-idle';
  return null;
}

/** Timeouts in milliseconds. */
export interface TimeoutPolicy {
  readonly idleMs: number;
  readonly absoluteMs: number;
  /** Minimum time between two writes that extend the idle deadline. */
  readonly touchIntervalMs: number;
}

/** The timeout options every session mode takes (the engine, sealed mode). */
export interface TimeoutOptions {
  /** A session unused for this long expires (sliding). @default '30m' */
  readonly idleTimeout?: Duration | undefined;
  /** A session expires this long after it was created, however active. @default '12h' */
  readonly absoluteTimeout?: Duration | undefined;
  /** Minimum time between two writes that extend the idle deadline. @default one tenth of idleTimeout, at most '1m' */
  readonly touchInterval?: Duration | undefined;
}

/**
 * The timeout options, checked and in milliseconds: both timeouts at least a
 * second, the idle one no longer than the absolute one, and touches more
 * frequent than the idle timeout (else a session in use would expire
 * between two of them).
 *
 * @throws {ConfigError} naming the option and how to fix it
 * @example
 * ```ts
 * timeoutPolicy({ idleTimeout: '30m' }); // { idleMs: 1800000, absoluteMs: 43200000, touchIntervalMs: 60000 }
 * ```
 */
export function timeoutPolicy(o: TimeoutOptions): TimeoutPolicy {
  const idleMs = durationOption('idleTimeout', o.idleTimeout ?? '30m', { min: 1000 });
  const absoluteMs = durationOption('absoluteTimeout', o.absoluteTimeout ?? '12h', { min: 1000 });
  if (idleMs > absoluteMs) {
    throw new ConfigError(`idleTimeout (${idleMs} ms) is longer than absoluteTimeout (${absoluteMs} ms); make it shorter or equal`);
  }
  const touchIntervalMs =
    o.touchInterval !== undefined ? durationOption('touchInterval', o.touchInterval) : Math.min(Math.floor(idleMs / 10), 60_000);
  if (touchIntervalMs >= idleMs) {
    throw new ConfigError(`touchInterval (${touchIntervalMs} ms) must be shorter than idleTimeout (${idleMs} ms)`);
  }
  return { idleMs, absoluteMs, touchIntervalMs };
}

/** The idle deadline a touch at `now` sets: never past the absolute deadline. */
export function nextIdleDeadline(policy: TimeoutPolicy, absoluteExpiresAt: number, now: number): number {
  return Math.min(now + policy.idleMs, absoluteExpiresAt);
}

/**
 * Whether a validation at `now` should write a new idle deadline. Writes are
 * throttled to one per `touchIntervalMs`, so a session in constant use costs
 * one write per interval, not one per request.
 */
export function needsTouch(policy: TimeoutPolicy, record: Pick<SessionRecord, 'lastSeenAt' | 'idleExpiresAt' | 'absoluteExpiresAt'>, now: number): boolean {
  if (record.idleExpiresAt >= record.absoluteExpiresAt) return false;
  return now - record.lastSeenAt >= policy.touchIntervalMs;
}

/** Whether the last authentication is younger than `maxAgeMs`. */
export function isFresh(record: Pick<SessionRecord, 'authTime'>, maxAgeMs: number, now: number): boolean {
  return record.authTime !== null && now - record.authTime <= maxAgeMs && record.authTime <= now + 60_000;
}

/** Automatic token renewal, in milliseconds (0 = off). */
export interface RenewalPolicy {
  /** Rotate a token once it is this old. */
  readonly intervalMs: number;
  /** Rotate a token presented after this long without use. */
  readonly afterIdleMs: number;
  /** How long the replaced token keeps working, for requests already in flight. */
  readonly overlapMs: number;
}

/** Whether a validation at `now` should rotate the token. */
export function needsRenewal(policy: RenewalPolicy, record: Pick<SessionRecord, 'issuedAt' | 'lastSeenAt'>, now: number): boolean {
  if (policy.intervalMs > 0 && now - record.issuedAt >= policy.intervalMs) return true;
  return policy.afterIdleMs > 0 && now - record.lastSeenAt >= policy.afterIdleMs;
}

/** What to do when a request's client does not match the session's. */
export type BindingAction = 'ignore' | 'log' | 'reauth' | 'revoke';

/** Client binding. */
export interface BindingPolicy {
  readonly userAgent: boolean;
  /** Prefix lengths compared, or `null` not to compare IPs. */
  readonly ip: { readonly v4: number; readonly v6: number } | null;
  readonly onMismatch: BindingAction;
}

/** Which bound attribute differs, or `null` when the client matches (or nothing is bound or known). */
export function bindingMismatch(policy: BindingPolicy, recorded: ClientRecord | null, current: ClientInfo | undefined): 'user-agent' | 'ip' | null {
  if (recorded === null || current === undefined) return null;
  if (policy.userAgent && recorded.userAgent !== null && (current.userAgent ?? null) !== recorded.userAgent) {
    return 'user-agent';
  }
  if (policy.ip !== null && recorded.ip !== null) {
    const ip = current.ip;
    if (ip === undefined || !samePrefix(recorded.ip, ip, policy.ip.v4, policy.ip.v6)) return 'ip';
  }
  return null;
}
