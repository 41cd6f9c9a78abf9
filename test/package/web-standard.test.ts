/**
 * What a Workers, edge or browser bundler takes of each runtime-neutral entry
 * point: the built package bundled with the conditions workerd's bundlers use
 * (rolldown, `workerd`/`worker`/`import`/`default`), then read. Nothing there
 * may import a `node:` module or use `Buffer`, and the primitives are the Web
 * ones; on Node the same entry points take Node's primitives (package.json
 * `imports`, condition `node`). The real runtime check is
 * test/runtimes/conformance.test.ts on workerd without nodejs_compat.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rolldown } from 'rolldown';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, root } from '../cli/built.js';

/** The entry points that run on every runtime (the README's runtime matrix). */
const WEB_ENTRIES = {
  latchkey: 'index.js',
  'latchkey/stores/memory': 'stores/memory.js',
  'latchkey/http': 'http/index.js',
  'latchkey/fetch': 'adapters/fetch.js',
  'latchkey/hono': 'adapters/hono.js',
  'latchkey/sealed': 'sealed/index.js',
  'latchkey/tokens': 'tokens/index.js',
  'latchkey/client': 'client/index.js',
};

/**
 * latchkey/http also exports the node:http glue (`nodeRequest`, `sendHttpError`...,
 * and the request view they build):
 * functions that take Node's request and response objects and use Buffer
 * inside, never at module level, so that importing them costs other
 * runtimes nothing. Only the Node adapters call them.
 */
const NODE_GLUE = new Set(['dist/http/node.js', 'dist/http/node-request.js']);

interface Bundled {
  /** Every import the bundle leaves to the runtime (node: modules among them). */
  external: string[];
  /** The modules bundled, relative to the repository. */
  modules: string[];
}

/** A module's code without its comments (enough for what this file looks for). */
function code(module: string): string {
  return readFileSync(join(root, module), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

async function bundle(file: string, conditionNames: string[]): Promise<Bundled> {
  const external = new Set<string>();
  const build = await rolldown({
    input: join(root, 'dist', file),
    platform: 'neutral',
    resolve: { conditionNames, mainFields: ['module', 'main'] },
    external: (id) => {
      const leftOut = id.startsWith('node:') || id === 'hono' || id.startsWith('hono/');
      if (leftOut) external.add(id);
      return leftOut;
    },
    logLevel: 'silent',
  });
  const { output } = await build.generate({ format: 'esm' });
  await build.close();
  return { external: [...external].sort(), modules: output[0].moduleIds.map((m) => m.replace(`${root}/`, '')).filter((m) => !m.startsWith('\0')) };
}

const WORKERD = ['workerd', 'worker', 'import', 'default'];

describe('the runtime-neutral entry points, bundled for workerd', () => {
  beforeAll(() => ensureBuilt(), 300_000);

  it.each(Object.entries(WEB_ENTRIES))('%s imports no node: module, uses no Buffer, and takes the Web primitives', async (_name, file) => {
    const b = await bundle(file, WORKERD);
    expect(b.external.filter((id) => id.startsWith('node:'))).toEqual([]);
    const usesBuffer = b.modules.filter((m) => !NODE_GLUE.has(m) && /\bBuffer\b/.test(code(m)));
    expect(usesBuffer).toEqual([]);
    // process.env in a message's example (a quoted string) is text, not a use.
    const unquoted = (m: string): string => code(m).replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/g, "''");
    expect(b.modules.filter((m) => /\bprocess\.\w/.test(unquoted(m)))).toEqual([]);
    if (b.modules.some((m) => m.startsWith('dist/core/primitives/'))) {
      expect(b.modules).toContain('dist/core/primitives/web.js');
      expect(b.modules).not.toContain('dist/core/primitives/node.js');
    }
  });

  it("keeps the key file out of latchkey/tokens: node:fs comes only with latchkey/tokens/file", async () => {
    expect((await bundle('tokens/index.js', WORKERD)).modules).not.toContain('dist/tokens/file-key-storage.js');
    expect((await bundle('tokens/file-key-storage.js', WORKERD)).external).toEqual(expect.arrayContaining(['node:fs/promises']));
  });

  it('gives Node the node:crypto primitives (condition node)', async () => {
    const b = await bundle('sealed/index.js', ['node', 'import', 'default']);
    expect(b.modules).toContain('dist/core/primitives/node.js');
    expect(b.modules).not.toContain('dist/core/primitives/web.js');
    expect(b.external).toContain('node:crypto');
  });
});
