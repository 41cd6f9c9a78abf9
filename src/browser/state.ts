/**
 * The session state every tab of the origin holds a copy of, and how a tab
 * merges a copy it receives into its own so that all of them converge
 * whatever order the messages arrive in.
 *
 * @module
 */
import type { SessionState, SignOutReason } from './types.js';

/** @internal the state a tab holds and broadcasts */
export interface Shared {
  /** Credential generation: raised by every sign-in, refresh and sign-out. */
  readonly gen: number;
  /** Version of `user` within the generation. */
  readonly seq: number;
  /** The tab that made this generation (breaks ties). */
  readonly by: string;
  readonly status: SessionState['status'];
  readonly user: unknown;
  readonly idle: number | null;
  readonly absolute: number | null;
  /** When the access token should be replaced (token modes), ms since the epoch. */
  readonly stale: number | null;
  readonly reason: SignOutReason | null;
  /** Bearer mode: the tokens. Never written anywhere but memory and `BroadcastChannel`. */
  readonly access: string | null;
  readonly refresh: string | null;
}

/** @internal the state of a tab that knows nothing yet */
export function initial(tab: string): Shared {
  return { gen: 0, seq: 0, by: tab, status: 'unknown', user: null, idle: null, absolute: null, stale: null, reason: null, access: null, refresh: null };
}

/**
 * @internal The state after `mine` receives `theirs`, or `mine` itself when
 * it has nothing to learn. A later generation wins; within one generation a
 * sign-out wins over anything else, the later of two idle deadlines (activity
 * in any tab extends the session for all) and the later `user` are kept.
 */
export function merge(mine: Shared, theirs: Shared): Shared {
  if (theirs.status === 'unknown' || theirs.gen < mine.gen) return mine;
  if (theirs.gen > mine.gen) return theirs;
  if (theirs.status !== mine.status) return theirs.status === 'signed-out' ? theirs : mine;
  let next = mine;
  // Two refreshes of one generation (only without Web Locks): every tab keeps the same one of them.
  if (theirs.by > mine.by) next = { ...next, by: theirs.by, access: theirs.access, refresh: theirs.refresh, stale: theirs.stale };
  if (theirs.seq > next.seq) next = { ...next, seq: theirs.seq, user: theirs.user };
  if ((theirs.idle ?? 0) > (next.idle ?? 0)) next = { ...next, idle: theirs.idle, absolute: theirs.absolute };
  return next;
}

/** @internal a copy without tokens, for a channel that is not memory only */
export function withoutTokens(s: Shared): Shared {
  return s.access === null && s.refresh === null ? s : { ...s, access: null, refresh: null };
}

/** @internal whether a message is a state this module sent */
export function isShared(x: unknown): x is Shared {
  if (x === null || typeof x !== 'object') return false;
  const s = x as Record<string, unknown>;
  return typeof s.gen === 'number' && typeof s.seq === 'number' && typeof s.by === 'string' && (s.status === 'signed-in' || s.status === 'signed-out');
}

/** @internal the public view */
export function view(s: Shared): SessionState {
  return Object.freeze({ status: s.status, user: s.user, idleDeadline: s.idle, absoluteDeadline: s.absolute, reason: s.reason });
}
