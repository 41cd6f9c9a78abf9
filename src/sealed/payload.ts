/**
 * What a sealed blob carries: the session model as a compact JSON array.
 * Internal: the layout may change with the blob version.
 *
 * @module
 */
import { fromUtf8 } from '#primitives';
import type { Session, SessionData } from '../core/model.js';

/**
 * A session as sealed mode knows it: the shared {@link Session} model plus
 * the user's revocation epoch it was sealed under.
 */
export interface SealedSession extends Session {
  /** The user's revocation epoch when this session was last sealed (0 without a store). */
  readonly userEpoch: number;
}

/** The `kind` of every sealed session: it lives in its cookie, not in a store record. */
export const SEALED_KIND = 'sealed';

/** @internal the decoded payload: a session and, when its data was spilled, the store handle holding it */
export interface Payload {
  readonly session: SealedSession;
  readonly spill: string | null;
}

/**
 * Positions in the payload array (version 1). An array parses about a third
 * faster than an object with the same fields, and deadlines written as
 * offsets from `createdAt` take fewer digits.
 */
const SID = 0;
const USER = 1;
const CREATED = 2;
const ISSUED = 3;
const SEEN = 4;
const AUTH = 5;
const LEVEL = 6;
const IDLE = 7;
const ABSOLUTE = 8;
const VERSION = 9;
const EPOCH = 10;
const DATA = 11;
const SPILL = 12;

/** @internal */
export function encodePayload(s: SealedSession, spill: string | null): string {
  const c = s.createdAt;
  const wire: unknown[] = [
    s.handle,
    s.userId,
    c,
    s.issuedAt - c,
    s.lastSeenAt - c,
    s.authTime === null ? null : s.authTime - c,
    s.authLevel,
    s.idleExpiresAt - c,
    s.absoluteExpiresAt - c,
    s.version,
    s.userEpoch,
    spill === null ? s.data : EMPTY,
  ];
  if (spill !== null) wire.push(spill);
  return JSON.stringify(wire);
}

/** @internal the payload, or `null` when the plaintext is not one (never throws) */
export function decodePayload(plaintext: Uint8Array): Payload | null {
  let w: unknown;
  try {
    w = JSON.parse(fromUtf8(plaintext));
  } catch {
    return null;
  }
  if (!Array.isArray(w) || (w.length !== 12 && w.length !== 13)) return null;
  const sid: unknown = w[SID];
  const user: unknown = w[USER];
  const c: unknown = w[CREATED];
  const auth: unknown = w[AUTH];
  const data: unknown = w[DATA];
  const spill: unknown = w[SPILL];
  if (
    typeof sid !== 'string' ||
    (user !== null && typeof user !== 'string') ||
    !isTime(c) ||
    !isOffset(w[ISSUED]) ||
    !isOffset(w[SEEN]) ||
    (auth !== null && !isOffset(auth)) ||
    !isTime(w[LEVEL]) ||
    !isOffset(w[IDLE]) ||
    !isOffset(w[ABSOLUTE]) ||
    !isTime(w[VERSION]) ||
    !isTime(w[EPOCH]) ||
    data === null ||
    typeof data !== 'object' ||
    Array.isArray(data) ||
    (w.length === 13 && typeof spill !== 'string')
  ) {
    return null;
  }
  return {
    session: {
      handle: sid,
      kind: SEALED_KIND,
      userId: user,
      createdAt: c,
      issuedAt: c + (w[ISSUED] as number),
      lastSeenAt: c + (w[SEEN] as number),
      authTime: auth === null ? null : c + auth,
      authLevel: w[LEVEL] as number,
      idleExpiresAt: c + (w[IDLE] as number),
      absoluteExpiresAt: c + (w[ABSOLUTE] as number),
      version: w[VERSION] as number,
      userEpoch: w[EPOCH] as number,
      data: data as SessionData,
      client: null,
    },
    spill: typeof spill === 'string' ? spill : null,
  };
}

/** An offset from `createdAt` in ms; may be negative (e.g. an authentication just before creation). */
function isOffset(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

const EMPTY: SessionData = Object.freeze({});
