/**
 * The events of device-bound credentials: a browser session bound to a key
 * (DBSC) and a proof of possession refused (DBSC or DPoP). Like every
 * latchkey event they carry handles and key thumbprints, never a secret, a
 * cookie, a token or a proof, so they are safe to log.
 *
 * These are the shapes the engine's `device-bound` event and `anomaly` of
 * kind `bound-proof-failed` take once the protocol cores are wired in.
 *
 * @module
 */

/** A session registered a device key (DBSC): from now on it needs the short-lived bound cookie. */
export interface DeviceBoundEvent {
  /** The session's handle (public, safe to log). */
  readonly handle: string;
  readonly userId: string | null;
  /** The protocol that bound it. */
  readonly protocol: 'dbsc';
  /** The DBSC session identifier the browser knows the binding by (random, not a secret). */
  readonly sessionIdentifier: string;
  /** The algorithm of the device key. */
  readonly alg: string;
  /** RFC 7638 SHA-256 thumbprint of the device key. */
  readonly jkt: string;
  /** ms since epoch. */
  readonly at: number;
}

/**
 * Why a proof of possession was refused, where a genuine client would not
 * have been: a signature that does not verify with the bound key, a proof
 * of another key or of another session's challenge, a malformed proof. The
 * ordinary refusals of an honest client (a stale or already used challenge,
 * which Chrome produces when it re-sends a cached proof; a missing nonce)
 * are not anomalies and emit nothing.
 */
export type BoundProofFailure =
  | 'malformed'
  | 'wrong-type'
  | 'algorithm-not-allowed'
  | 'invalid-key'
  | 'bad-signature'
  | 'invalid-claims'
  | 'foreign-challenge'
  | 'authorization-mismatch'
  | 'key-mismatch'
  | 'second-key';

/** An `anomaly` of kind `bound-proof-failed`: a proof of possession was refused. */
export interface BoundProofFailedEvent {
  readonly kind: 'bound-proof-failed';
  /** `'dbsc'` for a browser session's registration or refresh, `'dpop'` for a token request. */
  readonly protocol: 'dbsc' | 'dpop';
  /** The session (or refresh family) the proof was presented for, when known. */
  readonly handle: string | null;
  readonly userId: string | null;
  readonly reason: BoundProofFailure;
  /** The client (IP), as the HTTP layer resolved it, or `null`. */
  readonly ip: string | null;
  /** ms since epoch. */
  readonly at: number;
}
