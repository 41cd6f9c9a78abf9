/**
 * Which stores the one-shot verbs of the built `latchkey` executable take:
 * `apikeys create`, like `apikeys list|revoke` and `sessions`, works on the
 * store of a service and never creates one silently; and `memory:`, which
 * lives inside one process, is refused by every verb that would act on an
 * empty store of its own (`serve` and `bench` still take it).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { latchkey } from './process.js';
import { builtScratch } from '../helpers/built-scratch.js';

const scratch = builtScratch('latchkey-store-rules-');

describe('latchkey apikeys create', () => {
  it('refuses the default SQLite store that nothing created yet, with exit code 3, and creates neither it nor its folder', async () => {
    const cwd = mkdtempSync(join(scratch.dir, 'fresh-'));
    const out = await latchkey(['apikeys', 'create', '--name', 'billing'], cwd);
    expect(out).toEqual({
      code: 3,
      stdout: '',
      stderr: `latchkey: no database at ${join(cwd, '.latchkey', 'latchkey.db')} (start latchkey serve or run latchkey migrate to create it)\n`,
    });
    expect(existsSync(join(cwd, '.latchkey'))).toBe(false);
  });

  it('refuses a mistyped SQLite path, and makes a key once migrate created the store', async () => {
    const cwd = mkdtempSync(join(scratch.dir, 'typo-'));
    expect((await latchkey(['migrate', '--store', 'sqlite:./state/latchkey.db'], cwd)).code).toBe(0);
    const typo = await latchkey(['apikeys', 'create', '--store', 'sqlite:./stat/latchkey.db'], cwd);
    expect(typo.code).toBe(3);
    expect(existsSync(join(cwd, 'stat'))).toBe(false);
    const made = await latchkey(['apikeys', 'create', '--name', 'ci', '--store', 'sqlite:./state/latchkey.db'], cwd);
    expect(made.code).toBe(0);
    const id = made.stdout.trimEnd().split('\n').at(-1)?.slice(3, 27);
    const listed = await latchkey(['apikeys', 'list', '--json', '--store', 'sqlite:./state/latchkey.db'], cwd);
    expect(JSON.parse(listed.stdout)).toEqual({ apiKeys: [{ id, name: 'ci', createdAt: expect.any(Number) }] });
  });
});

describe('the memory: store', () => {
  const why =
    "cannot work on the memory: store: a memory store lives only inside the process that opened it, so this command would act on an empty store of its own and lose it on exit, unseen by any latchkey serve. Name the store your service uses: --store sqlite:<path>, redis://…, postgres://…\n";

  it.each([
    ['sessions list', ['sessions', 'list', '--user', 'alice']],
    ['sessions revoke', ['sessions', 'revoke', '--user', 'alice']],
    ['apikeys create', ['apikeys', 'create', '--name', 'billing']],
    ['apikeys list', ['apikeys', 'list']],
    ['apikeys revoke', ['apikeys', 'revoke', '0'.repeat(24)]],
    ['migrate', ['migrate']],
  ])('is refused by "latchkey %s" with exit code 2 and the reason, from --store or LATCHKEY_STORE', async (verb, args) => {
    const byFlag = await latchkey([...args, '--store', 'memory:'], scratch.dir);
    expect(byFlag).toEqual({ code: 2, stdout: '', stderr: `latchkey: 'latchkey ${verb}' ${why}` });
    const byVariable = await latchkey(args, scratch.dir, { LATCHKEY_STORE: 'memory:' });
    expect(byVariable).toEqual(byFlag);
  });

  it('is still what latchkey bench measures', async () => {
    const out = await latchkey(['bench', '--store', 'memory:', '--sessions', '20', '--duration', '1', '--json'], scratch.dir);
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({ store: 'memory:', sessions: 20 });
  });
});
