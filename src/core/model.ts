/**
 * The session model shared by every mode, store and adapter.
 *
 * @module
 */

/** Coarse description of a client's software, parsed from its user agent. */
export interface Device {
  /** Browser or client family, e.g. `'Chrome'`, `'Firefox'`, `'Safari'`, `'curl'`. */
  readonly browser: string;
  /** Operating system, e.g. `'macOS'`, `'Windows'`, `'iOS'`, `'Android'`. */
  readonly os: string;
  /** Form factor. */
  readonly type: 'desktop' | 'mobile' | 'tablet' | 'bot' | 'unknown';
}

/** What the caller knows about the client of a request. */
export interface ClientInfo {
  /** The client's IP address (resolved through trusted proxies by the HTTP layer). */
  readonly ip?: string | undefined;
  /** The raw `User-Agent` header. */
  readonly userAgent?: string | undefined;
}

/** The client a session was created from, as recorded for the "your devices" page and binding. */
export interface ClientRecord {
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly device: Device;
}

/** JSON-compatible session data. */
export type SessionData = Readonly<Record<string, unknown>>;

/** Lifecycle state of a stored record. */
export type RecordStatus = 'active' | 'revoked' | 'rotated';

/**
 * What a store keeps for one token. Stores persist every field as given and
 * return it unchanged; policy (what counts as expired, revoked, bound) lives in
 * the engine.
 */
export interface SessionRecord {
  /** Public random identifier: the store key. */
  readonly handle: string;
  /** SHA-256 of the token's secret, base64url (43 characters). */
  readonly secretHash: string;
  /**
   * What the record is: `'session'` (the default), `'refresh'` (a token
   * family of `latchkey/tokens`), or any kind an application gives an engine
   * (`createSessions({ kind })`). An engine honours only tokens of records of
   * its own kind; a tombstone keeps the kind of the record it replaced.
   */
  readonly kind: string;
  /** The signed-in user, or `null` for an anonymous session. */
  readonly userId: string | null;
  readonly status: RecordStatus;
  /** For a `'rotated'` record inside its overlap window: the handle that replaced it. */
  readonly successor: string | null;
  /** When the session was first created (kept across rotations), ms since epoch. */
  readonly createdAt: number;
  /** When this record's token was issued, ms since epoch. */
  readonly issuedAt: number;
  /** Last time a validation extended the idle deadline, ms since epoch. */
  readonly lastSeenAt: number;
  /** When the user last authenticated (sign-in or re-authentication), or `null`. */
  readonly authTime: number | null;
  /** Application-defined strength of the last authentication (0 = none). */
  readonly authLevel: number;
  /** Idle deadline, ms since epoch. */
  readonly idleExpiresAt: number;
  /** Absolute deadline, ms since epoch. */
  readonly absoluteExpiresAt: number;
  /** When the store may forget the record: the earlier deadline, or the end of a tombstone's retention. */
  readonly expiresAt: number;
  /** Incremented by every data patch; used for compare-and-set. */
  readonly version: number;
  readonly data: SessionData;
  readonly client: ClientRecord | null;
}

/** A valid session as the application sees it. No secret, no hash. */
export interface Session {
  /** Public identifier: safe to log, to show and to pass to `revoke()`. */
  readonly handle: string;
  /** The kind of its record (`'session'` unless its engine was given another); `'sealed'` for a sealed session. */
  readonly kind: string;
  readonly userId: string | null;
  readonly createdAt: number;
  readonly issuedAt: number;
  readonly lastSeenAt: number;
  readonly authTime: number | null;
  readonly authLevel: number;
  readonly idleExpiresAt: number;
  readonly absoluteExpiresAt: number;
  readonly version: number;
  /** A read-only snapshot; change it with `patch()`. */
  readonly data: SessionData;
  readonly client: ClientRecord | null;
}

/** One entry of a user's device list. */
export interface DeviceSession {
  readonly handle: string;
  /** The kind of the session's record: `'session'`, `'refresh'` (a token family), or an application's own. */
  readonly kind: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly authTime: number | null;
  /** The earlier of the idle and absolute deadlines. */
  readonly expiresAt: number;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly device: Device;
}

/** @internal */
export function toSession(r: SessionRecord): Session {
  return {
    handle: r.handle,
    kind: r.kind,
    userId: r.userId,
    createdAt: r.createdAt,
    issuedAt: r.issuedAt,
    lastSeenAt: r.lastSeenAt,
    authTime: r.authTime,
    authLevel: r.authLevel,
    idleExpiresAt: r.idleExpiresAt,
    absoluteExpiresAt: r.absoluteExpiresAt,
    version: r.version,
    data: r.data,
    client: r.client,
  };
}
