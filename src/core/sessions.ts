/**
 * The session engine: create, validate, touch, rotate, patch, revoke and list
 * sessions over a `Store`. It knows nothing about HTTP; adapters feed it
 * tokens and client context.
 *
 * This file is the engine's face: each method hands its work to a file of
 * its own under `engine/` (options and their normalisation in
 * `engine/options.ts`, the validation pipeline in `engine/validate.ts`,
 * rotation, renewal, expiry, sign-in limits, sweeping, refusals, the
 * cache's subscription).
 *
 * @module
 */
import { durationOption } from './duration.js';
import { registerEngine } from './engine-internals.js';
import { LatchkeyTypeError } from './errors.js';
import { isFresh } from './policy.js';
import type { Sessions } from './engine/api.js';
import { create, createAs } from './engine/create.js';
import { openEngine } from './engine/engine.js';
import { get, list, patch, revoke, revokeUser } from './engine/manage.js';
import { sessionsConfig, type SessionsOptions } from './engine/options.js';
import { rotate } from './engine/rotation.js';
import { validator } from './engine/validate.js';
import { inSpan, type Telemetry } from './telemetry.js';
import { parseToken } from './token.js';

export type {
  CreateInput,
  InvalidReason,
  ListOptions,
  PatchResult,
  RevokeUserOptions,
  RotateOptions,
  RotateResult,
  Sessions,
  ValidateOptions,
  ValidateResult,
} from './engine/api.js';
export type { SessionsOptions } from './engine/options.js';

/**
 * Creates the session engine. Options are checked once, here: a bad value
 * or an unknown key (a misspelling such as `idleTimout`) throws a
 * `ConfigError` that says how to fix it.
 *
 * The engine does not close `store`: whoever opened the store closes it,
 * after closing every engine over it.
 *
 * @throws {ConfigError} for a bad option or an unknown option key
 * @example
 * ```ts
 * import { createSessions } from 'latchkey';
 * import { sqliteStore } from 'latchkey/stores/sqlite';
 *
 * const store = sqliteStore({ path: 'sessions.db' });
 * const sessions = createSessions({ store, idleTimeout: '30m' });
 * const { token } = await sessions.create({ userId: 'u1', client: { ip, userAgent } });
 * const result = await sessions.validate(token, { client: { ip, userAgent } });
 * if (result.ok) console.log(result.session.userId);
 * // at shutdown
 * await sessions.close();
 * await store.close();
 * ```
 */
export function createSessions(options: SessionsOptions): Sessions {
  const e = openEngine(sessionsConfig(options));
  const api: Sessions = {
    create: (input) => create(e, input),
    // The hot path: a closure over the engine's parts, called directly.
    validate: validator(e),
    rotate: (token, opts) => rotate(e, token, opts),
    patch: (handle, change, opts) => patch(e, handle, change, opts),
    get: (handle) => get(e, handle),
    revoke: (handle) => revoke(e, handle),
    revokeUser: (userId, opts) => revokeUser(e, userId, opts),
    list: (userId, opts) => list(e, userId, opts),
    isFresh: (session, maxAge) => isFresh(session, durationOption('maxAge', maxAge), e.clock.now()),
    throttled: (ip) => e.refusals.throttled(ip, e.clock.now()),
    on(event, listener) {
      if (typeof listener !== 'function') throw new LatchkeyTypeError('on() needs a listener function');
      return e.events.on(event, listener);
    },
    sweep: () => e.sweeper.sweep(),
    close: () => e.close(),
  };
  if (e.config.telemetry !== null) traced(api, e.config.telemetry);
  // What token mode reads of the engine (tombstones, store, clock), kept out of its public type; the store itself, for its invalidations.
  registerEngine(api, {
    store: e.config.store,
    kind: e.config.kind,
    clock: e.clock,
    storeTimeoutMs: e.config.storeTimeoutMs,
    telemetry: e.config.telemetry,
    readRecord: (handle) => e.gate.call(() => e.store.get(handle)),
    createAs: (input, given) => createAs(e, input, given),
    emit: (name, event) => e.events.emit(name, event),
    brake: (options) => e.brake(options),
    reportError: (error) => e.config.onError(error),
  });
  return api;
}

/** The handle of a token as an attribute (the secret part never), or none for a malformed token. */
function handleOf(token: unknown): Record<string, string> {
  const parsed = parseToken(token);
  return parsed === null ? {} : { 'latchkey.session.handle': parsed.handle };
}

/**
 * With the `telemetry` option: the operations that decide about a session,
 * each in a span (the store calls inside it are its children), and every
 * validation counted by result. Only built when the option is given, so
 * that without it `validate` stays the engine's own function.
 */
function traced(api: Sessions, t: Telemetry): void {
  const { create: create0, validate, rotate: rotate0, revoke: revoke0, revokeUser: revokeUser0 } = api;
  const count = (result: string): void => t.validations.add(1, { 'latchkey.result': result });
  api.validate = (token, options) =>
    inSpan(
      t,
      'latchkey.validate',
      handleOf(token),
      () =>
        validate(token, options).catch((err: unknown) => {
          count('error');
          throw err;
        }),
      (span, r) => {
        const result = r.ok ? 'ok' : r.reason;
        span.setAttribute('latchkey.result', result);
        if (r.ok && r.renewed !== undefined) span.setAttribute('latchkey.session.successor', r.session.handle);
        count(result);
      },
    );
  api.create = (input) => inSpan(t, 'latchkey.create', {}, () => create0(input), (span, r) => span.setAttribute('latchkey.session.handle', r.session.handle));
  api.rotate = (token, options) =>
    inSpan(t, 'latchkey.rotate', handleOf(token), () => rotate0(token, options), (span, r) => {
      span.setAttribute('latchkey.result', r.ok ? 'ok' : r.reason);
      if (r.ok) span.setAttribute('latchkey.session.successor', r.session.handle);
    });
  api.revoke = (handle) =>
    inSpan(t, 'latchkey.revoke', { 'latchkey.session.handle': String(handle) }, () => revoke0(handle), (span, done) => span.setAttribute('latchkey.result', done ? 'revoked' : 'not-found'));
  api.revokeUser = (userId, options) =>
    inSpan(t, 'latchkey.revokeUser', {}, () => revokeUser0(userId, options), (span, handles) => span.setAttribute('latchkey.revoked', handles.length));
}
