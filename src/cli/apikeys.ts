/**
 * `latchkey apikeys create|list|revoke`: the API keys that callers of the
 * service's `/v1` API present as `Authorization: Bearer <key>`. A key is
 * shown once, when it is created, alone on the last line of standard output
 * (scripts take it with `tail -n 1`); the store keeps only its hash.
 *
 * @module
 */
import { apiKeys } from '../core/api-keys.js';
import { redactStoreUrl } from '../stores/url.js';
import { parseVerb, STORE_HELP, STORE_OPTIONS, stringFlag } from './args.js';
import { group, showHelp, type Command } from './command.js';
import { EXIT, nothingError, usageError } from './exit.js';
import { println } from './io.js';
import { noteEvent } from './events.js';
import { serviceStore, storeCall, withStore } from './open-store.js';
import { shown } from './redact.js';
import { table, when } from './table.js';

const CREATE_HELP = `Usage: latchkey apikeys create [--name <name>] [--store <url>]

Creates an API key for a caller of the /v1 API. The key is printed once,
alone on the last line of standard output; the store keeps only its hash.
Send it as "Authorization: Bearer <key>".

The store must exist: an SQLite file that does not exist is refused (exit
code 3) and a PostgreSQL database without latchkey's tables too (exit code
2), never created; 'latchkey serve' or 'latchkey migrate' creates them.
memory: is refused: the key would vanish with this command.

Options:
  --name <name>      what the key is for (at most 100 characters), shown by
                     'latchkey apikeys list'
${STORE_HELP}
  -h, --help         show this help

Example:
  KEY=$(latchkey apikeys create --name billing | tail -n 1)`;

const create: Command = {
  name: 'create',
  summary: 'create an API key; the key is printed once, on the last line',
  help: CREATE_HELP,
  async run(argv, io) {
    const { values } = parseVerb(argv, { ...STORE_OPTIONS, name: { type: 'string' } }, CREATE_HELP);
    if (values.help === true) return showHelp(io, CREATE_HELP);
    const name = stringFlag(values, 'name') ?? '';
    const store = serviceStore(values, io, 'apikeys create');
    const { key, info } = await withStore(
      store,
      io,
      async (s) => {
        const made = await storeCall(() => apiKeys(s).create(name));
        // The id and name only: the key itself is printed once, below, and nowhere else.
        await noteEvent(s, io, { kind: 'api-key-created', userId: null, handle: null, detail: `API key ${made.info.id} created with the CLI` });
        return made;
      },
      { create: false },
    );
    println(
      io.stdout,
      `API key ${info.id}${info.name === '' ? '' : ` ("${shown(info.name)}")`} created in ${redactStoreUrl(store)}.`,
      'It is shown once, here; latchkey keeps only its hash:',
      key,
    );
    return EXIT.ok;
  },
};

const LIST_HELP = `Usage: latchkey apikeys list [--json] [--store <url>]

Lists the API keys (never the keys themselves): id, name, creation time, oldest
first. With --json: {"apiKeys": [{"id", "name", "createdAt" (ms since epoch)}]}.
An SQLite file that does not exist is refused (exit code 3), never created.

Options:
  --json             print JSON instead of a table
${STORE_HELP}
  -h, --help         show this help`;

const list: Command = {
  name: 'list',
  summary: 'list API keys: id, name, created',
  help: LIST_HELP,
  async run(argv, io) {
    const { values } = parseVerb(argv, { ...STORE_OPTIONS, json: { type: 'boolean' } }, LIST_HELP);
    if (values.help === true) return showHelp(io, LIST_HELP);
    const store = serviceStore(values, io, 'apikeys list');
    const keys = await withStore(store, io, (s) => storeCall(() => apiKeys(s).list()), { create: false });
    if (values.json === true) {
      println(io.stdout, JSON.stringify({ apiKeys: keys }));
    } else if (keys.length === 0) {
      println(io.stderr, `no API keys in ${redactStoreUrl(store)}; create one with 'latchkey apikeys create --name <name>'`);
    } else {
      println(io.stdout, ...table(['ID', 'NAME', 'CREATED'], keys.map((k) => [k.id, shown(k.name), when(k.createdAt)])));
    }
    return EXIT.ok;
  },
};

const REVOKE_HELP = `Usage: latchkey apikeys revoke <id> [--store <url>]

Deletes an API key by its id (the 24 hex characters after "lk_", as listed by
'latchkey apikeys list'). A service on Redis or PostgreSQL stops accepting
the key at once (the revocation is announced to every instance); on SQLite,
within 5 seconds (the time it trusts a key it has checked).

Exit code 1 when there is no such key; exit code 3 for an SQLite file that
does not exist (it is never created).

Options:
${STORE_HELP}
  -h, --help         show this help`;

const revoke: Command = {
  name: 'revoke',
  summary: 'delete an API key by id',
  help: REVOKE_HELP,
  async run(argv, io) {
    const { values, positionals } = parseVerb(argv, STORE_OPTIONS, REVOKE_HELP, 1);
    if (values.help === true) return showHelp(io, REVOKE_HELP);
    const given = positionals[0];
    if (given === undefined) throw usageError('which API key? give its id: latchkey apikeys revoke <id>', REVOKE_HELP);
    // A whole key given by mistake: take its id, never echo its secret.
    const id = /^lk_([0-9a-f]{24})_/.exec(given)?.[1] ?? given;
    const store = serviceStore(values, io, 'apikeys revoke');
    const done = await withStore(
      store,
      io,
      async (s) => {
        const revoked = await storeCall(() => apiKeys(s).revoke(id));
        if (revoked) await noteEvent(s, io, { kind: 'api-key-revoked', userId: null, handle: null, detail: `API key ${id} revoked with the CLI` });
        return revoked;
      },
      { create: false },
    );
    if (!done) throw nothingError(`no API key with id ${JSON.stringify(shown(id, 64))} in ${redactStoreUrl(store)}`);
    println(io.stdout, `API key ${shown(id)} revoked.`);
    return EXIT.ok;
  },
};

/** `latchkey apikeys`. */
export const apikeysCommand: Command = group(
  'apikeys',
  'create, list and revoke the API keys of /v1 callers',
  'API keys authenticate callers of the service\'s /v1 API\n("Authorization: Bearer <key>"). They are kept hashed in the store, next to\nthe sessions.',
  [create, list, revoke],
);
