/**
 * `create()`: a new session with a fresh, server-made token (never one a
 * caller chose: no fixation), after the sign-in checks when it has a user.
 *
 * @module
 * @internal
 */
import { authLevelArg, normaliseData, userIdArg } from '../arguments.js';
import { LatchkeyTypeError, StoreUnavailableError } from '../errors.js';
import type { Session } from '../model.js';
import { toSession } from '../model.js';
import type { CreateInput } from './api.js';
import type { Engine } from './engine.js';
import { EMPTY, newRecord } from './records.js';
import { beforeSignIn } from './sign-in.js';

/** Creates and stores a session; resolves its token (for the client) and the session. */
export async function create(e: Engine, input: CreateInput = {}): Promise<{ token: string; session: Session }> {
  if (input === null || typeof input !== 'object') throw new LatchkeyTypeError('create() takes an object { userId?, data?, client?, authLevel? }');
  const userId = userIdArg(input.userId);
  const data = input.data === undefined ? EMPTY : normaliseData(input.data, e.config.maxDataBytes);
  const authLevel = authLevelArg(input.authLevel ?? 0);
  const client = e.clients.of(input.client);
  const now = e.clock.now();
  const newDevice = userId !== null ? await beforeSignIn(e, userId, client, now, null) : false;
  for (let attempt = 0; ; attempt++) {
    const { token, record } = newRecord(e.config.timeouts, { kind: e.config.kind, userId, createdAt: now, authTime: userId !== null ? now : null, authLevel, data, client }, now);
    if (await e.gate.call(() => e.store.create(record))) {
      e.events.emit('created', { handle: record.handle, userId, client, at: now });
      if (newDevice && userId !== null && client !== null) e.events.emit('new-device', { handle: record.handle, userId, client, at: now });
      return { token, session: toSession(record) };
    }
    // A 128-bit handle collision means a broken random source: never retry forever.
    if (attempt >= 2) throw new StoreUnavailableError('the store refused three fresh handles; is create() atomic?');
  }
}
