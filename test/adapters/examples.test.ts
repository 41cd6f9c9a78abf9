/**
 * Starts every example app once, from the built package, and walks through
 * it like a browser would, so that the examples cannot rot. The Nest example
 * is TypeScript with Nest's decorators: compiled first with its own
 * tsconfig, as a Nest project is.
 */
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, it } from 'vitest';
import { startExample, walkExample, type RunningExample } from './support/examples.js';

const root = join(import.meta.dirname, '..', '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

let running: RunningExample | null = null;
afterEach(() => {
  running?.stop();
  running = null;
});

const start = async (name: string, script: string): Promise<string> => {
  running = await startExample(join(root, 'examples', script), root, { LATCHKEY_DB: join(tmpdir(), `latchkey-example-${process.pid}-${name}.db`) });
  return running.url;
};

describe('the examples', () => {
  beforeAll(() => {
    // The examples import the built package ('latchkey/express', ...): build it if it is missing or stale.
    const built = join(root, 'dist', 'adapters', 'express.js');
    const stale = !existsSync(built) || statSync(built).mtimeMs < Math.max(newestMtime(join(root, 'src', 'http')), newestMtime(join(root, 'src', 'adapters')));
    if (stale) execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root });
    execFileSync(process.execPath, [tsc, '-p', join('examples', 'nest')], { cwd: root });
  }, 120_000);

  it.each(['express', 'fastify', 'hono', 'fetch', 'node', 'koa'])('the %s example signs in, shows the session and signs out everywhere', async (name) => {
    await walkExample(await start(name, join(name, 'server.js')));
  });

  it.each([
    ['Express', 'server.js'],
    ['Fastify', 'fastify.js'],
  ])("the NestJS example on Nest's %s platform signs in, guards its account route, shows the session and signs out everywhere", async (platform, script) => {
    await walkExample(await start(`nest-${platform}`, join('nest', 'dist', 'nest', script)), '/account');
  });
});
