/**
 * What the Next.js end-to-end tests share: `next build` of an app once per
 * test file, `next start` on 127.0.0.1 in a given mode, the session service
 * (`latchkey serve`'s service, in this process) for the remote mode, and the
 * key file of token mode written by the `latchkey keys rotate` CLI.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';

export const root = join(import.meta.dirname, '..', '..');
export const nextApp = join(root, 'examples', 'next');
export const edgeMiddlewareApp = join(nextApp, 'edge-middleware');
const nextBin = join(root, 'node_modules', 'next', 'dist', 'bin', 'next');
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', LATCHKEY_INSECURE_COOKIES: '1' };
export const SESSION_SECRET = 'a Next.js example secret of at least thirty-two bytes';
const REFRESH_SECRET = 'the refresh secret of the Next.js example, 32 bytes or more';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

const built = new Set<string>();
/** `next build` of `app` once per test file (the mode is read when the server starts); dist/ first, when stale. */
export function buildOnce(app: string): void {
  if (built.has(app)) return;
  execFileSync(process.execPath, [join(root, 'scripts', 'build.js'), '--if-stale'], { cwd: root, stdio: 'ignore' });
  const started = Date.now();
  try {
    execFileSync(process.execPath, [nextBin, 'build', app], { cwd: root, env, stdio: 'pipe', timeout: 300_000 });
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`next build ${app} failed:\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`);
  }
  console.log(`next build of ${app.slice(root.length + 1)}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  built.add(app);
}

/** A running `next start`. */
export interface NextServer {
  readonly base: string;
  /** What the server printed so far (stdout and stderr). */
  output(): string;
  stop(): void;
}

/** `next start` of a built app on 127.0.0.1 with `extra` in its environment; resolves once it is ready. */
export async function startNext(app: string, extra: Record<string, string>): Promise<NextServer> {
  const port = await freePort();
  const server: ChildProcess = spawn(process.execPath, [nextBin, 'start', app, '-H', '127.0.0.1', '-p', String(port)], {
    cwd: root,
    env: { ...env, SESSION_SECRET, REFRESH_SECRET, ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  server.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  server.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`next start did not get ready: ${out}`)), 60_000);
    const seen = () => {
      if (/ready|Ready/.test(out)) {
        clearTimeout(timer);
        server.stdout?.off('data', seen);
        resolve();
      }
    };
    server.stdout?.on('data', seen);
    server.on('exit', (code) => reject(new Error(`next start exited with ${code}: ${out}`)));
  });
  return { base: `http://127.0.0.1:${port}`, output: () => out, stop: () => server.kill() };
}

/** The session service of the remote mode, listening on 127.0.0.1, with an API key for the app. */
export interface SessionService {
  readonly url: string;
  readonly apiKey: string;
  readonly service: Service;
  close(): Promise<void>;
}

export async function startSessionService(): Promise<SessionService> {
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-next-service-'));
  const config = loadConfig({ flags: { port: '0', store: 'memory:', dataDir, adminPassword: 'correct horse battery', logLevel: 'silent' }, env: {} });
  const service = await createService(config);
  const url = await service.listen();
  const { key } = await service.ctx.apiKeys.create('next-example');
  return {
    url,
    apiKey: key,
    service,
    async close() {
      await service.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** TOKEN_KEYS as a user makes it: the key file `latchkey keys rotate` writes (the built CLI). */
export function tokenKeys(): string {
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-next-keys-'));
  try {
    execFileSync(process.execPath, [join(root, 'dist', 'cli', 'main.js'), 'keys', 'rotate', '--data-dir', dataDir], { stdio: 'pipe' });
    return readFileSync(join(dataDir, 'keys.json'), 'utf8');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The lines of a `next start` output that report an error: Next.js marks them with ⨯, latchkey's default onError prints an Error. */
export function loggedErrors(output: string): string[] {
  return output.split('\n').filter((line) => /⨯|\bError\b|\berror\b/.test(line));
}
