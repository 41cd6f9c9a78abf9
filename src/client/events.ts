/**
 * The security-event feed as `latchkey/client` reads it
 * (`GET /v1/events`): what the service's dashboard shows, as data.
 *
 * @module
 */
/** One entry of the feed: handles, user ids, key ids and IPs, never a token or a key. */
export interface SecurityEvent {
  /** Increasing: within the store's shared log (Redis, PostgreSQL), else within the instance that answered. */
  readonly id: number;
  /** ms since epoch. */
  readonly at: number;
  /** `'token-theft'`, `'binding-mismatch'`, `'invalid-token-burst'`, `'invalid-token'`, `'new-device'`, `'revoked'`, `'revoked-all'`, `'api-key-created'`, `'api-key-revoked'`, `'session-limit'`, and the dashboard's `'admin-*'` audit trail. */
  readonly kind: string;
  readonly userId: string | null;
  /** The kind of the session it is about (`'session'`, `'refresh'`...), or `null`. */
  readonly sessionKind: string | null;
  readonly handle: string | null;
  readonly ip: string | null;
  /** One line for people. */
  readonly detail: string;
}
