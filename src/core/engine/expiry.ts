/**
 * What the engine writes when a session's deadlines pass or slide: a
 * session past a deadline is deleted (and an `expired` event says which
 * one); a session in use has its idle deadline moved forward, at most once
 * per `touchInterval` (the policy is `needsTouch` in core/policy.ts).
 *
 * @module
 * @internal
 */
import type { SessionRecord } from '../model.js';
import type { ExpiryVerdict } from '../policy.js';
import type { Engine } from './engine.js';

/** Deletes a record past one of its deadlines and reports it. */
export async function expire(e: Engine, record: SessionRecord, kind: Exclude<ExpiryVerdict, null>, now: number): Promise<void> {
  const deleted = await e.gate.call(() => e.store.delete(record.handle)).finally(() => e.gate.forget(record.handle));
  if (deleted) {
    e.events.emit('expired', { handle: record.handle, userId: record.userId, kind: kind === 'expired-idle' ? 'idle' : 'absolute', at: now });
  }
}

/**
 * Moves an active record's idle deadline to `idleExpiresAt` (seen at `now`),
 * in the store and in the cache. Resolves `false` when the store no longer
 * holds the record active; the cache then forgets it.
 */
export async function touch(e: Engine, record: SessionRecord, idleExpiresAt: number, now: number): Promise<boolean> {
  const expiresAt = Math.min(idleExpiresAt, record.absoluteExpiresAt);
  const done = await e.gate.call(() => e.store.touch(record.handle, now, idleExpiresAt, expiresAt));
  if (e.cache !== null) {
    if (done) e.cache.touched(record.handle, now, idleExpiresAt, expiresAt);
    else e.cache.drop(record.handle);
  }
  return done;
}
