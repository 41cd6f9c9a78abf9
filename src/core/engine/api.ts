/**
 * The engine's public contract: the {@link Sessions} interface that
 * `createSessions()` returns, with the inputs and results of its methods.
 * Re-exported by `latchkey` (src/core/sessions.ts).
 *
 * @module
 */
import type { Duration } from '../duration.js';
import type { Listener, SessionEvents } from '../events.js';
import type { ClientInfo, DeviceSession, Session, SessionData } from '../model.js';
import type { SessionDataInput } from '../session-data.js';
import type { DataPatch } from '../store.js';

/** Why `validate()` refused a token. */
export type InvalidReason =
  | 'malformed'
  | 'unknown'
  | 'expired-idle'
  | 'expired-absolute'
  | 'revoked'
  | 'binding-mismatch';

/** Options of {@link Sessions.validate}. */
export interface ValidateOptions {
  /** The client presenting the token: for binding, the invalid-token throttle and reports. */
  client?: ClientInfo;
  /**
   * Where the token travelled, for `invalid-token` events: a short lower-case
   * label (letters, digits, `-`, at most 16 characters), such as the HTTP
   * layer's `'cookie'`, `'bearer'`, `'url'`, `'form'`. Anything else is
   * reported as `null`.
   * @default null
   */
  carrier?: string;
  /**
   * `false` when the caller cannot hand a renewed token to the client (a
   * Next.js server component cannot set cookies), or may not yet (the HTTP
   * layer with DBSC, before the request proved its device): a token due for
   * renewal is then accepted as it is, the result says `renewalDue: true`,
   * and a later call that can send the new token renews it. A function:
   * a due token is renewed only when it answers `true` for the session as
   * the store holds it at the renewal (the version the renewal replaces),
   * else reported as with `false`; the HTTP layer with DBSC passes "this
   * request may use this session", so that a binding written between its
   * check and the renewal is the one the renewal is decided on.
   * @default true
   * @example
   * ```ts
   * const r = await sessions.validate(token, { renew: (s) => s.data.plan !== 'frozen' });
   * ```
   */
  renew?: boolean | ((session: Session) => boolean);
}

/** Result of {@link Sessions.validate}. */
export type ValidateResult =
  | {
      readonly ok: true;
      readonly session: Session;
      /** Present when the token was renewed: send `token` to the client in place of the old one. */
      readonly renewed?: { readonly token: string };
      /** `true` when the token was due for renewal and left as it is (`renew: false`): validate it again without it to renew. */
      readonly renewalDue?: true;
    }
  | { readonly ok: false; readonly reason: InvalidReason };

/** Result of {@link Sessions.rotate}. */
export type RotateResult =
  | { readonly ok: true; readonly token: string; readonly session: Session }
  | { readonly ok: false; readonly reason: InvalidReason | 'conflict' };

/** Result of {@link Sessions.patch}. */
export type PatchResult =
  | { readonly ok: true; readonly version: number; readonly data: SessionData }
  | { readonly ok: false; readonly reason: 'not-found' | 'conflict' };

/** Input of {@link Sessions.create}. */
export interface CreateInput {
  /** The signed-in user; omit for an anonymous session. */
  userId?: string | null;
  /** Initial data (JSON), typed by the application's `SessionDataTypes` (module augmentation of `'latchkey'`). */
  data?: SessionDataInput;
  /** The client the session is created for. */
  client?: ClientInfo;
  /** Strength of the authentication that created the session. @default 0 */
  authLevel?: number;
}

/** Options of {@link Sessions.rotate}. */
export interface RotateOptions {
  /**
   * Sign in (or switch) to this user: the new token belongs to `userId` and
   * `authTime` becomes now. An anonymous session's data is kept; a session of
   * another user starts with empty data. `null` signs out but keeps the data.
   */
  userId?: string | null;
  /** Record a (re-)authentication now, without changing the user. */
  authenticated?: boolean;
  /** New authentication level. */
  authLevel?: number;
  /** After rotating, revoke every other session of the user (password change). */
  revokeOthers?: boolean;
  /** The client, for the new-device check and binding of the new token. */
  client?: ClientInfo;
  /**
   * Give the new record this token instead of a fresh random one, for
   * `latchkey/tokens`, whose refresh rotation derives each successor from the
   * presented token with a server-side key (so that concurrent refreshes agree
   * on it without storing it). The old record becomes a `'revoked'` tombstone
   * that names the successor (lineage for theft detection; the engine never
   * follows it) and is kept until its own deadline. The caller vouches for the
   * secret's 256 bits of entropy. Refused (`'conflict'`) when the presented
   * token is only valid through a renewal overlap.
   * @internal
   */
  successor?: { readonly handle: string; readonly secret: string };
}

/** Options of {@link Sessions.list}. */
export interface ListOptions {
  /**
   * Only sessions of these kinds, e.g. `['session', 'refresh']`.
   * @default every kind
   */
  kinds?: readonly string[];
}

/** Options of {@link Sessions.revokeUser}. */
export interface RevokeUserOptions {
  /** Keep this session (the current one, after a password change). */
  except?: string;
  /**
   * Only sessions of these kinds, e.g. `['demo']` for an area whose users
   * are not the application's.
   * @default every kind: "log out everywhere" ends cookie sessions and token families alike
   */
  kinds?: readonly string[];
}

/** The session engine returned by `createSessions()`. */
export interface Sessions {
  /** Creates a session with a fresh token. Tokens are never chosen by the caller (no fixation). */
  create(input?: CreateInput): Promise<{ token: string; session: Session }>;
  /**
   * Checks a token. Never throws for bad tokens: the result says why. Writes
   * to the store only to extend the idle deadline (throttled by
   * `touchInterval`) or to renew the token. A refusal is counted against
   * `client.ip` (see `guessing`) and reported in an `invalid-token` event
   * with `carrier`.
   */
  validate(token: unknown, options?: ValidateOptions): Promise<ValidateResult>;
  /** Issues a new token for the session and kills the old one at once. */
  rotate(token: unknown, options?: RotateOptions): Promise<RotateResult>;
  /**
   * Sets and removes data keys of a session, leaving every other key as it is
   * in the store. With `expectVersion`, applies only if nobody changed the
   * data since that version (compare-and-set).
   */
  patch(handle: string, patch: DataPatch, options?: { expectVersion?: number }): Promise<PatchResult>;
  /** The active session with this handle, of any kind (see `session.kind`), or `null`. Does not touch it. */
  get(handle: string): Promise<Session | null>;
  /** Revokes one session, of any kind, at once. Resolves whether it was active. */
  revoke(handle: string): Promise<boolean>;
  /**
   * "Log out everywhere": revokes every session of a user, of every kind
   * (cookie sessions and token families alike) or of `kinds`, but `except`.
   * Resolves the revoked handles.
   */
  revokeUser(userId: string, options?: RevokeUserOptions): Promise<string[]>;
  /** A user's live sessions, of every kind or of `kinds`, for a "your devices" page, oldest first. Each says its `kind`. */
  list(userId: string, options?: ListOptions): Promise<DeviceSession[]>;
  /** Whether the session's last authentication is younger than `maxAge`. */
  isFresh(session: Pick<Session, 'authTime'>, maxAge: Duration): boolean;
  /** Seconds a client IP must wait after a burst of invalid tokens, or 0. */
  throttled(ip: string): number;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof SessionEvents>(event: K, listener: Listener<K>): () => void;
  /** Removes expired records now. Resolves how many. */
  sweep(): Promise<number>;
  /**
   * Stops the engine: its background sweep (waiting for a sweep under way),
   * its cache and the cache's subscription to the store's invalidations;
   * reports the invalid tokens counted so far. Later calls reject with
   * `ClosedError`. The store is not closed: whoever opened it closes it,
   * after every engine over it (`await sessions.close(); await
   * store.close()`). Calling it again resolves when the first call does.
   */
  close(): Promise<void>;
}
