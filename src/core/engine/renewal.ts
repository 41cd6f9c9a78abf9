/**
 * Automatic token renewal (`renewal`): a token due by `needsRenewal`
 * (core/policy.ts) is replaced at validation, and the replaced record stays
 * a `'rotated'` tombstone that stands for its successor during `overlap`,
 * so that requests already in flight with the old token are not logged out.
 *
 * @module
 * @internal
 */
import type { SessionRecord } from '../model.js';
import { toSession } from '../model.js';
import type { RenewalPolicy } from '../policy.js';
import type { ValidateResult } from './api.js';
import type { Engine } from './engine.js';
import { newRecord } from './records.js';

/** What a verified tombstone stands for: its active successor inside a renewal overlap, otherwise a revoked token. */
export type Successor = { readonly ok: true; readonly record: SessionRecord; readonly viaOverlap: true } | { readonly ok: false; readonly reason: 'revoked' };

/** A verified tombstone: inside a renewal overlap it stands for its successor, otherwise it is revoked. */
export async function successorOf(e: Engine, record: SessionRecord, now: number): Promise<Successor> {
  if (record.status === 'rotated' && record.successor !== null && now < record.expiresAt) {
    const successor = record.successor;
    const next = await e.gate.call(() => e.store.get(successor));
    if (next !== null && next.status === 'active') return { ok: true, record: next, viaOverlap: true };
  }
  return { ok: false, reason: 'revoked' };
}

/** Replaces a record due for renewal; resolves `validate()`'s answer, with the new token when this call renewed it. */
export async function renew(e: Engine, record: SessionRecord, renewal: RenewalPolicy, now: number): Promise<ValidateResult> {
  const { token, record: next } = newRecord(e.config.timeouts, record, now);
  const replaced = await e.gate
    .call(() => e.store.replace(record.handle, record.version, next, { status: 'rotated', successor: next.handle, expiresAt: now + renewal.overlapMs }))
    .finally(() => e.gate.forget(record.handle));
  if (replaced) {
    e.events.emit('rotated', { from: record.handle, to: next.handle, userId: record.userId, cause: 'renewal', at: now });
    return { ok: true, session: toSession(next), renewed: { token } };
  }
  // Another request renewed (or changed) it first: answer with whatever the store now holds.
  const current = await e.gate.call(() => e.store.get(record.handle));
  if (current === null) return { ok: false, reason: 'revoked' };
  if (current.status === 'active') return { ok: true, session: toSession(current) };
  const found = await successorOf(e, current, now);
  return found.ok ? { ok: true, session: toSession(found.record) } : found;
}
