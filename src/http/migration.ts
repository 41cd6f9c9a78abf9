/**
 * The migration hook of the HTTP layer: the `migrate` option of every
 * adapter takes {@link SessionMigrator}s (`latchkey/migrate` makes them for
 * express-session and iron-session), and a request that carries one of
 * their old session cookies and no latchkey credential is handed to the
 * migrator before the handler runs. A request without such a cookie costs a
 * substring search of its `Cookie` header and nothing else.
 *
 * @module
 */
import { ConfigError } from '../core/errors.js';
import type { ClientInfo, Session } from '../core/model.js';
import type { Sessions } from '../core/sessions.js';
import { readCookie } from './cookies.js';
import type { HttpRequest } from './request.js';

/** What a migrator works with besides the request. */
export interface MigrationContext {
  /** The engine the new session is created in. */
  readonly sessions: Sessions;
  /** The client of the request (IP through `trustProxy`, user agent), for the new session's record. */
  readonly client: ClientInfo;
}

/**
 * What a migrator did with a request's old session: the latchkey session
 * that now stands for it (`adopted`, whose token the HTTP layer sets as the
 * session cookie), and the `Set-Cookie` values of this answer (the old
 * cookies cleared). `{ adopted: null, setCookies: [] }` leaves the request
 * as it came, anonymous.
 */
export interface MigrationClaim {
  readonly adopted: { readonly token: string; readonly session: Session } | null;
  readonly setCookies: readonly string[];
}

/**
 * A source of sessions made by another library, handed over to latchkey
 * once each. The HTTP layer calls `claim` only for a request that carries
 * one of `cookieNames`, no latchkey credential, and (for an unsafe method)
 * passes the CSRF checks without a token; a rejection with
 * `StoreUnavailableError` is answered 503, anything else fails the request.
 *
 * @example
 * ```ts
 * import { expressSession } from 'latchkey/migrate';
 *
 * app.use(latchkey({ sessions, migrate: [expressSession({ store, secret, handoverKey, map })] }));
 * ```
 */
export interface SessionMigrator {
  /** The cookies that carry an old session (e.g. `['connect.sid']`). */
  readonly cookieNames: readonly string[];
  /** Hands the request's old session over (see {@link MigrationClaim}). */
  claim(request: HttpRequest, context: MigrationContext): Promise<MigrationClaim>;
}

/** @internal the migrators of an HTTP layer, checked once */
export interface Migrations {
  /** The migrator whose cookie the request carries, or `null` (no allocation when none does). */
  find(cookieHeader: string | undefined): SessionMigrator | null;
}

/** @internal checks the `migrate` option once, at construction; `null` without migrators */
export function migrationsConfig(option: unknown, { stateful, cookieCarrier, cookieName }: { stateful: boolean; cookieCarrier: boolean; cookieName: string }): Migrations | null {
  if (option === undefined) return null;
  if (!Array.isArray(option)) throw new ConfigError('migrate must be an array of migrators, e.g. [expressSession({ ... })] from "latchkey/migrate"');
  if (option.length === 0) return null;
  if (!stateful) throw new ConfigError('migrate needs stateful sessions (sessions: createSessions({ store })): each old session is handed over once through the store; sealed mode cannot promise that');
  if (!cookieCarrier) throw new ConfigError("migrate hands old cookie sessions over to latchkey's session cookie: add 'cookie' to carriers");
  const migrators: SessionMigrator[] = [];
  const names: string[] = [];
  for (const [i, m] of option.entries()) {
    if (m === null || typeof m !== 'object' || typeof (m as SessionMigrator).claim !== 'function' || !Array.isArray((m as SessionMigrator).cookieNames)) {
      throw new ConfigError(`migrate[${i}] must be a migrator from "latchkey/migrate" ({ cookieNames, claim })`);
    }
    for (const name of (m as SessionMigrator).cookieNames) {
      if (typeof name !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) throw new ConfigError(`migrate[${i}].cookieNames holds ${JSON.stringify(name)}, not a cookie name`);
      if (name === cookieName) throw new ConfigError(`migrate[${i}] reads the cookie ${JSON.stringify(name)}, which is latchkey's own session cookie; give latchkey's cookie another name`);
      if (names.includes(name)) throw new ConfigError(`the cookie ${JSON.stringify(name)} is read by two migrators; each old cookie belongs to one`);
      names.push(name);
    }
    migrators.push(m as SessionMigrator);
  }
  return {
    find(header) {
      if (header === undefined) return null;
      for (const m of migrators) {
        for (const name of m.cookieNames) {
          // readCookie() looks for `name=` before it parses anything.
          const value = readCookie(header, name);
          if (value !== null && value !== '') return m;
        }
      }
      return null;
    },
  };
}
