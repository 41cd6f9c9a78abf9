/**
 * What the Redis store does differently on a Cluster, where one script
 * reaches one slot only: a record lives in its handle's slot, an index in its
 * user's, so that record and index are written in two steps, in an order
 * that never hides a live record (index first, record second on create;
 * record first, index second on revoke and delete), and a user's sessions
 * are listed or revoked one record at a time, pruning index members whose
 * record is gone or no longer active.
 *
 * @module
 * @internal
 */
import type { SessionRecord } from '../../core/model.js';
import type { Tombstone } from '../../core/store.js';
import { decode } from './codec.js';
import type { RedisContext } from './keys.js';
import type { Reply } from './scripts.js';

/** Index write, prune and add/drop in one script on the index slot. */
export function indexOp(x: RedisContext, userId: string, add: string, score: number, drop: string): Promise<Reply> {
  return x.cmd.latchkeyIndex(2, x.ix(userId), x.pk(userId), x.clock.now(), add, add === '' ? '' : score, drop);
}

/** Creates a record of a user: the index first, so that it never misses a live record. */
export async function clusterCreate(x: RedisContext, record: SessionRecord, userId: string, score: number, value: Buffer): Promise<boolean> {
  const added = (await indexOp(x, userId, record.handle, score, '')) === 1;
  const created = (await x.cmd.latchkeyCreate(1, x.rk(record.handle), x.clock.now(), record.expiresAt, score, record.handle, value)) === 1;
  if (!created && added) await indexOp(x, userId, '', 0, record.handle);
  return created;
}

/**
 * A rotation in steps. The old record's update is the one atomic step that
 * decides which of concurrent rotations wins; a process that dies after it
 * leaves the user signed out, never two live tokens.
 */
export async function clusterReplace(
  x: RedisContext,
  oldHandle: string,
  expectVersion: number,
  next: SessionRecord,
  t: Tombstone,
  score: number,
  value: Buffer,
): Promise<boolean> {
  const now = x.clock.now();
  // 1. The old record.
  const u = await x.cmd.latchkeyEntomb(1, x.rk(oldHandle), now, t.status, t.successor ?? '', t.expiresAt, expectVersion, '', '0', x.prefix, oldHandle);
  if (typeof u !== 'string') return false;
  const oldUser = u === '' ? null : u;
  // 2. The new record's index (dropping the old handle in the same step when the user stays), 3. the new record.
  const sameUser = oldUser !== null && oldUser === next.userId;
  if (next.userId !== null) await indexOp(x, next.userId, next.handle, score, sameUser ? oldHandle : '');
  const created = x.cmd.latchkeyCreate(1, x.rk(next.handle), now, next.expiresAt, score, next.handle, value);
  const dropped = oldUser !== null && !sameUser ? indexOp(x, oldUser, '', 0, oldHandle) : null;
  const [ok] = await Promise.all([created, dropped]);
  return ok === 1;
}

/**
 * A user's active records (`until` null), or the handles it revoked with
 * that `until` (each record atomically, not all at once: a session created
 * meanwhile may survive), of `kinds` only (`''`: every kind). Either way,
 * members found dead are pruned.
 */
export async function clusterUser(
  x: RedisContext,
  userId: string,
  until: number | null,
  except: string | undefined,
  kinds: string,
): Promise<SessionRecord[] | string[]> {
  const members = (await x.client.zrange(x.ix(userId), '0', '-1')).filter((h) => h !== except);
  const dead: string[] = [];
  const missing: string[] = [];
  let out: SessionRecord[] | string[];
  if (until === null) {
    const values = await Promise.all(members.map((h) => x.client.getBuffer(x.rk(h))));
    const records: SessionRecord[] = [];
    members.forEach((h, i) => {
      const v = values[i];
      const r = v === null || v === undefined ? null : decode(h, v);
      if (r === null) missing.push(h);
      else if (r.status !== 'active' || r.userId !== userId) dead.push(h);
      else records.push(r);
    });
    out = records;
  } else {
    const now = x.clock.now();
    const replies = await Promise.all(
      members.map((h) => x.cmd.latchkeyEntomb(1, x.rk(h), now, 'revoked', '', until, '', userId, '0', x.prefix, h, kinds)),
    );
    const revoked = members.filter((_, i) => typeof replies[i] === 'string');
    dead.push(...revoked);
    // A record of another kind was left alone: only a member whose record is gone (or another user's) may be pruned.
    if (kinds === '') missing.push(...members.filter((_, i) => typeof replies[i] !== 'string'));
    out = revoked;
  }
  if (dead.length + missing.length > 0) {
    await x.cmd.latchkeyPrune(2, x.ix(userId), x.pk(userId), x.clock.now(), dead.length, ...dead, ...missing);
  }
  return out;
}
