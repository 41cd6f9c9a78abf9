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
import { createSessions, type Sessions } from '../core/sessions.js';
import { parseToken } from '../core/token.js';
import { API_KEY_USER } from '../core/api-keys.js';
import { redactStoreUrl } from '../stores/url.js';
import { parseVerb, STORE_HELP, STORE_OPTIONS, stringFlag } from './args.js';
import { group, showHelp, type Command } from './command.js';
import { EXIT, nothingError, usageError } from './exit.js';
import { println, type CliIO } from './io.js';
import { serviceStore, withStore } from './open-store.js';
import { shown } from './redact.js';
import { printable, table, when } from './table.js';

const LIST_HELP = `Usage: latchkey sessions list --user <id> [--json] [--store <url>]

Lists a user's live sessions, oldest first: handle, device, IP address,
created, last seen (UTC). Handles are public identifiers, safe to show and log;
pass one to 'latchkey sessions revoke'. With --json:
{"sessions": [{"handle", "createdAt", "lastSeenAt", "authTime", "expiresAt"
(ms since epoch), "ip", "userAgent", "device": {"browser", "os", "type"}}]}.
An SQLite file that does not exist is refused (exit code 3), never created.

Options:
  --user <id>        the user whose sessions to list (required)
  --json             print JSON instead of a table
${STORE_HELP}
  -h, --help         show this help`;

const list: Command = {
  name: 'list',
  summary: "list a user's sessions: handle, device, IP, created, last seen",
  help: LIST_HELP,
  async run(argv, io) {
    const { values } = parseVerb(argv, { ...STORE_OPTIONS, user: { type: 'string' }, json: { type: 'boolean' } }, LIST_HELP);
    if (values.help === true) return showHelp(io, LIST_HELP);
    const user = userFlag(stringFlag(values, 'user'), LIST_HELP);
    if (user === undefined) throw usageError('whose sessions? give --user <id>', LIST_HELP);
    const store = serviceStore(values, io, 'sessions list');
    const found = await withSessions(store, io, (sessions) => sessions.list(user));
    if (values.json === true) println(io.stdout, JSON.stringify({ sessions: found }));
    else if (found.length === 0) println(io.stderr, `no live sessions of user ${JSON.stringify(shown(user))} in ${redactStoreUrl(store)}`);
    else println(io.stdout, ...table(['HANDLE', 'DEVICE', 'IP', 'CREATED', 'LAST SEEN'], found.map(row)));
    return EXIT.ok;
  },
};

function row(s: DeviceSession): string[] {
  const d = s.device;
  let device = s.userAgent === null ? '-' : `${d.browser} on ${d.os}`;
  if (d.type === 'mobile' || d.type === 'tablet' || d.type === 'bot') device += ` (${d.type})`;
  return [s.handle, printable(device), s.ip ?? '-', when(s.createdAt), when(s.lastSeenAt)];
}

const REVOKE_HELP = `Usage: latchkey sessions revoke <handle> [--store <url>]
       latchkey sessions revoke --user <id> [--except <handle>] [--store <url>]

Revokes one session by its handle, or every session of a user ("log out
everywhere"), but the one named by --except. Revocation is immediate: the next
validation of a revoked token fails on every instance sharing the store. A
whole token given in place of a handle stands for its handle; only the handle
is ever printed.

Exit code 1 when there was nothing to revoke (no such live session); exit
code 3 for an SQLite file that does not exist (it is never created).

Options:
  --user <id>        revoke every session of this user
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
      { ...STORE_OPTIONS, user: { type: 'string' }, except: { type: 'string' } },
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
    const store = serviceStore(values, io, 'sessions revoke');

    if (handle !== undefined) {
      const done = await withSessions(store, io, (sessions) => sessions.revoke(handle));
      if (!done) throw nothingError(`no live session with handle ${JSON.stringify(shown(handle, 64))} in ${redactStoreUrl(store)}`);
      println(io.stdout, `session ${handle} revoked.`);
      return EXIT.ok;
    }
    const revoked = await withSessions(store, io, (sessions) => sessions.revokeUser(user as string, except === undefined ? undefined : { except }));
    const who = `user ${JSON.stringify(shown(user as string))}`;
    if (revoked.length === 0) throw nothingError(`no live session of ${who}${except === undefined ? '' : ' but the one kept'} in ${redactStoreUrl(store)}`);
    println(io.stdout, `${revoked.length} session${revoked.length === 1 ? '' : 's'} of ${who} revoked:`, ...revoked.map((h) => `  ${h}`));
    return EXIT.ok;
  },
};

/** A session handle, or the handle of a whole token given in its place (its secret is never needed, nor shown). */
function handleOf(value: string | undefined): string | undefined {
  return value === undefined ? undefined : (parseToken(value)?.handle ?? value);
}

/** A `--user` value: non-empty, and never the reserved owner of the API keys. */
function userFlag(user: string | undefined, usage: string): string | undefined {
  if (user === undefined) return undefined;
  if (user.trim() === '') throw usageError('--user needs a user id', usage);
  if (user === API_KEY_USER) throw usageError(`"${API_KEY_USER}" holds the API keys; use 'latchkey apikeys list' and 'latchkey apikeys revoke'`, usage);
  return user;
}

/** Runs `action` on a session engine over an existing store (never a new SQLite file); closes the engine, then withStore the store. */
async function withSessions<T>(url: string, io: CliIO, action: (sessions: Sessions) => Promise<T>): Promise<T> {
  return withStore(url, io, async (store) => {
    // No background sweep: this engine lives for one command.
    const sessions = createSessions({ store, sweepInterval: false });
    try {
      return await action(sessions);
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
