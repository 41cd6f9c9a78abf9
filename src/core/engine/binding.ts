/**
 * Client binding at validation: a request whose client differs from the
 * one the session was created for (`bindingMismatch` in core/policy.ts)
 * raises an `anomaly` event, and the configured action refuses the request
 * (`'reauth'`), revokes the session too (`'revoke'`), or lets it through
 * (`'log'`).
 *
 * @module
 * @internal
 */
import type { ClientInfo, SessionRecord } from '../model.js';
import type { BindingAction } from '../policy.js';
import type { Engine } from './engine.js';

/**
 * Reports a mismatch of `attribute` found by `bindingMismatch` and applies
 * `action`; resolves whether the request is refused. (Finding it stays on
 * the caller's synchronous path: a matching client costs no await.)
 */
export async function onBindingMismatch(
  e: Engine,
  action: Exclude<BindingAction, 'ignore'>,
  record: SessionRecord,
  attribute: 'user-agent' | 'ip',
  client: ClientInfo | undefined,
  now: number,
): Promise<boolean> {
  e.events.emit('anomaly', {
    kind: 'binding-mismatch',
    handle: record.handle,
    userId: record.userId,
    attribute,
    action,
    ip: typeof client?.ip === 'string' ? client.ip : null,
    at: now,
  });
  if (action === 'revoke') {
    const revoked = await e.gate.call(() => e.store.revoke(record.handle, now + e.config.retentionMs)).finally(() => e.gate.forget(record.handle));
    if (revoked) e.events.emit('revoked', { handle: record.handle, userId: record.userId, cause: 'binding', at: now });
  }
  return action !== 'log';
}
