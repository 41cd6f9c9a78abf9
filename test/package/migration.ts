/**
 * docs/migrating.md's express-session recipe, run as a user would run it in
 * the package test's scratch project: `before.js` (express-session +
 * connect-redis) and `after.js` (latchkey with the migrator), exactly as
 * the document shows them, each a node process of its own on real Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { codeBlocks } from './readme.js';

/** The ```js blocks of docs/migrating.md that open with `// <name>`, by name. */
export function migrationFiles(root: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const block of codeBlocks(readFileSync(join(root, 'docs', 'migrating.md'), 'utf8'))) {
    const m = /^\/\/ ([\w-]+\.js)\n/.exec(block.code);
    if (block.lang === 'js' && m !== null) files.set(m[1] as string, block.code);
  }
  return files;
}

/** The npm packages the recipe needs besides the README's, at the versions this project tests with. */
export function recipePackages(devDependencies: Record<string, string>): string[] {
  return ['express-session', 'connect-redis', 'redis'].map((name) => {
    const version = devDependencies[name];
    if (version === undefined) throw new Error(`${name} is no devDependency of latchkey: the migration test pins what the project tests with`);
    return `${name}@${version}`;
  });
}

/** A running recipe file. */
export interface Process {
  readonly url: string;
  stop(): Promise<void>;
}

/** Writes `code` as `dir/name` and runs it with `env`, on `port`; resolves once it answers HTTP. */
export async function runRecipe(dir: string, name: string, code: string, port: number, env: Record<string, string>): Promise<Process> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), code);
  const child: ChildProcess = spawn(process.execPath, [name], { cwd: dir, env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const ended = once(child, 'exit');
    child.kill('SIGTERM');
    await ended;
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} ended with ${child.exitCode}:\n${output}`);
    try {
      await fetch(`${url}/me`);
      return { url, stop };
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`${name} did not answer on port ${port} within 15 s:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
