/**
 * Starts the conformance app (examples/shared/fetch-app.js) on a real
 * runtime binary from scripts/runtimes.js — Node 22, Bun, Deno or workerd —
 * on a free port of 127.0.0.1, and stops it. A missing binary is a loud
 * SKIPPED outside CI and a failure under CI=true.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from '../servers/redis.js';

export const root = join(import.meta.dirname, '..', '..');

/** The runtimes the conformance app runs on. */
export type RuntimeName = 'node22' | 'bun' | 'deno' | 'workerd';
/** The app's session modes. `remote`: sessions kept by a session service (LATCHKEY_URL, LATCHKEY_API_KEY in `env`). */
export type Mode = 'stateful' | 'sealed' | 'tokens' | 'remote';

/** A sealing / refresh secret for the test apps only. */
export const TEST_SECRET = 'conformance-secret-0123456789-abcdefghijklmnop';

/**
 * workerd's compatibility date for the Workers example and the tests. From
 * 2026-08-04 on, nodejs_compat is on by default at this date; switching it
 * off takes the two disable flags below.
 */
export const WORKERD_COMPATIBILITY_DATE = '2026-11-01';

interface Manifest {
  [name: string]: { package: string; version: string; bin: string };
}
const manifest = JSON.parse(readFileSync(join(root, 'scripts', 'runtimes.json'), 'utf8')) as Manifest;

/** The pinned version of a runtime (scripts/runtimes.json). */
export function runtimeVersion(name: RuntimeName | 'node24'): string {
  return (manifest[name] as Manifest[string]).version;
}

/** The runtime's binary as scripts/runtimes.js unpacked it, or `null`: the same cache folder and key. */
export function runtimeBinary(name: RuntimeName): string | null {
  const rt = manifest[name] as Manifest[string];
  const cache = process.env.LATCHKEY_RUNTIMES_DIR || join(homedir(), '.cache', 'latchkey', 'runtimes');
  const dir = join(cache, `${rt.package.replace('/', '+')}@${rt.version}`);
  return existsSync(join(dir, '.installed')) ? join(dir, rt.bin) : null;
}

const warned = new Set<RuntimeName>();

/**
 * The binary, or `null` after a loud SKIPPED warning (once per runtime); under CI a missing
 * binary throws (CI installs them first with `node scripts/runtimes.js install`).
 */
export function requireRuntime(name: RuntimeName): string | null {
  const bin = runtimeBinary(name);
  if (bin !== null) return bin;
  const how = `node scripts/runtimes.js install ${name}`;
  if (process.env.CI) throw new Error(`${name} ${runtimeVersion(name)} is not installed, and CI is set: run ${how}`);
  if (!warned.has(name)) console.warn(`SKIPPED: runtime conformance on ${name} — ${name} ${runtimeVersion(name)} is not installed (${how})`);
  warned.add(name);
  return null;
}

/** Options of a workerd run. */
export interface WorkerdOptions {
  /**
   * Node.js compatibility (`node:*` modules, `Buffer`). `false` runs the
   * worker with `no_nodejs_compat` and `no_nodejs_compat_v2`, as a Worker
   * without the flag would.
   * @default true
   */
  nodeCompat?: boolean;
  /** The worker module to serve, bundled with latchkey. @default examples/workers/worker.js */
  worker?: string;
  /** On Node, Bun and Deno: the server module to run. @default the runtime's example (test/runtimes/node-server.mjs on Node) */
  server?: string;
  /**
   * More environment variables for the app. On workerd each becomes a
   * binding of the worker, and the worker's outbound requests may reach
   * 127.0.0.1 (a network service allowing `local` addresses), so that it can
   * call a server the test runs.
   */
  env?: Record<string, string>;
}

/** Options of {@link startApp}. */
export interface AppOptions extends WorkerdOptions {
  /**
   * An SQLite file for the stateful sessions (`LATCHKEY_SQLITE` of the
   * Node, Bun and Deno servers), on the runtime's own SQLite. Deno is
   * allowed to write in its folder only.
   */
  sqlite?: string;
}

/** A running app. */
export interface RunningApp {
  readonly url: string;
  /** What the process printed so far (stdout and stderr). */
  output(): string;
  stop(): Promise<void>;
}

const EXAMPLE_WORKER = join(root, 'examples', 'workers', 'worker.js');
const bundled = new Map<string, { dir: string; file: string }>();

/** A worker module bundled once per test process (workerd resolves no package names), by examples/workers/build.js. */
function workerBundle(entry: string): { dir: string; file: string } {
  let b = bundled.get(entry);
  if (b === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-workerd-'));
    const file = join(dir, 'worker.js');
    execFileSync(process.execPath, [join(root, 'examples', 'workers', 'build.js'), file, entry], { cwd: root, stdio: 'pipe' });
    b = { dir, file };
    bundled.set(entry, b);
  }
  return b;
}

/** Removes the bundle folders. */
export function cleanUpWorkerBundle(): void {
  for (const b of bundled.values()) rmSync(b.dir, { recursive: true, force: true });
  bundled.clear();
}

/** The example's workerd config with the bundle beside it and the compatibility flags of `options`. */
function workerdConfig(options: WorkerdOptions): string {
  const { dir } = workerBundle(options.worker ?? EXAMPLE_WORKER);
  const flags = options.nodeCompat === false ? ['no_nodejs_compat', 'no_nodejs_compat_v2'] : [];
  let text = readFileSync(join(root, 'examples', 'workers', 'workerd.capnp'), 'utf8');
  const edits: Array<[RegExp, string]> = [
    [/embed "dist\/worker\.js"/, 'embed "worker.js"'],
    [/compatibilityDate = "[^"]*"/, `compatibilityDate = "${WORKERD_COMPATIBILITY_DATE}"`],
    [/compatibilityFlags = \[[^\]]*\]/, `compatibilityFlags = [${flags.map((f) => JSON.stringify(f)).join(', ')}]`],
  ];
  for (const [from, to] of edits) {
    if (!from.test(text)) throw new Error(`examples/workers/workerd.capnp no longer has ${from}`);
    text = text.replace(from, to);
  }
  const extra = Object.keys(options.env ?? {});
  if (extra.length > 0) {
    const more: Array<[RegExp, string]> = [
      [/services = \[ \(name = "main", worker = \.worker\) \]/, 'services = [ (name = "main", worker = .worker), (name = "loopback", network = (allow = ["local"])) ]'],
      [/bindings = \[\n/, `globalOutbound = "loopback",\n  bindings = [\n${extra.map((name) => `    (name = ${JSON.stringify(name)}, fromEnvironment = ${JSON.stringify(name)}),\n`).join('')}`],
    ];
    for (const [from, to] of more) {
      if (!from.test(text)) throw new Error(`examples/workers/workerd.capnp no longer has ${from}`);
      text = text.replace(from, to);
    }
  }
  const config = join(dir, `workerd-${options.nodeCompat === false ? 'plain' : 'compat'}${extra.length > 0 ? '-loopback' : ''}.capnp`);
  writeFileSync(config, text);
  return config;
}

function command(runtime: RuntimeName, bin: string, port: number, options: AppOptions): string[] {
  switch (runtime) {
    case 'node22':
      return [bin, options.server ?? join(root, 'test', 'runtimes', 'node-server.mjs')];
    case 'bun':
      return [bin, options.server ?? join(root, 'examples', 'bun', 'server.js')];
    case 'deno':
      return [
        bin,
        'run',
        '--allow-net=127.0.0.1',
        '--allow-env',
        '--allow-read',
        ...(options.sqlite !== undefined ? [`--allow-write=${dirname(options.sqlite)}`] : []),
        options.server ?? join(root, 'examples', 'deno', 'server.js'),
      ];
    case 'workerd':
      return [bin, 'serve', workerdConfig(options), '--socket-addr', `http=127.0.0.1:${port}`];
  }
}

/**
 * Starts the app in `mode` on `runtime` and resolves once it answers HTTP;
 * rejects with the process's output if it exits first or is not up within 20 s.
 */
export async function startApp(runtime: RuntimeName, bin: string, mode: Mode, options: AppOptions = {}): Promise<RunningApp> {
  const port = await freePort();
  const [file, ...args] = command(runtime, bin, port, options);
  const child: ChildProcess = spawn(file as string, args, {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LATCHKEY_MODE: mode,
      ...(options.sqlite !== undefined ? { LATCHKEY_SQLITE: options.sqlite } : {}),
      SESSION_SECRET: TEST_SECRET,
      NODE_ENV: 'production',
      // No update checks or telemetry: nothing but 127.0.0.1.
      DENO_NO_UPDATE_CHECK: '1',
      DO_NOT_TRACK: '1',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  let exited: number | string | null = null;
  const exit = new Promise<void>((resolve) => child.once('exit', (code, signal) => ((exited = code ?? signal ?? 'exit'), resolve())));
  const url = `http://127.0.0.1:${port}`;
  const app: RunningApp = {
    url,
    output: () => out,
    async stop() {
      if (exited !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(killer);
    },
  };
  const until = Date.now() + 20_000;
  for (;;) {
    if (exited !== null) throw new Error(`${runtime} exited (${exited}) before answering:\n${out}`);
    try {
      await fetch(`${url}/me`, { signal: AbortSignal.timeout(2000) });
      return app;
    } catch {
      // Not listening yet (or the worker failed to load: then workerd answers nothing).
    }
    if (Date.now() > until) {
      await app.stop();
      throw new Error(`${runtime} did not answer on ${url} within 20 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
