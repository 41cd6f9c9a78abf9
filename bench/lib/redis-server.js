/**
 * A private redis-server for a benchmark: a free port on 127.0.0.1, a temp
 * folder, no persistence. Stopped with SIGTERM; the folder is removed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether a redis-server binary is on the PATH. */
export function redisInstalled() {
  return spawnSync('redis-server', ['--version']).status === 0;
}

/**
 * Starts a redis-server of our own.
 *
 * @returns {Promise<{ url: string, version: string, stop: () => Promise<void> }>}
 */
export async function startRedisServer() {
  const port = await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const p = srv.address().port;
      srv.close(() => resolve(p));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
  const child = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  const version = await new Promise((resolve, reject) => {
    let out = '';
    child.on('error', (err) => reject(new Error(`cannot start redis-server (apt-get install redis-server): ${err.message}`)));
    child.on('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${out}`)));
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('Ready to accept connections')) {
        child.stdout.removeAllListeners('data');
        child.stdout.resume();
        resolve(/version=([\d.]+)/.exec(out)?.[1] ?? 'unknown');
      }
    });
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    version,
    stop: () =>
      new Promise((resolve) => {
        child.removeAllListeners('exit');
        child.once('exit', () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
