/**
 * Which backend an HTTP layer runs on: exactly one of the engine
 * (`sessions`), sealed mode (`sealed`) and the session service (`remote`),
 * checked once at construction with a `ConfigError` that says how to fix it.
 *
 * @module
 */
import type { LatchkeyClient } from '../client/types.js';
import { ConfigError } from '../core/errors.js';
import type { Sessions } from '../core/sessions.js';
import type { SealedSessions } from '../sealed/sealed-sessions.js';
import { isLatchkeyClient } from './backend-remote.js';
import type { SessionMigrator } from './migration.js';

/** @internal the options that choose the backend */
export interface ModeOptions {
  readonly sessions?: Sessions | undefined;
  readonly sealed?: SealedSessions | undefined;
  readonly remote?: LatchkeyClient | undefined;
  readonly dbsc?: unknown;
  readonly migrate?: readonly SessionMigrator[] | undefined;
}

/** @internal the chosen backend: exactly one field is not `null` */
export interface Mode {
  readonly engine: Sessions | null;
  readonly sealed: SealedSessions | null;
  readonly remote: LatchkeyClient | null;
}

/** @internal checks that exactly one backend is given, and of the right kind. */
export function chooseMode(options: ModeOptions): Mode {
  const engine = options.sessions ?? null;
  const sealed = options.sealed ?? null;
  const remote = options.remote ?? null;
  if ([engine, sealed, remote].filter((b) => b !== null).length > 1) {
    throw new ConfigError(
      'pass exactly one of sessions (stateful: createSessions({ store })), sealed (createSealedSessions({ secrets })) and remote (the session service: createClient({ baseUrl, apiKey })), not several',
    );
  }
  if (remote !== null) {
    if (!isLatchkeyClient(remote)) throw new ConfigError('remote must be the client from createClient({ baseUrl, apiKey }) (import { createClient } from "latchkey/client")');
    refuseWithRemote(options);
  }
  if (sealed === null && remote === null && (engine === null || typeof engine !== 'object' || typeof engine.validate !== 'function')) {
    throw new ConfigError(
      'sessions must be the engine from createSessions({ store }) (import { createSessions } from "latchkey"), or pass sealed: createSealedSessions({ secrets }) from "latchkey/sealed" for sealed mode, or remote: createClient({ baseUrl, apiKey }) from "latchkey/client" for sessions kept by the session service',
    );
  }
  if (sealed !== null && (typeof sealed !== 'object' || typeof sealed.open !== 'function' || typeof sealed.seal !== 'function')) {
    throw new ConfigError('sealed must come from createSealedSessions({ secrets }) (import { createSealedSessions } from "latchkey/sealed")');
  }
  return { engine, sealed, remote };
}

/** What the session service cannot do for a remote backend: said at construction, not at the first request. */
function refuseWithRemote(options: ModeOptions): void {
  if (options.dbsc !== undefined && options.dbsc !== null && options.dbsc !== false) {
    throw new ConfigError(
      'dbsc needs the engine in this process (sessions: createSessions({ store })): the session service keeps no DBSC keys for remote sessions; remove dbsc',
    );
  }
  if (options.migrate !== undefined && options.migrate.length > 0) {
    throw new ConfigError('migrate needs the engine in this process (sessions: createSessions({ store })): hand the old sessions over where the store is reachable, then use remote');
  }
}
