/**
 * What a sign-in checks before its session is stored (`create()` with a
 * user, `rotate()` to another user): the user's session limit
 * (`maxSessionsPerUser`: evict the oldest, or refuse), and whether the
 * client is a device the user has no live session on (`new-device`).
 *
 * @module
 * @internal
 */
import { SessionLimitError } from '../errors.js';
import type { ClientRecord } from '../model.js';
import { expiryOf } from '../policy.js';
import type { Engine } from './engine.js';

/**
 * Makes room under the user's limit (or throws `SessionLimitError`), and
 * resolves whether a `new-device` event is due once the session is stored.
 * The user's sessions are listed only when a limit or a `new-device`
 * listener needs them, and only those of the engine's kind count (another
 * engine's sessions of the same user, such as token families next to
 * cookie sessions, are neither evicted nor a known device). `replacing`:
 * the handle a rotation is about to replace, which counts for neither.
 */
export async function beforeSignIn(e: Engine, userId: string, client: ClientRecord | null, now: number, replacing: string | null): Promise<boolean> {
  const { limit, retentionMs, kind } = e.config;
  const wantsDevice = client !== null && client.userAgent !== null && e.events.has('new-device');
  if (limit === null && !wantsDevice) return false;
  const live = (await e.gate.call(() => e.store.listUser(userId))).filter((r) => r.kind === kind && r.handle !== replacing && expiryOf(r, now) === null);
  if (limit !== null && live.length >= limit.max) {
    if (limit.onLimit === 'refuse') throw new SessionLimitError(limit.max);
    const excess = live.length - limit.max + 1;
    for (const r of live.slice(0, excess)) {
      const revoked = await e.gate.call(() => e.store.revoke(r.handle, now + retentionMs)).finally(() => e.gate.forget(r.handle));
      if (revoked) e.events.emit('revoked', { handle: r.handle, userId, cause: 'limit', at: now });
    }
  }
  return wantsDevice && !live.some((r) => r.client?.userAgent === client.userAgent);
}
