/**
 * iron-session as a source of sessions to hand over to latchkey: the sealed
 * cookie is opened with iron-session's own `unsealData` and the old
 * password(s), and re-issued as a latchkey session. iron-session keeps
 * nothing on a server, so nothing can be deleted there: latchkey's store
 * remembers each hand-over for as long as the seal could still open
 * (iron-session's `ttl`), and a seal that comes back after it (past the
 * grace window) is refused and cleared, even once the latchkey session has
 * ended.
 *
 * iron-session is an optional peer dependency, needed by this entry point
 * only.
 *
 * @module
 */
import { unsealData } from 'iron-session';
import { ConfigError } from '../core/errors.js';
import { checkOptionKeys } from '../core/option-keys.js';
import type { SessionMigrator } from '../http/migration.js';
import type { MigratorOptions, OldCookie } from './handover.js';
import { createMigrator } from './handover.js';

/** What an iron-session cookie held: the fields the application saved. */
export type IronSessionData = Readonly<Record<string, unknown>>;

/** Options of {@link ironSession}. */
export interface IronSessionOptions extends Omit<MigratorOptions<IronSessionData>, 'source'> {
  /** iron-session's `cookieName`. */
  cookieName: string;
  /** iron-session's `password`: a string, or the `{ id: password }` map it was given (every password still opens a seal). */
  password: string | Readonly<Record<string | number, string>>;
  /** iron-session's `ttl`, in seconds: older seals are refused. @default 1209600 (14 days, iron-session's default) */
  ttl?: number;
  /** The old cookie's `path`, `domain` and `secure` (iron-session's `cookieOptions`), so that clearing it reaches the browser. @default { path: '/', secure: true } */
  cookie?: Omit<OldCookie, 'name'>;
}

const OPTIONS = ['cookieName', 'password', 'ttl', 'cookie', 'map', 'handoverKey', 'graceWindow', 'storeTimeout'];
/** Browsers keep cookies of up to 4096 bytes; nothing longer is a seal iron-session made. */
const MAX_SEAL = 4096;

/**
 * A migrator for iron-session: a request with a seal that opens with the
 * old password(s) and no latchkey session gets a latchkey session with what
 * `map` makes of the seal's data; the old cookie is cleared.
 *
 * @throws {ConfigError} for a missing cookie name, password or hand-over key, or an unknown option.
 * @example
 * ```ts
 * import { ironSession } from 'latchkey/migrate/iron-session';
 * import { latchkey } from 'latchkey/fetch';
 *
 * const fromIron = ironSession({
 *   cookieName: 'myapp_session',
 *   password: process.env.IRON_PASSWORD!,
 *   handoverKey: process.env.HANDOVER_KEY!,
 *   map: ({ userId, ...data }) => ({ userId: typeof userId === 'string' ? userId : null, data }),
 * });
 * const handler = latchkey({ sessions, migrate: [fromIron] }, app);
 * ```
 */
export function ironSession(options: IronSessionOptions): SessionMigrator {
  if (options === null || typeof options !== 'object') throw new ConfigError('ironSession() takes { cookieName, password, handoverKey, map }');
  checkOptionKeys(options, 'ironSession()', OPTIONS);
  const { cookieName, password } = options;
  if (typeof cookieName !== 'string' || cookieName === '') throw new ConfigError("cookieName must be iron-session's cookieName");
  const passwords = typeof password === 'string' ? [password] : password !== null && typeof password === 'object' ? Object.values(password) : [];
  if (passwords.length === 0 || !passwords.every((p) => typeof p === 'string' && p.length >= 32)) {
    throw new ConfigError("password must be iron-session's password: a string of at least 32 characters, or its { id: password } map");
  }
  const ttl = options.ttl ?? 14 * 24 * 3600;
  if (!Number.isSafeInteger(ttl) || ttl < 0) throw new ConfigError("ttl must be iron-session's ttl, a whole number of seconds (0: no expiry)");
  const ironPassword = password as string | Record<string, string>;
  const open = async (seal: string): Promise<IronSessionData | null> => {
    if (seal.length > MAX_SEAL || !seal.startsWith('Fe26.')) return null;
    const data = await unsealData<Record<string, unknown>>(seal, { password: ironPassword, ttl });
    // iron-session opens an expired, tampered or foreign seal as {}: nothing to hand over.
    return data !== null && typeof data === 'object' && Object.keys(data).length > 0 ? data : null;
  };
  const { map, handoverKey, graceWindow, storeTimeout } = options;
  return createMigrator<IronSessionData>({
    source: {
      name: 'iron-session',
      cookies: [{ secure: true, ...options.cookie, name: cookieName }],
      // The seal itself is the old session's id: the same seal, presented by several requests, hands over to one session.
      verify: async (value) => ((await open(value)) === null ? null : value),
      read: open,
      // A seal opens until its ttl has passed (and iron's minute of clock skew): its hand-over is remembered as long.
      remember: ttl === 0 ? null : ttl * 1000 + 60_000,
    },
    map,
    handoverKey,
    ...(graceWindow === undefined ? {} : { graceWindow }),
    ...(storeTimeout === undefined ? {} : { storeTimeout }),
  });
}
