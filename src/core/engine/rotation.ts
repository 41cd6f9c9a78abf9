/**
 * `rotate()`: a new token for a session and the old one dead at once, in
 * one atomic `Store.replace`. A sign-in (`userId`) starts a new lifetime and
 * never carries one user's data to another; `revokeOthers` ends every other
 * session of the user (a password change); a `successor` given by
 * `latchkey/tokens` replaces the fresh random token (refresh rotation).
 *
 * @module
 * @internal
 */
import { authLevelArg, userIdArg } from '../arguments.js';
import type { SessionRecord } from '../model.js';
import { toSession } from '../model.js';
import { expiryOf } from '../policy.js';
import { parseToken, secretMatches } from '../token.js';
import type { InvalidReason, RotateOptions, RotateResult } from './api.js';
import type { Engine } from './engine.js';
import { expire } from './expiry.js';
import { revokeUser } from './manage.js';
import { EMPTY, newRecord } from './records.js';
import { successorOf } from './renewal.js';
import { beforeSignIn } from './sign-in.js';
import { LatchkeyTypeError } from '../errors.js';

type Resolved = { ok: true; record: SessionRecord; viaOverlap: boolean } | { ok: false; reason: InvalidReason };

/**
 * The record a token stands for, read from the store (never the cache: a
 * rotation writes, and must start from the store's copy): its secret
 * verified, through a renewal overlap, and of this engine's kind.
 */
async function resolve(e: Engine, token: unknown, now: number): Promise<Resolved> {
  const parsed = parseToken(token);
  if (parsed === null) return { ok: false, reason: 'malformed' };
  const record = await e.gate.call(() => e.store.get(parsed.handle));
  if (record === null || !secretMatches(parsed.secret, record.secretHash)) return { ok: false, reason: 'unknown' };
  const found = record.status === 'active' ? ({ ok: true, record, viaOverlap: false } as const) : await successorOf(e, record, now);
  // Another engine's record: unknown here, and left exactly as it is.
  return found.ok && found.record.kind !== e.config.kind ? { ok: false, reason: 'unknown' } : found;
}

/** Issues a new token for the session of `token` and kills the old one at once. */
export async function rotate(e: Engine, token: unknown, opts: RotateOptions = {}): Promise<RotateResult> {
  if (opts === null || typeof opts !== 'object') throw new LatchkeyTypeError('rotate() options must be an object');
  const { config } = e;
  const now = e.clock.now();
  const found = await resolve(e, token, now);
  if (!found.ok) return found;
  const given = opts.successor;
  if (given !== undefined) {
    if (given === null || typeof given !== 'object' || parseToken(`${given.handle}.${given.secret}`) === null) {
      throw new LatchkeyTypeError('rotate() successor must be { handle, secret } in the latchkey token format');
    }
    // A derived successor belongs to the presented token's own record, never to the one an overlap leads to.
    if (found.viaOverlap) return { ok: false, reason: 'conflict' };
  }
  const old = found.record;
  const expiry = expiryOf(old, now);
  if (expiry !== null) {
    await expire(e, old, expiry, now);
    return { ok: false, reason: expiry };
  }
  const signsIn = opts.userId !== undefined;
  const userId = signsIn ? userIdArg(opts.userId) : old.userId;
  const authLevel = opts.authLevel !== undefined ? authLevelArg(opts.authLevel) : signsIn && userId === null ? 0 : old.authLevel;
  const authTime = signsIn ? (userId !== null ? now : null) : opts.authenticated === true ? now : old.authTime;
  const client = opts.client !== undefined ? e.clients.of(opts.client) : old.client;
  const newDevice = signsIn && userId !== null && userId !== old.userId ? await beforeSignIn(e, userId, client, now, old.handle) : false;
  // A sign-in starts a new session lifetime; a plain rotation keeps the old deadlines.
  const createdAt = signsIn && userId !== old.userId ? now : old.createdAt;
  // Data follows an anonymous session into a sign-in (a cart), never from one user to another.
  const data = signsIn && old.userId !== null && userId !== old.userId ? EMPTY : old.data;
  const { token: newToken, record } = newRecord(config.timeouts, { kind: config.kind, userId, createdAt, authTime, authLevel, data, client }, now, given);
  const tombstone =
    given === undefined
      ? ({ status: 'revoked', successor: null, expiresAt: now + config.retentionMs } as const)
      : ({ status: 'revoked', successor: record.handle, expiresAt: old.absoluteExpiresAt } as const);
  const replaced = await e.gate.call(() => e.store.replace(old.handle, old.version, record, tombstone)).finally(() => e.gate.forget(old.handle));
  if (!replaced) return { ok: false, reason: 'conflict' };
  e.events.emit('rotated', { from: old.handle, to: record.handle, userId, cause: given === undefined ? 'manual' : 'refresh', at: now });
  if (newDevice && userId !== null && client !== null) e.events.emit('new-device', { handle: record.handle, userId, client, at: now });
  if (opts.revokeOthers === true && userId !== null) await revokeUser(e, userId, { except: record.handle });
  return { ok: true, token: newToken, session: toSession(record) };
}
