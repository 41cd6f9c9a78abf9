/**
 * The PostgreSQL store on Deno's real binary without the permissions its
 * driver needs: opening it is a ConfigError that names the permission and the
 * flag that grants it, at once (not a store outage after a timeout); with
 * both granted the same URL opens. A Redis store opened by URL gets the
 * same answer for the environment its driver reads as it loads. The store is the real server of
 * test/servers/postgres.ts.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresMissing, startPostgres, type PostgresServer } from '../servers/postgres.js';
import { requireRuntime, root } from './harness.js';

const run = promisify(execFile);
const deno = requireRuntime('deno');
const pgMissing = postgresMissing();
let postgres: PostgresServer | undefined;

beforeAll(async () => {
  if (deno !== null && pgMissing === null) postgres = await startPostgres();
});

afterAll(async () => {
  await postgres?.stop();
});

interface Opened {
  ok: boolean;
  name?: string;
  code?: string;
  message?: string;
}

/** test/runtimes/store-open.js on Deno with `permissions` (and read access to the package), opening `url`. */
async function openOnDeno(permissions: string[], url: string): Promise<Opened> {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', DO_NOT_TRACK: '1' };
  const { stdout } = await run(deno as string, ['run', '--allow-read', ...permissions, join('test', 'runtimes', 'store-open.js'), url], { cwd: root, env, timeout: 30_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as Opened;
}

describe.skipIf(deno === null || pgMissing !== null)('the PostgreSQL store on Deno without the permissions it needs', () => {
  it('names the environment permission when Deno refuses pg its PG* variables, with the flag to grant it', async () => {
    const url = (postgres as PostgresServer).url;
    const opened = await openOnDeno([`--allow-net=127.0.0.1:${(postgres as PostgresServer).port}`], url);
    expect(opened).toEqual({
      ok: false,
      name: 'ConfigError',
      code: 'ERR_CONFIG',
      message: expect.stringMatching(/^the PostgreSQL store needs a permission the runtime refused: Deno denied env access to "PG[A-Z]+"; run deno with --allow-env$/),
    });
  }, 40_000);

  it("names the network permission and the server's host and port when Deno refuses the connection", async () => {
    const { url, port } = postgres as PostgresServer;
    const opened = await openOnDeno(['--allow-env'], url);
    expect(opened).toEqual({
      ok: false,
      name: 'ConfigError',
      code: 'ERR_CONFIG',
      message: `the PostgreSQL store needs a permission the runtime refused: Deno denied net access to "127.0.0.1:${port}"; run deno with --allow-net=127.0.0.1:${port}`,
    });
  }, 40_000);

  it('names the environment permission for a Redis store opened by URL too, whose driver reads the environment as it loads', async () => {
    // Refused before any connection: no Redis server is needed to meet it.
    expect(await openOnDeno(['--allow-net=127.0.0.1'], 'redis://127.0.0.1:6390')).toEqual({
      ok: false,
      name: 'ConfigError',
      code: 'ERR_CONFIG',
      message: 'the Redis store needs a permission the runtime refused: Deno denied env access; run deno with --allow-env',
    });
  }, 40_000);

  it('opens the same store once both are granted', async () => {
    const { url, port } = postgres as PostgresServer;
    expect(await openOnDeno([`--allow-net=127.0.0.1:${port}`, '--allow-env'], url)).toEqual({ ok: true });
  }, 40_000);
});
