/**
 * The built `latchkey/browser` as static ES modules a page may load from the
 * service's own origin: the import closure of `dist/browser/index.js` (its
 * files and the few dependency-free files of `dist/core/` it imports),
 * read once, and nothing else of `dist/`.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';

/** The built package's `dist/`, reached the same way from `src/server/` and `dist/server/`. */
const DIST = new URL('../../dist/', import.meta.url);
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+\.js)['"]/g;

/**
 * The module files by path under `dist/` (`browser/index.js`,
 * `core/errors.js`...), with their text; `null` when the package is not built.
 *
 * @example
 * ```ts
 * const files = await browserModules();
 * const text = files?.get('browser/index.js');
 * ```
 */
export async function browserModules(dist: URL = DIST): Promise<ReadonlyMap<string, string> | null> {
  const files = new Map<string, string>();
  const queue = ['browser/index.js'];
  while (queue.length > 0) {
    const path = queue.shift() as string;
    if (files.has(path)) continue;
    let text: string;
    try {
      text = await readFile(new URL(path, dist), 'utf8');
    } catch {
      // Not built (npm run build makes dist/browser/), or half built: no page could load the module.
      return null;
    }
    files.set(path, text);
    for (const m of text.matchAll(IMPORT)) {
      const target = new URL(m[1] as string, new URL(path, dist)).href;
      // Only files inside dist/: an import that climbs out of it is no module of this package to serve.
      if (target.startsWith(dist.href)) queue.push(target.slice(dist.href.length));
    }
  }
  return files;
}
