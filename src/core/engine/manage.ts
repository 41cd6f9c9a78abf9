/**
 * The calls by handle or by user: `get`, `patch`, `revoke`, `revokeUser`
 * and `list`. They are the operator's (a "your devices" page, an admin, a
 * password change), so they reach records of every kind: by handle always,
 * by user unless given `kinds` ("log out everywhere" ends a user's token
 * families too). Every write drops what it changed from every cache of the
 * store in this process.
 *
 * @module
 * @internal
 */
import { normalisePatch, userIdArg } from '../arguments.js';
import { parseUserAgent } from '../device.js';
import type { DeviceSession, Session } from '../model.js';
import { DEVICE_BINDING_KEY, toSession } from '../model.js';
import { expiryOf } from '../policy.js';
import type { DataPatch } from '../store.js';
import { isHandle } from '../token.js';
import type { ListOptions, PatchResult, RevokeUserOptions } from './api.js';
import { kindsArg } from '../kinds.js';
import type { Engine } from './engine.js';
import { LatchkeyTypeError } from '../errors.js';

/** The active session with this handle, or `null`. Does not touch it. */
export async function get(e: Engine, handle: string): Promise<Session | null> {
  if (!isHandle(handle)) return null;
  const record = await e.gate.call(() => e.store.get(handle));
  if (record === null || record.status !== 'active' || expiryOf(record, e.clock.now()) !== null) return null;
  return toSession(record);
}

/** Sets and removes data keys, leaving every other key as the store holds it; compare-and-set with `expectVersion`. */
export async function patch(e: Engine, handle: string, change: DataPatch, opts?: { expectVersion?: number }): Promise<PatchResult> {
  if (!isHandle(handle)) return { ok: false, reason: 'not-found' };
  const clean = normalisePatch(change, e.config.maxDataBytes);
  const expect = opts?.expectVersion;
  if (expect !== undefined && (!Number.isSafeInteger(expect) || expect < 1)) {
    throw new LatchkeyTypeError('expectVersion must be a positive integer (a session.version)');
  }
  return e.gate.call(() => e.store.patch(handle, clean, e.clock.now(), expect)).finally(() => e.gate.forget(handle));
}

/** Revokes one session at once; resolves whether it was active. */
export async function revoke(e: Engine, handle: string): Promise<boolean> {
  if (!isHandle(handle)) return false;
  const now = e.clock.now();
  const record = await e.gate.call(() => e.store.get(handle));
  if (record === null || record.status !== 'active') return false;
  const done = await e.gate.call(() => e.store.revoke(handle, now + e.config.retentionMs)).finally(() => e.gate.forget(handle));
  if (done) e.events.emit('revoked', { handle, userId: record.userId, cause: 'revoke', at: now });
  return done;
}

/** "Log out everywhere": revokes every session of a user (of `kinds`, or of every kind) but `except`; resolves the revoked handles. */
export async function revokeUser(e: Engine, userId: string, opts?: RevokeUserOptions): Promise<string[]> {
  const id = userIdArg(userId);
  if (id === null) throw new LatchkeyTypeError('revokeUser() needs a userId');
  if (opts !== undefined && (opts === null || typeof opts !== 'object')) throw new LatchkeyTypeError('revokeUser() options must be an object { except?, kinds? }');
  const except = opts?.except;
  const kinds = kindsArg(opts?.kinds, 'revokeUser()');
  const now = e.clock.now();
  const until = now + e.config.retentionMs;
  const handles = await e.gate
    .call(() => (kinds === undefined ? e.store.revokeUser(id, until, except) : e.store.revokeUser(id, until, except, kinds)))
    .finally(() => e.gate.forgetUser(id));
  for (const handle of handles) e.events.emit('revoked', { handle, userId: id, cause: 'user', at: now });
  return handles;
}

/** A user's live sessions (of `kinds`, or of every kind), oldest first, for a "your devices" page. */
export async function list(e: Engine, userId: string, opts?: ListOptions): Promise<DeviceSession[]> {
  const id = userIdArg(userId);
  if (opts !== undefined && (opts === null || typeof opts !== 'object')) throw new LatchkeyTypeError('list() options must be an object { kinds? }');
  const kinds = kindsArg(opts?.kinds, 'list()');
  if (id === null) return [];
  const now = e.clock.now();
  const records = await e.gate.call(() => e.store.listUser(id));
  return records
    .filter((r) => r.status === 'active' && expiryOf(r, now) === null && (kinds === undefined || kinds.includes(r.kind)))
    .map((r) => ({
      handle: r.handle,
      kind: r.kind,
      createdAt: r.createdAt,
      lastSeenAt: r.lastSeenAt,
      authTime: r.authTime,
      expiresAt: Math.min(r.idleExpiresAt, r.absoluteExpiresAt),
      ip: r.client?.ip ?? null,
      userAgent: r.client?.userAgent ?? null,
      device: r.client?.device ?? parseUserAgent(null),
      deviceBound: Object.hasOwn(r.data, DEVICE_BINDING_KEY),
    }));
}
