/**
 * `create()`: a new session with a fresh, server-made token (never one a
 * caller chose: no fixation), after the sign-in checks when it has a user.
 * `createAs()`, for `latchkey/migrate` only (through the engine's
 * internals): a session under a token the server derived itself, stored
 * only if its handle is free, so that concurrent hand-overs of one old
 * session agree on one new session.
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

/** What {@link createAs} takes: `create()`'s input, and the authentication time when it is not now. */
export interface GivenCreateInput extends CreateInput {
  /** When the user authenticated, if known (ms since epoch, not in the future); `null` for unknown: never fresh. @default null */
  authTime?: number | null;
}

/**
 * Creates a session under `given` (a server-derived token whose secret has
 * 256 bits of entropy; the caller vouches for it), or resolves `null`,
 * changing nothing, when a record with that handle exists: of several
 * concurrent calls with one token, exactly one stores it (the store's
 * atomic `create`). The session limit never counts or evicts the given
 * handle itself, so that a call that loses the race cannot evict the
 * session the winner just stored.
 */
export async function createAs(e: Engine, input: GivenCreateInput, given: { readonly handle: string; readonly secret: string }): Promise<{ token: string; session: Session } | null> {
  const userId = userIdArg(input.userId);
  const data = input.data === undefined ? EMPTY : normaliseData(input.data, e.config.maxDataBytes);
  const authLevel = authLevelArg(input.authLevel ?? 0);
  const client = e.clients.of(input.client);
  const now = e.clock.now();
  const authTime = userId === null ? null : (input.authTime ?? null);
  if (authTime !== null && (!Number.isSafeInteger(authTime) || authTime < 0 || authTime > now)) {
    throw new LatchkeyTypeError('authTime must be a time in ms since the epoch, not in the future, or null');
  }
  if (await e.gate.call(() => e.store.get(given.handle))) return null;
  const newDevice = userId !== null ? await beforeSignIn(e, userId, client, now, given.handle) : false;
  const { token, record } = newRecord(e.config.timeouts, { kind: e.config.kind, userId, createdAt: now, authTime, authLevel, data, client }, now, given);
  if (!(await e.gate.call(() => e.store.create(record)))) return null;
  e.events.emit('created', { handle: record.handle, userId, client, at: now });
  if (newDevice && userId !== null && client !== null) e.events.emit('new-device', { handle: record.handle, userId, client, at: now });
  return { token, session: toSession(record) };
}
