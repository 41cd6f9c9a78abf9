/**
 * The records the engine writes: a new session record with a fresh token
 * (or a given successor), and the client it records from a request's
 * client information.
 *
 * @module
 * @internal
 */
import { parseUserAgent } from '../device.js';
import { ipBytes } from '../ip.js';
import type { ClientInfo, ClientRecord, SessionData, SessionRecord } from '../model.js';
import { nextIdleDeadline, type TimeoutPolicy } from '../policy.js';
import { hashSecret, mintToken } from '../token.js';
import { LatchkeyTypeError } from '../errors.js';

/** Empty session data, shared. */
export const EMPTY: SessionData = Object.freeze({});

/** Longest user agent recorded, in characters. */
const MAX_UA = 512;
/** Distinct user agents kept as one shared copy each. */
const MAX_SHARED_UA = 1000;

/** What a new record takes from its caller; the rest is minted or derived. */
export interface RecordBase {
  /** The engine's kind (a rotation or renewal keeps the record's, which is the same). */
  readonly kind: string;
  readonly userId: string | null;
  readonly createdAt: number;
  readonly authTime: number | null;
  readonly authLevel: number;
  readonly data: SessionData;
  readonly client: ClientRecord | null;
}

/**
 * A new active record issued at `now`, with a fresh token, or with `given`
 * (a refresh rotation's derived successor). Its absolute deadline runs from
 * `base.createdAt`: a rotation keeps the session's lifetime.
 */
export function newRecord(
  timeouts: TimeoutPolicy,
  base: RecordBase,
  now: number,
  given?: { readonly handle: string; readonly secret: string },
): { token: string; record: SessionRecord } {
  const minted =
    given === undefined ? mintToken() : { token: `${given.handle}.${given.secret}`, handle: given.handle, secretHash: hashSecret(given.secret) };
  const absoluteExpiresAt = base.createdAt + timeouts.absoluteMs;
  const idleExpiresAt = nextIdleDeadline(timeouts, absoluteExpiresAt, now);
  return {
    token: minted.token,
    record: {
      handle: minted.handle,
      secretHash: minted.secretHash,
      kind: base.kind,
      userId: base.userId,
      status: 'active',
      successor: null,
      createdAt: base.createdAt,
      issuedAt: now,
      lastSeenAt: now,
      authTime: base.authTime,
      authLevel: base.authLevel,
      idleExpiresAt,
      absoluteExpiresAt,
      expiresAt: Math.min(idleExpiresAt, absoluteExpiresAt),
      version: 1,
      data: base.data,
      client: base.client,
    },
  };
}

/** @internal */
export class ClientRecords {
  /** Many sessions share a few user agents: one copy of each is kept. */
  readonly #userAgents = new Map<string, string>();

  /** The client a session records: a valid IP, a bounded user agent and its device, or `null` when nothing is known. */
  of(client: ClientInfo | undefined): ClientRecord | null {
    if (client === undefined || client === null) return null;
    if (typeof client !== 'object') throw new LatchkeyTypeError('client must be an object { ip?, userAgent? }');
    const ip = typeof client.ip === 'string' && ipBytes(client.ip) !== null ? client.ip : null;
    let ua: string | null = typeof client.userAgent === 'string' && client.userAgent !== '' ? client.userAgent.slice(0, MAX_UA) : null;
    if (ua !== null) {
      const known = this.#userAgents.get(ua);
      if (known !== undefined) ua = known;
      else if (this.#userAgents.size < MAX_SHARED_UA) this.#userAgents.set(ua, ua);
    }
    if (ip === null && ua === null) return null;
    return { ip, userAgent: ua, device: parseUserAgent(ua) };
  }
}
