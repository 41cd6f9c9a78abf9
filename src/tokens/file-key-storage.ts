/**
 * latchkey's key file for token mode, on Node.js (and runtimes with
 * `node:fs`): a {@link KeyStorage} in a JSON file of private JWKs. A subpath
 * of its own, `latchkey/tokens/file`, so that `latchkey/tokens` imports no
 * file system and runs on every runtime (a Workers module keeps its keys in
 * a binding or a secret instead, through a {@link KeyStorage} of its own).
 *
 * @module
 */
import { chmod, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError, LatchkeyTypeError } from '../core/errors.js';
import { isStoredKey, type KeyStorage } from './key-storage.js';

export type { KeyStorage, StoredKey } from './key-storage.js';

/**
 * Keeps keys in a JSON file of private JWKs, written atomically (temporary
 * file, then rename) with mode 0600 in a folder created with mode 0700. A key
 * file that group or others may read is refused, as ssh does.
 *
 * @example
 * ```ts
 * import { createKeySet } from 'latchkey/tokens';
 * import { fileKeyStorage } from 'latchkey/tokens/file';
 *
 * const keys = await createKeySet({ storage: fileKeyStorage('./.latchkey/keys.json') });
 * ```
 */
export function fileKeyStorage(path: string): KeyStorage {
  if (typeof path !== 'string' || path === '') throw new LatchkeyTypeError('fileKeyStorage() takes a file path');
  return {
    async load() {
      let text: string;
      try {
        const info = await stat(path);
        if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
          throw new ConfigError(`the key file ${path} may be read by other users; run chmod 600 on it`);
        }
        text = await readFile(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new ConfigError(`the key file ${path} is not valid JSON`);
      }
      const keys = (parsed as { keys?: unknown } | null)?.keys;
      if (!Array.isArray(keys) || !keys.every(isStoredKey)) {
        throw new ConfigError(`the key file ${path} does not hold latchkey keys ({ "keys": [...] })`);
      }
      return keys;
    },
    async save(keys) {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
      const handle = await open(tmp, 'w', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify({ version: 1, keys }, null, 2)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await chmod(tmp, 0o600);
        await rename(tmp, path);
      } catch (err) {
        await unlink(tmp).catch(() => {});
        throw err;
      }
    },
  };
}
