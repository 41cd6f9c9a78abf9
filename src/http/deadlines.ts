/**
 * The deadlines protocol: how the server tells a browser client when its
 * session ends, so that the client can warn before the idle deadline and
 * sign out at either deadline without asking.
 *
 * One response header, a Structured Field Dictionary (RFC 9651):
 *
 * ```
 * Latchkey-Deadlines: idle=1799, absolute=86399   a signed-in session: seconds left until each deadline
 * Latchkey-Deadlines: none                        no signed-in session (signed out, expired, revoked, anonymous)
 * ```
 *
 * Seconds are counted from the moment the server answers and rounded down:
 * a client adds them to the moment it sent the request, by its own clock,
 * without comparing clocks with the server, and is never late (rounding and
 * latency only make it early).
 *
 * Where it is sent (never on a response a cache may keep):
 * - token mode: on every sign-in and refresh answer of the token transport
 *   (both carriers), which are `Cache-Control: no-store` anyway;
 * - cookie sessions (stateful and sealed): on the response to a request that
 *   asks for it with `Latchkey-Deadlines: ?1` and loaded its session, with
 *   `Cache-Control: no-store` added. Pages and API answers of clients that
 *   do not ask are left exactly as they were (cacheable, bfcache-eligible).
 *
 * @module
 */
import type { Session } from '../core/model.js';

/**
 * The header's name, in the lower case Node and the Fetch API use. A
 * browser client on another origin can read it only if the API exposes it.
 *
 * @example
 * ```ts
 * reply.header('access-control-expose-headers', `${DEADLINES_HEADER}, www-authenticate`);
 * ```
 */
export const DEADLINES_HEADER = 'latchkey-deadlines';

/** The request value that asks for the header (the Structured Field boolean true). */
const ASK = '?1';

/**
 * @internal Whether a request asked for the deadlines of its session
 * (`Latchkey-Deadlines: ?1`).
 */
export function asksForDeadlines(value: string | undefined): boolean {
  return value !== undefined && value.trim() === ASK;
}

/**
 * @internal The `Latchkey-Deadlines` line of a response: the seconds left,
 * counted from `now` (by the clock the deadlines were set with), until the
 * session's idle and absolute deadlines; `none` without a signed-in session.
 */
export function deadlinesLine(session: Pick<Session, 'userId' | 'idleExpiresAt' | 'absoluteExpiresAt'> | null, now: number): readonly [string, string] {
  if (session === null || session.userId === null) return [DEADLINES_HEADER, 'none'];
  const absolute = Math.max(0, Math.floor((session.absoluteExpiresAt - now) / 1000));
  // The idle deadline never lies beyond the absolute one, whatever the record says.
  const idle = Math.min(absolute, Math.max(0, Math.floor((session.idleExpiresAt - now) / 1000)));
  return [DEADLINES_HEADER, `idle=${idle}, absolute=${absolute}`];
}
