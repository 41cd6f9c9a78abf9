/**
 * The Redis store's operations on records, each ONE script on a standalone
 * server (Sentinel alike), where a script may reach a record and its user
 * index at once, and the steps of cluster.ts on a Cluster. Invalidations and
 * error mapping are the caller's (index.ts).
 *
 * @module
 * @internal
 */
import type { SessionRecord } from '../../core/model.js';
import type { DataPatch, StorePatchResult, Tombstone } from '../../core/store.js';
import { clusterCreate, clusterReplace, clusterUser, indexOp } from './cluster.js';
import { dataOf, decode, encode, indexScore, patchArgs, split } from './codec.js';
import type { RedisContext } from './keys.js';

export async function getRecord(x: RedisContext, handle: string): Promise<SessionRecord | null> {
  const value = await x.client.getBuffer(x.rk(handle));
  return value === null ? null : decode(handle, value);
}

export async function createRecord(x: RedisContext, record: SessionRecord): Promise<boolean> {
  const score = indexScore(record);
  const value = encode(record);
  if (!x.atomic && record.userId !== null) return clusterCreate(x, record, record.userId, score, value);
  const keys = x.atomic && record.userId !== null ? [x.rk(record.handle), x.ix(record.userId)] : [x.rk(record.handle)];
  return (await x.cmd.latchkeyCreate(keys.length, ...keys, x.clock.now(), record.expiresAt, score, record.handle, value)) === 1;
}

export async function touchRecord(x: RedisContext, handle: string, lastSeenAt: number, idleExpiresAt: number, expiresAt: number): Promise<boolean> {
  const r = await x.cmd.latchkeyTouch(1, x.rk(handle), x.clock.now(), lastSeenAt, idleExpiresAt, expiresAt, x.flag, x.prefix, handle);
  // Cluster, and only if the caller extended past the absolute deadline: raise the index too.
  if (typeof r === 'string') await indexOp(x, r, handle, expiresAt, '');
  return r !== 0;
}

export async function patchRecord(x: RedisContext, handle: string, change: DataPatch, now: number, expectVersion: number | undefined): Promise<StorePatchResult> {
  const { sets, unsets } = patchArgs(change);
  const expect = expectVersion === undefined ? '' : expectVersion;
  const r = await x.cmd.latchkeyPatchBuffer(1, x.rk(handle), now, expect, sets.length / 2, ...sets, ...unsets);
  if (r === 0) return { ok: false, reason: 'not-found' };
  if (r === -1) return { ok: false, reason: 'conflict' };
  const [version, value] = r as [number, Buffer];
  return { ok: true, version: Number(version), data: dataOf(split(value)) };
}

export async function replaceRecord(x: RedisContext, oldHandle: string, expectVersion: number, next: SessionRecord, t: Tombstone): Promise<boolean> {
  const score = indexScore(next);
  const value = encode(next);
  if (!x.atomic) return clusterReplace(x, oldHandle, expectVersion, next, t, score, value);
  const keys = next.userId !== null ? [x.rk(oldHandle), x.rk(next.handle), x.ix(next.userId)] : [x.rk(oldHandle), x.rk(next.handle)];
  const r = await x.cmd.latchkeyReplace(
    keys.length,
    ...keys,
    x.clock.now(),
    expectVersion,
    t.status,
    t.successor ?? '',
    t.expiresAt,
    x.prefix,
    oldHandle,
    next.handle,
    next.expiresAt,
    score,
    value,
  );
  return r === 1;
}

export async function revokeRecord(x: RedisContext, handle: string, until: number): Promise<boolean> {
  const u = await x.cmd.latchkeyEntomb(1, x.rk(handle), x.clock.now(), 'revoked', '', until, '', '', x.flag, x.prefix, handle);
  if (typeof u !== 'string') return false;
  if (!x.atomic && u !== '') await indexOp(x, u, '', 0, handle);
  return true;
}

/** Deletes a record (with `before`, only if its `expiresAt` is not after it: the sweep's check). */
export async function deleteRecord(x: RedisContext, handle: string, before: number | '' = ''): Promise<boolean> {
  const u = await x.cmd.latchkeyDelete(1, x.rk(handle), x.clock.now(), x.flag, x.prefix, handle, before);
  if (typeof u !== 'string') return false;
  if (!x.atomic && u !== '') await indexOp(x, u, '', 0, handle);
  return true;
}

export async function revokeUserRecords(x: RedisContext, userId: string, until: number, except: string | undefined, kinds: readonly string[] | undefined): Promise<string[]> {
  const only = kindList(kinds);
  if (!x.atomic) return (await clusterUser(x, userId, until, except, only)) as string[];
  return (await x.cmd.latchkeyUser(1, x.ix(userId), x.clock.now(), x.prefix, userId, until, except ?? '', only)) as string[];
}

/** A kinds filter as the scripts take it: `''` for every kind, else `,a,b,`. */
function kindList(kinds: readonly string[] | undefined): string {
  return kinds === undefined ? '' : `,${kinds.join(',')},`;
}

export async function listUserRecords(x: RedisContext, userId: string): Promise<SessionRecord[]> {
  let records: SessionRecord[];
  if (!x.atomic) records = (await clusterUser(x, userId, null, undefined, '')) as SessionRecord[];
  else {
    const flat = (await x.cmd.latchkeyUserBuffer(1, x.ix(userId), x.clock.now(), x.prefix, userId, '', '')) as Buffer[];
    records = [];
    for (let i = 0; i < flat.length; i += 2) records.push(decode(String(flat[i]), flat[i + 1] as Buffer));
  }
  return records.sort((a, b) => a.createdAt - b.createdAt || a.issuedAt - b.issuedAt);
}
