/**
 * A private PostgreSQL server for tests, started from the local binaries
 * (Debian's `postgresql` package puts them in /usr/lib/postgresql/<n>/bin) on
 * 127.0.0.1 and a free port, with its data in a temporary folder.
 *
 * PostgreSQL refuses to run as root: when the tests run as root, the data
 * folder is given to the `postgres` user and every server command runs
 * through `runuser -u postgres`.
 *
 * When the binaries are missing, `postgresMissing()` says why: test files skip
 * their PostgreSQL tests with a loud warning, or, when `CI` is set, fail.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A running (or stopped) test server. */
export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Starts the server again on the same data and port (after `crash()` or `stop()`). */
  start(): Promise<void>;
  /** Stops the server the hard way (`pg_ctl stop -m immediate`): like a crash, clients are cut off at once. */
  crash(): Promise<void>;
  /** Stops the server for good and removes its files. */
  stop(): Promise<void>;
  /**
   * SIGSTOP to every process of the server (the postmaster first, so that it
   * starts no new backend): connections stay open and nothing answers, as
   * on a stalled host.
   */
  pause(): void;
  /** SIGCONT after pause(), the postmaster last. */
  resume(): void;
}

/** The folder holding initdb, pg_ctl and postgres, or null. */
export function findPostgresBin(): string | null {
  const candidates = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  try {
    const versions = readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`));
  } catch {
    // not a Debian-style installation
  }
  return candidates.find((dir) => ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(dir, b)))) ?? null;
}

/**
 * Why PostgreSQL tests cannot run here, or `null` if they can. Throws when
 * `CI` is set and they cannot: CI must never pass by skipping.
 */
export function postgresMissing(): string | null {
  const bin = findPostgresBin();
  let reason: string | null = null;
  if (bin === null) reason = 'PostgreSQL binaries (initdb, pg_ctl, postgres) not found on PATH or in /usr/lib/postgresql/*/bin';
  else if (isRoot() && !hasUser('postgres')) reason = 'running as root but there is no `postgres` user to run PostgreSQL as';
  if (reason === null) return null;
  if (process.env.CI) throw new Error(`PostgreSQL tests cannot run: ${reason}. Install the Debian package "postgresql".`);
  console.warn(`SKIPPED: PostgreSQL tests: ${reason}. Install the Debian package "postgresql" to run them.`);
  return reason;
}

/**
 * Makes a fresh cluster and starts it.
 *
 * @example
 * ```ts
 * let server: PostgresServer;
 * beforeAll(async () => { server = await startPostgres(); });
 * afterAll(() => server?.stop());
 * ```
 */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = findPostgresBin();
  if (bin === null) throw new Error('PostgreSQL binaries not found');
  const root = mkdtempSync(join(tmpdir(), 'latchkey-pg-'));
  const dataDir = join(root, 'data');
  const socketDir = join(root, 'socket');
  mkdirSync(dataDir, { mode: 0o700 });
  mkdirSync(socketDir);
  if (isRoot()) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    for (const dir of [root, dataDir, socketDir]) chownSync(dir, uid, gid);
  }
  const as = (cmd: string, args: string[]) =>
    isRoot() ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { cwd: root }) : run(join(bin, cmd), args, { cwd: root });

  await as('initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
  const port = await freePort();
  const settings = [
    `-p ${port}`,
    `-k ${socketDir}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c full_page_writes=off',
    '-c max_connections=200',
  ].join(' ');
  const start = async (): Promise<void> => {
    await as('pg_ctl', ['-D', dataDir, '-o', settings, '-l', join(root, 'server.log'), '-w', '-t', '30', 'start']);
  };
  const crash = async (): Promise<void> => {
    await as('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
  };
  let stopped = false;
  const stopSync = (): void => {
    if (stopped) return;
    stopped = true;
    try {
      // A paused server (pause()) could not act on the stop request.
      for (const pid of serverPids(dataDir)) process.kill(pid, 'SIGCONT');
    } catch {
      // not running
    }
    try {
      const args = ['-D', dataDir, '-m', 'immediate', '-w', 'stop'];
      if (isRoot()) execFileSync('runuser', ['-u', 'postgres', '--', join(bin, 'pg_ctl'), ...args], { stdio: 'ignore', cwd: root });
      else execFileSync(join(bin, 'pg_ctl'), args, { stdio: 'ignore' });
    } catch {
      // already stopped
    }
    rmSync(root, { recursive: true, force: true });
  };
  // A test run that dies early must not leave a server behind.
  process.once('exit', stopSync);

  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    start,
    crash,
    pause() {
      const [postmaster, ...children] = serverPids(dataDir);
      process.kill(postmaster as number, 'SIGSTOP');
      for (const pid of children) process.kill(pid, 'SIGSTOP');
    },
    resume() {
      const [postmaster, ...children] = serverPids(dataDir);
      for (const pid of children) process.kill(pid, 'SIGCONT');
      process.kill(postmaster as number, 'SIGCONT');
    },
    async stop() {
      process.off('exit', stopSync);
      stopSync();
    },
  };
}

/** The postmaster's pid (from postmaster.pid), then its children's (from /proc). */
function serverPids(dataDir: string): number[] {
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the parent pid; the name (field 2) may hold spaces, so count from its ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return [postmaster, ...children];
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function hasUser(name: string): boolean {
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
