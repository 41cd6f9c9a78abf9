/**
 * The folders that `latchkey serve` and the `latchkey` CLI create for their
 * state: the data folder (signing keys, the refresh secret, the generated
 * admin password) and the folder of an SQLite store. Such a folder is
 * private to its user (mode 0700) and carries a `.gitignore` that ignores
 * everything in it, so that keys and passwords never reach a commit of the
 * project the service was started in (`npm start` in a clone, `npx latchkey
 * serve` in an app). A folder that already exists is the user's own and is
 * left exactly as it is.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseStoreUrl } from '../stores/url.js';

/** The `.gitignore` written into a folder latchkey creates: everything in it stays out of git, itself included. */
export const STATE_GITIGNORE = `# Written by latchkey when it created this folder: signing keys, secrets,
# passwords and session data live here. Nothing in it belongs in a commit.
*
`;

/**
 * Creates `path` (and its missing parents) with mode 0700 and, when the
 * folder itself was created now, writes its `.gitignore`. Resolves whether
 * it created the folder.
 *
 * @example
 * ```ts
 * makeStateFolder('/srv/app/.latchkey'); // true the first time, then false
 * ```
 */
export function makeStateFolder(path: string): boolean {
  if (mkdirSync(path, { recursive: true, mode: 0o700 }) === undefined) return false;
  try {
    writeFileSync(join(path, '.gitignore'), STATE_GITIGNORE, { flag: 'wx', mode: 0o644 });
  } catch (err) {
    // Another process created the folder at the same moment and wrote it first.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return true;
}

/**
 * For an `sqlite:<path>` store URL, makes the folder of the file with
 * {@link makeStateFolder} (the store would create it bare otherwise); other
 * stores have no folder. Relative paths are resolved against `cwd`.
 *
 * @example
 * ```ts
 * makeStoreFolder('sqlite:./.latchkey/latchkey.db'); // ./.latchkey with its .gitignore
 * ```
 */
export function makeStoreFolder(url: string, cwd: string = process.cwd()): boolean {
  const where = parseStoreUrl(url, cwd);
  if (where.kind !== 'sqlite' || where.path === ':memory:' || where.path.startsWith('file:')) return false;
  return makeStateFolder(dirname(where.path));
}
