/**
 * `latchkey sessions list|revoke`: a user's sessions, as the "your devices"
 * page shows them, and revocation of one session or of all of a user's
 * ("log out everywhere"), straight on the store. A revocation takes effect at
 * once for every instance that reads the store (within a cache's documented
 * staleness where one is configured).
 *
 * @module
 */
import type { DeviceSession } from '../core/model.js';
import type { Store } from '../core/store.js';
import { createSessions, type Sessions } from '../core/sessions.js';
import { parseToken } from '../core/token.js';
import { isKind } from '../core/kinds.js';
import { redactStoreUrl } from '../stores/url.js';
import { parseVerb, STORE_HELP, STORE_OPTIONS, stringFlag } from './args.js';
import { group, showHelp, type Command } from './command.js';
import { EXIT, nothingError, usageError } from './exit.js';
import { println, type CliIO } from './io.js';
import { noteEvent } from './events.js';
import { serviceStore, withStore } from './open-store.js';
import { shown } from './redact.js';
import { printable, table, when } from './table.js';

const KINDS_HELP = `Kinds: session (a session of your application, or of the service's /v1),
refresh (a token family of token mode), admin (the service's dashboard),
demo (the service's demo site: its users alice, bob and carol are not your
application's users of those names), or your own engines' kinds.`;

const LIST_HELP = `Usage: latchkey sessions list --user <id> [--kind <kind>[,<kind>...]] [--json] [--store <url>]

Lists a user's live sessions, of every kind unless --kind says which, oldest
first: handle, kind, device, IP address, created, last seen (UTC). Handles are
public identifiers, safe to show and log; pass one to 'latchkey sessions
revoke'. With --json: {"sessions": [{"handle", "kind", "createdAt",
"lastSeenAt", "authTime", "expiresAt" (ms since epoch), "ip", "userAgent",
"device": {"browser", "os", "type"}}]}. An SQLite file that does not exist is
refused (exit code 3), never created.

${KINDS_HELP}

Options:
  --user <id>        the user whose sessions to list (required)
  --kind <kinds>     only sessions of these kinds, comma-separated
  --json             print JSON instead of a table
${STORE_HELP}
  -h, --help         show this help`;

const list: Command = {
  name: 'list',
  summary: "list a user's sessions: handle, device, IP, created, last seen",
  help: LIST_HELP,
  async run(argv, io) {
    const { values } = parseVerb(argv, { ...STORE_OPTIONS, user: { type: 'string' }, kind: { type: 'string' }, json: { type: 'boolean' } }, LIST_HELP);
    if (values.help === true) return showHelp(io, LIST_HELP);
    const user = userFlag(stringFlag(values, 'user'), LIST_HELP);
    if (user === undefined) throw usageError('whose sessions? give --user <id>', LIST_HELP);
    const kinds = kindsFlag(stringFlag(values, 'kind'), LIST_HELP);
    const store = serviceStore(values, io, 'sessions list');
    const found = await withSessions(store, io, (sessions) => sessions.list(user, kinds === undefined ? {} : { kinds }));
    const what = `live sessions${kinds === undefined ? '' : ` of kind ${kinds.join(', ')}`} of user ${JSON.stringify(shown(user))}`;
    if (values.json === true) println(io.stdout, JSON.stringify({ sessions: found }));
    else if (found.length === 0) println(io.stderr, `no ${what} in ${redactStoreUrl(store)}`);
    else println(io.stdout, ...table(['HANDLE', 'KIND', 'DEVICE', 'IP', 'CREATED', 'LAST SEEN'], found.map(row)));
    return EXIT.ok;
  },
};

function row(s: DeviceSession): string[] {
  const d = s.device;
  let device = s.userAgent === null ? '-' : `${d.browser} on ${d.os}`;
  if (d.type === 'mobile' || d.type === 'tablet' || d.type === 'bot') device += ` (${d.type})`;
  return [s.handle, s.kind, printable(device), s.ip ?? '-', when(s.createdAt), when(s.lastSeenAt)];
}

const REVOKE_HELP = `Usage: latchkey sessions revoke <handle> [--store <url>]
       latchkey sessions revoke --user <id> [--kind <kind>[,<kind>...]] [--except <handle>] [--store <url>]

Revokes one session by its handle, of whatever kind, or every session of a
user ("log out everywhere": of every kind, token families included, unless
--kind says which), but the one named by --except. Revocation is immediate:
the next validation of a revoked token fails on every instance sharing the
store. A whole token given in place of a handle stands for its handle; only
the handle is ever printed.

${KINDS_HELP}

Exit code 1 when there was nothing to revoke (no such live session); exit
code 3 for an SQLite file that does not exist (it is never created).

Options:
  --user <id>        revoke every session of this user
  --kind <kinds>     with --user: only sessions of these kinds, comma-separated
  --except <handle>  with --user: keep this session
${STORE_HELP}
  -h, --help         show this help`;

const revoke: Command = {
  name: 'revoke',
  summary: 'revoke one session by handle, or all of a user (--user)',
  help: REVOKE_HELP,
  async run(argv, io) {
    const { values, positionals } = parseVerb(
      argv,
      { ...STORE_OPTIONS, user: { type: 'string' }, kind: { type: 'string' }, except: { type: 'string' } },
      REVOKE_HELP,
      1,
    );
    if (values.help === true) return showHelp(io, REVOKE_HELP);
    const handle = handleOf(positionals[0]);
    const user = userFlag(stringFlag(values, 'user'), REVOKE_HELP);
    const except = handleOf(stringFlag(values, 'except'));
    if (handle !== undefined && user !== undefined) throw usageError('give a session handle or --user <id>, not both', REVOKE_HELP);
    if (handle === undefined && user === undefined) throw usageError('what to revoke? give a session handle, or --user <id>', REVOKE_HELP);
    if (except !== undefined && user === undefined) throw usageError('--except goes with --user <id>', REVOKE_HELP);
    const kinds = kindsFlag(stringFlag(values, 'kind'), REVOKE_HELP);
    if (kinds !== undefined && user === undefined) throw usageError('--kind goes with --user <id>', REVOKE_HELP);
    const store = serviceStore(values, io, 'sessions revoke');

    if (handle !== undefined) {
      const done = await withSessions(store, io, async (sessions, s) => {
        const found = await sessions.get(handle);
        const revoked = await sessions.revoke(handle);
        if (revoked) await noteEvent(s, io, { kind: 'revoked', userId: found?.userId ?? null, sessionKind: found?.kind ?? null, handle, detail: 'session revoked with the CLI' });
        return revoked;
      });
      if (!done) throw nothingError(`no live session with handle ${JSON.stringify(shown(handle, 64))} in ${redactStoreUrl(store)}`);
      println(io.stdout, `session ${handle} revoked.`);
      return EXIT.ok;
    }
    const revoked = await withSessions(store, io, async (sessions, s) => {
      const handles = await sessions.revokeUser(user as string, { ...(except === undefined ? {} : { except }), ...(kinds === undefined ? {} : { kinds }) });
      if (handles.length > 0) {
        await noteEvent(s, io, { kind: 'revoked-all', userId: user as string, handle: null, detail: `${handles.length} session${handles.length === 1 ? '' : 's'} revoked with the CLI` });
      }
      return handles;
    });
    const who = `${kinds === undefined ? '' : `kind ${kinds.join(', ')} of `}user ${JSON.stringify(shown(user as string))}`;
    if (revoked.length === 0) throw nothingError(`no live session of ${who}${except === undefined ? '' : ' but the one kept'} in ${redactStoreUrl(store)}`);
    println(io.stdout, `${revoked.length} session${revoked.length === 1 ? '' : 's'} of ${who} revoked:`, ...revoked.map((h) => `  ${h}`));
    return EXIT.ok;
  },
};

/** A session handle, or the handle of a whole token given in its place (its secret is never needed, nor shown). */
function handleOf(value: string | undefined): string | undefined {
  return value === undefined ? undefined : (parseToken(value)?.handle ?? value);
}

/** A `--user` value: non-empty. */
function userFlag(user: string | undefined, usage: string): string | undefined {
  if (user === undefined) return undefined;
  if (user.trim() === '') throw usageError('--user needs a user id', usage);
  return user;
}

/** A `--kind` value: one kind or several, comma-separated. */
function kindsFlag(value: string | undefined, usage: string): string[] | undefined {
  if (value === undefined) return undefined;
  const kinds = value.split(',').map((k) => k.trim());
  const bad = kinds.find((k) => !isKind(k));
  if (bad !== undefined) throw usageError(`--kind takes kinds such as session, refresh, admin, demo (comma-separated), not ${JSON.stringify(shown(bad, 40))}`, usage);
  return kinds;
}

/** Runs `action` on a session engine over an existing store (never a new SQLite file); closes the engine, then withStore the store. */
async function withSessions<T>(url: string, io: CliIO, action: (sessions: Sessions, store: Store) => Promise<T>): Promise<T> {
  return withStore(url, io, async (store) => {
    // No background sweep: this engine lives for one command.
    const sessions = createSessions({ store, sweepInterval: false });
    try {
      return await action(sessions, store);
    } finally {
      await sessions.close().catch(() => {});
    }
  }, { create: false });
}

/** `latchkey sessions`. */
export const sessionsCommand: Command = group(
  'sessions',
  "list and revoke users' sessions",
  "Inspect and revoke sessions straight on the store (the service need not run).",
  [list, revoke],
);
