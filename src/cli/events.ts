/**
 * What the CLI's actions leave in the security-event feed: on a store that
 * keeps a shared log (Redis, PostgreSQL), a revocation or an API key made
 * with the CLI appears in the feed of every service instance on the store.
 * Never a token or a key: handles, user ids and key ids.
 *
 * @module
 * @internal
 */
import type { Store } from '../core/store.js';
import { recordEvent } from '../core/shared.js';
import type { SecurityEvent } from '../server/feed.js';
import { println, type CliIO } from './io.js';

/** Appends `event` to the store's shared log, if it keeps one; a failure is a warning, the action is done. */
export async function noteEvent(store: Store, io: CliIO, event: Omit<SecurityEvent, 'id' | 'at' | 'ip' | 'sessionKind'> & { sessionKind?: string | null }): Promise<void> {
  if (store.events === undefined) return;
  try {
    const entry: Omit<SecurityEvent, 'id'> = { at: Date.now(), ip: null, sessionKind: null, ...event };
    await recordEvent(store.events, entry);
  } catch {
    println(io.stderr, 'warning: the action is done, but the store did not record it in the security-event feed');
  }
}
