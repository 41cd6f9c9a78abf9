/**
 * Real Redis servers for tests, from the local `redis-server` binary (Debian
 * package `redis-server`): a standalone server and a 3-node cluster on
 * 127.0.0.1, on free ports, with nothing saved to disk.
 *
 * When the binary is missing, suites skip with a loud warning, unless
 * `process.env.CI` is set: then importing this module throws, so CI fails.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function found(bin: string): boolean {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

/** Whether `redis-server` and `redis-cli` can run here. */
export const redisAvailable: boolean = found('redis-server') && found('redis-cli');

if (!redisAvailable) {
  if (process.env.CI) throw new Error('redis-server / redis-cli not found, and CI is set: install the Debian package redis-server');
  console.warn('SKIPPED: Redis store tests — redis-server not found (apt-get install redis-server)');
}

/** A free TCP port on 127.0.0.1 (the OS picks it; a race with other processes is possible but rare). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A running redis-server process. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Stops it gracefully and waits for the process to end. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would; waits for the process to end. */
  kill(): Promise<void>;
  /** Starts it again on the same port (after stop or kill). */
  restart(): Promise<void>;
  /** SIGSTOP: the server keeps its connections but answers nothing, as a stalled host would. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
}

/** Starts `redis-server args` in `cwd`; resolves once its log says it is ready (`ready`, by default a server's line). */
export function launch(args: string[], cwd: string, ready = 'Ready to accept connections'): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-server', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not start within 10 s:\n${out}`));
    }, 10_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(ready)) {
        clearTimeout(timer);
        child.stdout?.removeAllListeners('data');
        child.stdout?.resume();
        resolve(child);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code} before it was ready:\n${out}`));
    });
  });
}

/** Sends `signal` and waits for the process to end. */
export function ended(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

export function baseArgs(port: number): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'notice'];
}

/**
 * Starts a standalone redis-server on a free port; with `appendOnly`, one
 * that keeps its data across a kill and restart.
 *
 * @example
 * ```ts
 * const server = await startRedis();
 * const store = redisStore({ url: server.url });
 * await server.stop();
 * ```
 */
export async function startRedis(options: { appendOnly?: boolean } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-redis-'));
  // appendOnly: every write is in the append-only file before Redis answers it, so a killed server comes back with its data.
  const args = options.appendOnly === true ? [...baseArgs(port), '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir] : baseArgs(port);
  let child = await launch(args, dir);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      // A paused server (pause()) would never act on SIGTERM.
      child.kill('SIGCONT');
      await ended(child, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    async kill() {
      await ended(child, 'SIGKILL');
    },
    async restart() {
      child = await launch(args, dir);
    },
    pause() {
      child.kill('SIGSTOP');
    },
    resume() {
      child.kill('SIGCONT');
    },
  };
}

/** A running 3-primary Redis Cluster (with `replicas`, one replica per primary). */
export interface RedisCluster {
  readonly nodes: ReadonlyArray<{ host: string; port: number }>;
  /** SIGKILL of the node on `port`, as a crash would; waits for the process to end. */
  kill(port: number): Promise<void>;
  /** Starts a killed node again on the same port and cluster config (it rejoins as a replica). */
  restart(port: number): Promise<void>;
  /** SIGSTOP of the node on `port`: connections open, nothing read, as a partitioned host. */
  pause(port: number): void;
  /** SIGCONT after pause(). */
  resume(port: number): void;
  stop(): Promise<void>;
}

function cli(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('redis-cli', args, { encoding: 'utf8', timeout: 30_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/**
 * Starts a 3-node Redis Cluster (3 primaries, no replicas; with
 * `replicas: 1`, 6 nodes: 3 primaries and a replica of each, which a
 * primary's failure promotes within about a second) on free ports and waits
 * until every node reports `cluster_state:ok`.
 *
 * @example
 * ```ts
 * const cluster = await startRedisCluster();
 * const store = redisStore({ cluster: { nodes: [...cluster.nodes] } });
 * ```
 */
export async function startRedisCluster(options: { replicas?: 0 | 1 } = {}): Promise<RedisCluster> {
  const replicas = options.replicas ?? 0;
  const children = new Map<number, ChildProcess>();
  const argsOf = new Map<number, { args: string[]; dir: string }>();
  const dirs: string[] = [];
  const nodes: Array<{ host: string; port: number }> = [];
  const stop = async (): Promise<void> => {
    for (const c of children.values()) c.kill('SIGCONT');
    await Promise.all([...children.values()].map((c) => ended(c, 'SIGKILL')));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3 * (1 + replicas); i++) {
      const port = await freePort();
      const bus = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'latchkey-redis-cluster-'));
      dirs.push(dir);
      // A failed primary is noticed after cluster-node-timeout; its replica may take over at once (no replica validity limit).
      // A replica's first sync starts at once (Redis waits 5 s for more replicas by default).
      const failover = replicas > 0 ? ['--cluster-node-timeout', '1000', '--cluster-replica-validity-factor', '0', '--repl-diskless-sync-delay', '0'] : [];
      const args = [...baseArgs(port), '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-port', String(bus), '--dir', dir, ...failover];
      children.set(port, await launch(args, dir));
      argsOf.set(port, { args, dir });
      nodes.push({ host: '127.0.0.1', port });
    }
    const created = cli(['--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes']);
    if (!created.ok) throw new Error(`redis-cli --cluster create failed:\n${created.out}`);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const states = nodes.map((n) => cli(['-h', n.host, '-p', String(n.port), 'cluster', 'info']).out);
      // With replicas, each one in sync with its primary.
      const synced = nodes.map((n) => cli(['-h', n.host, '-p', String(n.port), 'info', 'replication']).out).filter((s) => s.includes('role:slave'));
      if (states.every((s) => s.includes('cluster_state:ok')) && synced.length === 3 * replicas && synced.every((s) => s.includes('master_link_status:up'))) break;
      if (Date.now() > deadline) throw new Error(`the cluster did not reach cluster_state:ok:\n${states.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return {
      nodes,
      async kill(port) {
        const child = children.get(port);
        if (child !== undefined) await ended(child, 'SIGKILL');
      },
      async restart(port) {
        const a = argsOf.get(port);
        if (a !== undefined) children.set(port, await launch(a.args, a.dir));
      },
      pause(port) {
        children.get(port)?.kill('SIGSTOP');
      },
      resume(port) {
        children.get(port)?.kill('SIGCONT');
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
