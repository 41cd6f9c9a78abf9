/**
 * The hand-over of one old session to latchkey, the same for every source
 * (express-session and its stores, @fastify/session, iron-session, a table
 * of your own): `createMigrator()` turns a {@link MigrationSource} and a
 * `map` into the {@link SessionMigrator} that the `migrate` option of every
 * adapter takes.
 *
 * One old session becomes one latchkey session, however many requests
 * carry its cookie at once: the new session's token is derived from the old
 * session's id with a server-side key (HMAC-SHA-512), and the store's atomic
 * `create` lets exactly one request store it. The others find it taken and
 * answer with the same token, so that every response sets the same cookie.
 * The old record is deleted before any answer sets the new cookie (a source
 * without server state, such as iron-session, has the hand-over noted in
 * latchkey's store instead, for as long as its cookies stay genuine), and
 * an old cookie that comes back after the hand-over (past a short grace
 * window for requests sent together) is refused and cleared.
 *
 * @module
 */
import { createHmac } from 'node:crypto';
import { serialize } from 'cookie';
import { secretListArg } from '../core/arguments.js';
import { durationOption, type Duration } from '../core/duration.js';
import { engineInternals, type EngineInternals } from '../core/engine-internals.js';
import { ConfigError, LatchkeyTypeError, StoreUnavailableError } from '../core/errors.js';
import type { Session } from '../core/model.js';
import { checkOptionKeys } from '../core/option-keys.js';
import { callStore } from '../core/store-call.js';
import { readCookie } from '../http/cookies.js';
import type { MigrationClaim, MigrationContext, SessionMigrator } from '../http/migration.js';
import type { HttpRequest } from '../http/request.js';

/** A cookie the old library set: its name, and the attributes it was set with, so that the browser drops it when it is cleared. */
export interface OldCookie {
  /** e.g. `'connect.sid'` */
  readonly name: string;
  /** @default '/' */
  readonly path?: string;
  /** @default none (host-only) */
  readonly domain?: string;
  /**
   * Whether the old cookie was `Secure`: a `Secure` clearing is ignored by a
   * browser on plain HTTP, and a `__Secure-`/`__Host-` cookie is cleared
   * only by one.
   * @default true for a `__Secure-` or `__Host-` name, else false
   */
  readonly secure?: boolean;
}

/**
 * Where old sessions come from. `verify` proves the cookie genuine (its
 * signature or seal, with the old library's secrets), `read` reads the old
 * session once, `remove` deletes it.
 *
 * @example
 * ```ts
 * const source: MigrationSource<OldRow> = {
 *   name: 'my-sessions',
 *   cookies: [{ name: 'sid' }],
 *   verify: (value) => unsignWithOldSecret(value), // the id, or null
 *   read: (id) => db.oneOrNone('select * from sessions where id = $1', [id]),
 *   remove: async (id) => { await db.none('delete from sessions where id = $1', [id]); },
 * };
 * ```
 */
export interface MigrationSource<Old> {
  /**
   * A short, stable label of the source (`'express-session'`): part of the
   * derivation, so that two sources never hand over to one token. Changing
   * it during a migration lets an old session be handed over again.
   */
  readonly name: string;
  /** The cookies that carry an old session; the first one a request carries is read. */
  readonly cookies: readonly OldCookie[];
  /**
   * The old session's id if `value` (the cookie's decoded value) is genuine,
   * else `null`. A cookie that is not genuine is never adopted, costs no
   * store read, and is cleared. Must not throw for bad input.
   */
  verify(value: string): string | null | Promise<string | null>;
  /**
   * The old session with this id, read once per hand-over, or `null` when
   * it does not exist (expired, deleted, handed over). Rejects when the old
   * store fails: the request is answered 503 and nothing changes.
   */
  read(id: string): Promise<Old | null>;
  /**
   * Deletes the old session; deleting one that is gone is no error. Rejects
   * when the old store fails (503; the next request finishes the
   * hand-over). Omit it for a source that keeps nothing on a server
   * (iron-session): the hand-over is then remembered in latchkey's store
   * (its key-value facet) for `remember`, so that the old cookie never
   * makes a second session, even after the first one has ended.
   */
  remove?(id: string): Promise<void>;
  /**
   * For a source without `remove`: how long one of its cookies can stay
   * genuine (iron-session's `ttl`), and so how long a hand-over is
   * remembered. `null`: for ever (cookies that never expire).
   * @default null
   */
  readonly remember?: Duration | null;
}

/** What an old session becomes in latchkey. */
export interface MappedSession {
  /** The signed-in user, or `null` for an anonymous session (which never becomes a signed-in one). */
  readonly userId: string | null;
  /** The session data (JSON). @default {} */
  readonly data?: Record<string, unknown>;
  /** The strength of the old sign-in (see `login()`). @default 0 */
  readonly authLevel?: number;
  /**
   * When the user signed in, if the old session recorded it. Unknown by
   * default: the migrated session is then never fresh, so that routes behind
   * `requireFresh()` ask for a new sign-in.
   * @default null
   */
  readonly authTime?: Date | number | null;
}

/** Options of {@link createMigrator}. */
export interface MigratorOptions<Old> {
  /** Where the old sessions come from. */
  source: MigrationSource<Old>;
  /**
   * What an old session becomes: its user, data and authentication level;
   * `null` drops it (the old record is deleted, the request goes on
   * anonymous). An anonymous session without data is dropped too, as
   * latchkey makes no session for nothing. May be async.
   */
  map(old: Old): MappedSession | null | Promise<MappedSession | null>;
  /**
   * The key the new sessions' tokens are derived from, at least 32 random
   * bytes, the same on every instance and kept as secret as the old
   * library's own secret: with it and an old session id, anyone could
   * compute the new token.
   */
  handoverKey: string | Uint8Array;
  /**
   * How long after a hand-over the old cookie still answers with the new
   * session, for the requests a browser sent together with the one that
   * handed it over. After it, the old cookie is refused and cleared. `0`:
   * the other requests go on anonymous.
   * @default '10s' (at most '1m')
   */
  graceWindow?: Duration;
  /**
   * The longest one call to the old store may take: a store that does not
   * answer in time is an outage (503), not a hang.
   * @default '5s'
   */
  storeTimeout?: Duration;
}

const OPTIONS = ['source', 'map', 'handoverKey', 'graceWindow', 'storeTimeout'];
/** The key-value namespace of hand-overs remembered for sources without `remove`, by the new session's handle. */
export const HANDED_OVER_NAMESPACE = 'migrate:handed-over';
const INFO = 'latchkey/migrate/v1\0';
const NOTHING: MigrationClaim = Object.freeze({ adopted: null, setCookies: Object.freeze([]) as readonly string[] });

/**
 * Makes a migrator from any source of old sessions: the building block of
 * `expressSession()` and `ironSession()`, and of a source of your own (a
 * better-auth session table, a home-made one).
 *
 * @throws {ConfigError} for a missing or weak `handoverKey`, a bad source or option.
 * @example
 * ```ts
 * import { createMigrator } from 'latchkey/migrate';
 *
 * const migrator = createMigrator({
 *   source, // a MigrationSource
 *   map: (row) => ({ userId: row.user_id, data: { theme: row.theme } }),
 *   handoverKey: process.env.HANDOVER_KEY!,
 * });
 * app.use(latchkey({ sessions, migrate: [migrator] }));
 * ```
 */
export function createMigrator<Old>(options: MigratorOptions<Old>): SessionMigrator {
  if (options === null || typeof options !== 'object') throw new ConfigError('createMigrator() takes { source, map, handoverKey }');
  checkOptionKeys(options, 'createMigrator()', OPTIONS);
  const { source, map } = options;
  checkSource(source);
  if (typeof map !== 'function') throw new ConfigError('map must be a function from an old session to { userId, data?, authLevel? } or null');
  const keys = secretListArg('handoverKey', options.handoverKey, 'hand-over key', 'handoverKey: process.env.HANDOVER_KEY');
  if (keys.length !== 1) throw new ConfigError('handoverKey takes one key: every instance must derive the same token from an old session');
  const key = keys[0] as Buffer;
  const graceMs = durationOption('graceWindow', options.graceWindow ?? '10s');
  if (graceMs > 60_000) throw new ConfigError('graceWindow must be at most 1 minute: an old cookie should not stand for the new session any longer');
  const timeoutMs = durationOption('storeTimeout', options.storeTimeout ?? '5s', { min: 1 });
  const cookies = source.cookies.map((c) => ({ name: c.name, clear: clearOldCookie(c) }));
  const clearAll = Object.freeze(cookies.map((c) => c.clear));
  const refused: MigrationClaim = Object.freeze({ adopted: null, setCookies: clearAll });
  const label = `${INFO}${source.name}\0`;

  /** The old store's call, bounded: a failure or a silence is a `StoreUnavailableError` (503). */
  function oldStore<T>(what: string, call: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new StoreUnavailableError(`the old session store (${source.name}) did not answer ${what} within ${timeoutMs} ms`)), timeoutMs);
      let pending: Promise<T>;
      try {
        pending = call();
      } catch (err) {
        pending = Promise.reject(err);
      }
      pending.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err instanceof StoreUnavailableError ? err : new StoreUnavailableError(`the old session store (${source.name}) failed ${what}`, { cause: err }));
        },
      );
    });
  }

  const remove = source.remove === undefined ? null : (id: string) => oldStore('a delete', () => source.remove!(id));
  const rememberMs = source.remember === undefined || source.remember === null ? null : durationOption('source.remember', source.remember, { min: 1 });
  /** For a source without `remove`: whether this hand-over is remembered in latchkey's store. */
  const handedOver = async (internals: EngineInternals, handle: string): Promise<boolean> =>
    (await callStore(() => internals.store.kv.get(HANDED_OVER_NAMESPACE, handle, internals.clock.now()), internals.storeTimeoutMs)) !== null;
  /** What ends the old session once it has been handed over: its deletion, or (without `remove`) a note in latchkey's store. */
  const finish = (internals: EngineInternals, id: string, handle: string): Promise<unknown> => {
    if (remove !== null) return remove(id);
    const now = internals.clock.now();
    const entry = { value: String(now), expiresAt: rememberMs === null ? null : now + rememberMs };
    return callStore(() => internals.store.kv.set(HANDED_OVER_NAMESPACE, handle, entry, now), internals.storeTimeoutMs);
  };

  async function claim(request: HttpRequest, { sessions, client }: MigrationContext): Promise<MigrationClaim> {
    const internals = engineInternals(sessions);
    if (internals === undefined) throw new ConfigError('migrate needs the engine from createSessions() as sessions');
    const header = request.header('cookie');
    let value: string | null = null;
    for (const c of cookies) {
      value = readCookie(header, c.name);
      if (value !== null && value !== '') break;
    }
    if (value === null || value === '') return NOTHING;
    let id: string | null;
    try {
      id = await source.verify(value);
    } catch {
      // A verify() that throws on bad input still never adopts it.
      id = null;
    }
    if (typeof id !== 'string' || id === '') return refused;
    const mac = createHmac('sha512', key).update(label).update(id).digest();
    const given = { handle: mac.subarray(0, 16).toString('base64url'), secret: mac.subarray(16, 48).toString('base64url') };
    const token = `${given.handle}.${given.secret}`;
    const adopt = (session: Session): MigrationClaim => ({ adopted: { token, session }, setCookies: clearAll });

    // A source without server state cannot forget a session: latchkey's store remembers what was handed over.
    const old = remove === null && (await handedOver(internals, given.handle)) ? null : await oldStore('a read', () => source.read(id));
    if (old !== null && old !== undefined) {
      const mapped = checkMapped(await map(old));
      if (mapped === null) {
        await finish(internals, id, given.handle);
        return refused;
      }
      const created = await internals.createAs({ ...mapped, client }, given);
      if (created !== null) {
        // The old session ends before the answer that sets the new cookie: there is no moment when both are live.
        await finish(internals, id, given.handle);
        return adopt(created.session);
      }
      // Taken: another request is handing this session over, or handed it over and could not end the old one (a 503 that set no cookie).
      const live = await sessions.get(given.handle);
      if (live === null) return refused;
      await finish(internals, id, given.handle);
      return adopt(live);
    }
    // Gone from the old store: handed over (a request sent together with the one that did) or expired.
    const live = await sessions.get(given.handle);
    return live !== null && internals.clock.now() - live.createdAt < graceMs ? adopt(live) : refused;
  }

  return { cookieNames: Object.freeze(cookies.map((c) => c.name)), claim };
}

function checkSource(source: unknown): asserts source is MigrationSource<unknown> {
  const s = source as MigrationSource<unknown> | null;
  if (s === null || typeof s !== 'object') throw new ConfigError('source must be a MigrationSource { name, cookies, verify, read, remove? }');
  if (typeof s.name !== 'string' || !/^[A-Za-z0-9@/._:-]{1,64}$/.test(s.name)) throw new ConfigError('source.name must be a short label such as "express-session"');
  if (!Array.isArray(s.cookies) || s.cookies.length === 0) throw new ConfigError('source.cookies must name at least one cookie: [{ name: "connect.sid" }]');
  if (typeof s.verify !== 'function' || typeof s.read !== 'function') throw new ConfigError('source.verify and source.read must be functions');
  if (s.remove !== undefined && typeof s.remove !== 'function') throw new ConfigError('source.remove must be a function, or absent for a source without server state');
  if (s.remove !== undefined && s.remember !== undefined) throw new ConfigError('source.remember is for a source without remove: one with remove deletes what it handed over');
}

const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The `Set-Cookie` value that makes the browser drop an old cookie. */
function clearOldCookie(c: OldCookie): string {
  if (c === null || typeof c !== 'object') throw new ConfigError('each old cookie must be an object { name, path?, domain?, secure? }');
  checkOptionKeys(c, 'the old cookie', ['name', 'path', 'domain', 'secure']);
  if (typeof c.name !== 'string' || !COOKIE_NAME.test(c.name)) throw new ConfigError(`the old cookie name ${JSON.stringify(c.name)} is not a cookie name`);
  const path = c.path ?? '/';
  if (typeof path !== 'string' || !/^\/[\x21-\x3a\x3c-\x7e]*$/.test(path)) throw new ConfigError(`the old cookie ${c.name}'s path must start with "/"`);
  if (c.domain !== undefined && (typeof c.domain !== 'string' || !/^\.?[A-Za-z0-9.-]+$/.test(c.domain))) throw new ConfigError(`the old cookie ${c.name}'s domain must be a host name`);
  const secure = c.secure ?? /^__(secure|host)-/i.test(c.name);
  if (typeof secure !== 'boolean') throw new ConfigError(`the old cookie ${c.name}'s secure must be a boolean`);
  return serialize(c.name, '', { path, domain: c.domain, secure, httpOnly: true, maxAge: 0, expires: new Date(0) });
}

/** What `map` returned, checked: `null` for a session not worth a latchkey session. */
function checkMapped(m: unknown): { userId: string | null; data: Record<string, unknown>; authLevel: number; authTime: number | null } | null {
  if (m === null || m === undefined) return null;
  if (typeof m !== 'object') throw new LatchkeyTypeError('map() must return { userId, data?, authLevel?, authTime? } or null');
  const r = m as MappedSession;
  if (r.userId !== null && (typeof r.userId !== 'string' || r.userId === '')) {
    throw new LatchkeyTypeError('map() must give userId as a non-empty string, or null for an anonymous session');
  }
  const data = r.data ?? {};
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new LatchkeyTypeError('map() must give data as an object');
  if (r.userId === null && Object.keys(data).length === 0) return null;
  const at = r.authTime ?? null;
  const authTime = at instanceof Date ? at.getTime() : at;
  if (authTime !== null && typeof authTime !== 'number') throw new LatchkeyTypeError('map() must give authTime as a Date, a number of ms since the epoch, or null');
  return { userId: r.userId, data, authLevel: r.authLevel ?? 0, authTime };
}

