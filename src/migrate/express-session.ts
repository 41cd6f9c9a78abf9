/**
 * express-session (and @fastify/session, which signs its cookie the same
 * way and takes the same stores) as a source of sessions to hand over to
 * latchkey: the signed `connect.sid` cookie is checked with the old
 * secret(s), the session is read once from the old store (connect-redis,
 * connect-pg-simple, MemoryStore or any express-session store) and deleted
 * as it is handed over.
 *
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../core/errors.js';
import { checkOptionKeys } from '../core/option-keys.js';
import type { SessionMigrator } from '../http/migration.js';
import type { MigratorOptions, OldCookie } from './handover.js';
import { createMigrator } from './handover.js';

/** An express-session store as express-session calls it: connect-redis, connect-pg-simple, MemoryStore... */
export interface ExpressSessionStore {
  get(sid: string, callback: (err: unknown, session?: ExpressSessionData | null) => void): void;
  destroy(sid: string, callback?: (err?: unknown) => void): void;
}

/** An express-session session as its store keeps it: `cookie` and what the application set. */
export interface ExpressSessionData {
  readonly cookie?: Readonly<Record<string, unknown>>;
  readonly [key: string]: unknown;
}

/** Options of {@link expressSession}. */
export interface ExpressSessionOptions extends Omit<MigratorOptions<ExpressSessionData>, 'source'> {
  /** The store express-session used, connected to the same backend. */
  store: ExpressSessionStore;
  /** express-session's `secret`: the secret, or the list of secrets (each one still checks a signature). */
  secret: string | readonly string[];
  /** express-session's `name` (@fastify/session's `cookieName`). @default 'connect.sid' */
  name?: string;
  /** The old cookie's `path`, `domain` and `secure`, so that clearing it reaches the browser. @default { path: '/' } */
  cookie?: Omit<OldCookie, 'name'>;
  /**
   * What precedes the signed id in the cookie: `'s:'` for express-session;
   * `''` for @fastify/session (or its `cookiePrefix` option).
   * @default 's:'
   */
  cookiePrefix?: string;
}

const OPTIONS = ['store', 'secret', 'name', 'cookie', 'cookiePrefix', 'map', 'handoverKey', 'graceWindow', 'storeTimeout'];

/**
 * A migrator for express-session: a request with a genuine `connect.sid`
 * and no latchkey session gets a latchkey session with what `map` makes of
 * the old one; the old record is deleted and the old cookie cleared.
 *
 * @throws {ConfigError} for a missing store, secret or hand-over key, or an unknown option.
 * @example
 * ```ts
 * import { RedisStore } from 'connect-redis';
 * import { expressSession } from 'latchkey/migrate';
 * import { latchkey } from 'latchkey/express';
 *
 * const fromExpressSession = expressSession({
 *   store: new RedisStore({ client: redis }), // as express-session had it
 *   secret: process.env.SESSION_SECRET!,
 *   handoverKey: process.env.HANDOVER_KEY!,
 *   map: ({ cookie, passport, ...data }) => ({ userId: (passport as { user?: string } | undefined)?.user ?? null, data }),
 * });
 * app.use(latchkey({ sessions, migrate: [fromExpressSession] }));
 * ```
 */
export function expressSession(options: ExpressSessionOptions): SessionMigrator {
  if (options === null || typeof options !== 'object') throw new ConfigError('expressSession() takes { store, secret, handoverKey, map }');
  checkOptionKeys(options, 'expressSession()', OPTIONS);
  const { store } = options;
  if (store === null || typeof store !== 'object' || typeof store.get !== 'function' || typeof store.destroy !== 'function') {
    throw new ConfigError('store must be the express-session store the application used (with get and destroy), e.g. new RedisStore({ client })');
  }
  const list: unknown = typeof options.secret === 'string' ? [options.secret] : options.secret;
  if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === 'string' && s !== '')) {
    throw new ConfigError("secret must be express-session's secret: a string, or the list of strings it was given");
  }
  const secrets = list as string[];
  const name = options.name ?? 'connect.sid';
  const prefix = options.cookiePrefix ?? 's:';
  if (typeof prefix !== 'string') throw new ConfigError("cookiePrefix must be a string ('s:' for express-session, '' for @fastify/session)");
  const { map, handoverKey, graceWindow, storeTimeout } = options;
  return createMigrator<ExpressSessionData>({
    source: {
      name: 'express-session',
      cookies: [{ ...options.cookie, name }],
      verify: (value) => unsign(value, prefix, secrets),
      read: (sid) =>
        new Promise((resolve, reject) => {
          store.get(sid, (err, session) => (err ? reject(err) : resolve(session ?? null)));
        }),
      remove: (sid) =>
        new Promise((resolve, reject) => {
          store.destroy(sid, (err) => (err ? reject(err) : resolve()));
        }),
    },
    map,
    handoverKey,
    ...(graceWindow === undefined ? {} : { graceWindow }),
    ...(storeTimeout === undefined ? {} : { storeTimeout }),
  });
}

/**
 * The session id of a cookie signed as express-session signs it
 * (`s:<id>.<HMAC-SHA256 in base64, without padding>`), with any of the
 * secrets; `null` when it is not. Compared in constant time.
 */
function unsign(value: string, prefix: string, secrets: readonly string[]): string | null {
  if (!value.startsWith(prefix)) return null;
  const signed = value.slice(prefix.length);
  const dot = signed.lastIndexOf('.');
  if (dot <= 0) return null;
  const sid = signed.slice(0, dot);
  const presented = Buffer.from(signed.slice(dot + 1));
  for (const secret of secrets) {
    const expected = Buffer.from(createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, ''));
    if (presented.length === expected.length && timingSafeEqual(presented, expected)) return sid;
  }
  return null;
}
