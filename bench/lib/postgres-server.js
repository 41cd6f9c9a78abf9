/**
 * A private PostgreSQL cluster for a benchmark, from the local binaries
 * (Debian package `postgresql`): a temp folder, a free port on 127.0.0.1,
 * fsync off (the benchmarks measure latchkey and the driver, not the disk).
 * Run as the `postgres` user when we are root (it refuses to run as root);
 * stopped at exit, its folder removed.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

/** A private PostgreSQL cluster on a free port, run as the `postgres` user when we are root (it refuses to run as root). */
export async function startPostgresServer(name = 'postgres') {
  const run = promisify(execFile);
  const bin = findBin();
  if (bin === null) {
    console.error(`${name} benchmark: PostgreSQL binaries not found (install the Debian package "postgresql")`);
    process.exit(process.env.CI ? 1 : 0);
  }
  const root = mkdtempSync(join(tmpdir(), 'latchkey-pg-bench-'));
  const data = join(root, 'data');
  const socket = join(root, 'socket');
  mkdirSync(data, { mode: 0o700 });
  mkdirSync(socket);
  const isRoot = process.getuid?.() === 0;
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']));
    const gid = Number(execFileSync('id', ['-g', 'postgres']));
    for (const dir of [root, data, socket]) chownSync(dir, uid, gid);
  }
  const as = (cmd, args) =>
    isRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { cwd: root }) : run(join(bin, cmd), args, { cwd: root });
  const pgCtlStop = ['-D', data, '-m', 'immediate', '-w', 'stop'];
  const stop = () => {
    try {
      if (isRoot) execFileSync('runuser', ['-u', 'postgres', '--', join(bin, 'pg_ctl'), ...pgCtlStop], { stdio: 'ignore', cwd: root });
      else execFileSync(join(bin, 'pg_ctl'), pgCtlStop, { stdio: 'ignore', cwd: root });
    } catch {
      // not running
    }
    rmSync(root, { recursive: true, force: true });
  };
  await as('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
  const port = await freePort();
  const settings = `-p ${port} -k ${socket} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c shared_buffers=1GB`;
  await as('pg_ctl', ['-D', data, '-o', settings, '-l', join(root, 'server.log'), '-w', '-t', '30', 'start']);
  process.once('exit', stop);
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop };
}

function findBin() {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  if (existsSync('/usr/lib/postgresql')) {
    const versions = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v));
    dirs.push(...versions.sort((a, b) => Number(b) - Number(a)).map((v) => `/usr/lib/postgresql/${v}/bin`));
  }
  return dirs.find((d) => ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(d, b)))) ?? null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
