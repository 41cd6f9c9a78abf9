/**
 * `latchkey keys rotate|list`: the signing keys of token mode, kept by the
 * service in `<dataDir>/keys.json` (private JWKs, mode 0600). Rotation adds a
 * new signing key; the previous one keeps verifying for the overlap window,
 * so tokens already issued stay valid until they expire.
 *
 * @module
 */
import { join } from 'node:path';
import { makeStateFolder } from '../server/state-folder.js';
import { fileKeyStorage } from '../tokens/file-key-storage.js';
import type { StoredKey } from '../tokens/key-storage.js';
import { createKeySet } from '../tokens/keys.js';
import { defaultOf, parseVerb, resolveOption } from './args.js';
import { group, showHelp, type Command } from './command.js';
import { EXIT, nothingError } from './exit.js';
import { println } from './io.js';
import { table, when } from './table.js';

/** The file the service keeps its signing keys in, inside its data folder. */
export const KEY_FILE = 'keys.json';

/** How long a replaced key verifies: the key set's default, as the service uses it. */
const OVERLAP = '1d';

const DATA_DIR_OPTIONS = { 'data-dir': { type: 'string' }, config: { type: 'string' } } as const;

const DATA_DIR_HELP = `  --data-dir <dir>   the service's data folder, holding ${KEY_FILE}
                     (default: $LATCHKEY_DATA_DIR, else the config file's, else
                     ${String(defaultOf('dataDir'))})
  --config <file>    a JSON config file of latchkey serve to read "dataDir" from
                     (default: $LATCHKEY_CONFIG)`;

const ROTATE_HELP = `Usage: latchkey keys rotate [--data-dir <dir>]

Generates a new signing key for access tokens in <data-dir>/${KEY_FILE} and
prints its kid alone on the last line. The previous key keeps verifying tokens
for ${OVERLAP} (the overlap), then retires; it stays in the JWKS until then.
With no key file yet, creates one with a first key (and the data folder,
private and with a .gitignore, when it does not exist).

A running 'latchkey serve' re-reads ${KEY_FILE} every minute: within a
minute it signs with the new key and serves it in its JWKS. Instances sharing
the key file all follow it; nothing needs a restart.

Options:
${DATA_DIR_HELP}
  -h, --help         show this help`;

const rotate: Command = {
  name: 'rotate',
  summary: 'generate a new signing key; the previous one verifies for a day',
  help: ROTATE_HELP,
  async run(argv, io) {
    const { values } = parseVerb(argv, DATA_DIR_OPTIONS, ROTATE_HELP);
    if (values.help === true) return showHelp(io, ROTATE_HELP);
    const dataDir = resolveOption(values, io, 'dataDir');
    // Made as latchkey serve makes it: private, with a .gitignore, when it does not exist yet.
    makeStateFolder(dataDir);
    const path = join(dataDir, KEY_FILE);
    const storage = fileKeyStorage(path);
    const before = await storage.load();
    const previous = before === null ? undefined : signingKey(before);
    // Keep the algorithm in use: a key set of another algorithm would rotate on load by itself.
    const keys = await createKeySet({ storage, algorithm: previous?.alg ?? 'EdDSA', overlap: OVERLAP, reloadInterval: false });
    if (before === null) {
      const kid = keys.list()[0]?.kid as string;
      println(io.stdout, `No key file at ${path}: created it with a first signing key (${keys.algorithm}). Its kid:`, kid);
      return EXIT.ok;
    }
    const kid = await keys.rotate();
    const old = keys.list().find((k) => k.kid === previous?.kid);
    println(
      io.stdout,
      `Signing key rotated in ${path}.`,
      old === undefined || old.retiresAt === null ? 'There was no previous signing key.' : `The previous key ${old.kid} verifies until ${when(old.retiresAt)}.`,
      'A running latchkey serve signs with it within a minute (it re-reads the file). Its kid:',
      kid,
    );
    return EXIT.ok;
  },
};

const LIST_HELP = `Usage: latchkey keys list [--json] [--data-dir <dir>]

Lists the keys of <data-dir>/${KEY_FILE}, newest first, without key material:
kid, algorithm, created, and whether it signs or until when it verifies.
Exit code 1 when there is no key file.

Options:
  --json             print JSON: {"keys": [{"kid", "alg", "createdAt",
                     "retiresAt" (ms since epoch, null for the signing key)}]}
${DATA_DIR_HELP}
  -h, --help         show this help`;

const list: Command = {
  name: 'list',
  summary: 'list the signing keys: kid, algorithm, created, state',
  help: LIST_HELP,
  async run(argv, io) {
    const { values } = parseVerb(argv, { ...DATA_DIR_OPTIONS, json: { type: 'boolean' } }, LIST_HELP);
    if (values.help === true) return showHelp(io, LIST_HELP);
    const path = join(resolveOption(values, io, 'dataDir'), KEY_FILE);
    const stored = await fileKeyStorage(path).load();
    if (stored === null) {
      throw nothingError(`no key file at ${path}; latchkey serve or 'latchkey keys rotate' creates it`);
    }
    const now = Date.now();
    const keys = [...stored].sort((a, b) => b.createdAt - a.createdAt);
    if (values.json === true) {
      println(io.stdout, JSON.stringify({ keys: keys.map((k) => ({ kid: k.kid, alg: k.alg, createdAt: k.createdAt, retiresAt: k.retiresAt })) }));
      return EXIT.ok;
    }
    const current = signingKey(stored);
    const state = (k: StoredKey): string =>
      k === current ? 'signs' : k.retiresAt === null ? 'replaced' : k.retiresAt > now ? `verifies until ${when(k.retiresAt)}` : 'retired';
    println(io.stdout, ...table(['KID', 'ALG', 'CREATED', 'STATE'], keys.map((k) => [k.kid, k.alg, when(k.createdAt), state(k)])));
    return EXIT.ok;
  },
};

/** The key that signs: the newest one without a retirement time. */
function signingKey(keys: readonly StoredKey[]): StoredKey | undefined {
  return keys.filter((k) => k.retiresAt === null).sort((a, b) => b.createdAt - a.createdAt)[0];
}

/** `latchkey keys`. */
export const keysCommand: Command = group(
  'keys',
  'rotate and list the signing keys of access tokens',
  `The signing keys of token mode live in <data-dir>/${KEY_FILE}\n(private JWKs, mode 0600).`,
  [rotate, list],
);
