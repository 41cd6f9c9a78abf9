/**
 * A real Redis Sentinel deployment for tests, from the local `redis-server`
 * binary (Debian packages redis-server and redis-sentinel; sentinel mode is
 * `redis-server <conf> --sentinel`): one primary, one replica and three
 * sentinels (quorum 2) on 127.0.0.1, on free ports, with nothing saved to
 * disk, torn down by `stop()`.
 *
 * The sentinels declare a primary down after 500 ms without an answer, so a
 * killed primary is replaced within a few seconds. A killed node comes back
 * (`rejoin`) as a replica of whichever node is primary then, so that every
 * kill has a replica to promote.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { baseArgs, ended, freePort, launch, redisAvailable } from './redis.js';

export { redisAvailable };

/** The name the sentinels monitor the primary by. */
export const SENTINEL_NAME = 'latchkey-primary';

/** A running primary + replica + 3 sentinels. */
export interface RedisSentinelSet {
  readonly sentinels: ReadonlyArray<{ host: string; port: number }>;
  readonly name: string;
  /** `redis-sentinel://` URL of the set. */
  readonly url: string;
  /** The data nodes' ports (primary and replica, whichever is which now). */
  readonly ports: readonly number[];
  /** The port of the primary, as the sentinels name it now. */
  primary(): Promise<number>;
  /** One command on the data node on `port` (e.g. `['INFO', 'replication']`). */
  command(port: number, args: string[]): Promise<unknown>;
  /** SIGKILL of the data node on `port`; waits for the process to end. */
  kill(port: number): Promise<void>;
  /** SIGSTOP of the node on `port`: it keeps its connections but reads nothing, as a partitioned host would. */
  pause(port: number): void;
  /** SIGCONT after pause(). */
  resume(port: number): void;
  /**
   * Waits until the sentinels name a primary other than `oldPort` and that
   * node answers as a primary; resolves its port.
   */
  failedOver(oldPort: number, timeoutMs?: number): Promise<number>;
  /** Starts the killed node on `port` again as a replica of the current primary; resolves once it is in sync and the sentinels count it (a sentinel in TILT, frozen for 30 s on a starved machine, is waited out once). */
  rejoin(port: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One command on 127.0.0.1:`port`, on a connection of its own that never retries. */
async function once(port: number, args: string[]): Promise<unknown> {
  const c = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 2000 });
  c.on('error', () => {});
  try {
    await c.connect();
    return await c.call(args[0] as string, ...args.slice(1));
  } finally {
    c.disconnect();
  }
}

/**
 * Starts the set and waits until every sentinel knows the replica and the
 * other sentinels.
 *
 * @example
 * ```ts
 * const set = await startRedisSentinel();
 * const store = redisStore({ sentinel: { sentinels: [...set.sentinels], name: set.name } });
 * await set.stop();
 * ```
 */
export async function startRedisSentinel(): Promise<RedisSentinelSet> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-redis-sentinel-'));
  const children = new Map<number, ChildProcess>();
  const stop = async (): Promise<void> => {
    for (const c of children.values()) c.kill('SIGCONT');
    await Promise.all([...children.values()].map((c) => ended(c, 'SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  };
  const dataArgs = (port: number, primary: number | null): string[] => [
    ...baseArgs(port),
    ...(primary === null ? [] : ['--replicaof', '127.0.0.1', String(primary)]),
    // A replica's first sync starts at once (Redis waits 5 s for more replicas by default).
    '--repl-diskless-sync-delay',
    '0',
    '--dir',
    dir,
    '--dbfilename',
    `dump-${port}.rdb`,
  ];
  try {
    const primaryPort = await freePort();
    const replicaPort = await freePort();
    children.set(primaryPort, await launch(dataArgs(primaryPort, null), dir));
    children.set(replicaPort, await launch(dataArgs(replicaPort, primaryPort), dir));
    const sentinels: Array<{ host: string; port: number }> = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'daemonize no',
          `dir ${dir}`,
          `sentinel monitor ${SENTINEL_NAME} 127.0.0.1 ${primaryPort} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_NAME} 500`,
          `sentinel failover-timeout ${SENTINEL_NAME} 2000`,
          `sentinel parallel-syncs ${SENTINEL_NAME} 1`,
          '',
        ].join('\n'),
      );
      children.set(port, await launch([conf, '--sentinel'], dir, 'Sentinel ID is'));
      sentinels.push({ host: '127.0.0.1', port });
    }
    const set: RedisSentinelSet = {
      sentinels,
      name: SENTINEL_NAME,
      url: `redis-sentinel://${sentinels.map((s) => `${s.host}:${s.port}`).join(',')}/${SENTINEL_NAME}`,
      ports: [primaryPort, replicaPort],
      async primary() {
        for (const s of sentinels) {
          try {
            const addr = (await once(s.port, ['SENTINEL', 'get-master-addr-by-name', SENTINEL_NAME])) as [string, string] | null;
            if (addr !== null) return Number(addr[1]);
          } catch {
            // the next sentinel
          }
        }
        throw new Error('no sentinel names a primary');
      },
      command: (port, args) => once(port, args),
      async kill(port) {
        const child = children.get(port);
        if (child !== undefined) await ended(child, 'SIGKILL');
      },
      pause(port) {
        children.get(port)?.kill('SIGSTOP');
      },
      resume(port) {
        children.get(port)?.kill('SIGCONT');
      },
      async failedOver(oldPort, timeoutMs = 20_000) {
        const until = Date.now() + timeoutMs;
        for (;;) {
          const now = await set.primary().catch(() => oldPort);
          if (now !== oldPort) {
            const role = await once(now, ['ROLE']).catch(() => null);
            if (Array.isArray(role) && role[0] === 'master') return now;
          }
          if (Date.now() > until) throw new Error(`the sentinels did not replace the primary on ${oldPort} within ${timeoutMs} ms`);
          await sleep(50);
        }
      },
      async rejoin(port, timeoutMs = 20_000) {
        const primary = await set.primary();
        children.set(port, await launch(dataArgs(port, primary), dir));
        let until = Date.now() + timeoutMs;
        let waitedOutTilt = false;
        for (;;) {
          const info = String(await once(port, ['INFO', 'replication']).catch(() => ''));
          // What each sentinel says of the node: its flags, or why not.
          const views = await Promise.all(
            sentinels.map(async (s) => {
              const replicas = (await once(s.port, ['SENTINEL', 'replicas', SENTINEL_NAME]).catch(() => [])) as string[][];
              // Flat field lists: the replica is counted once its flags say only "slave" (not s_down, not disconnected).
              const mine = replicas.find((r) => r[r.indexOf('port') + 1] === String(port));
              return mine === undefined ? 'unknown' : String(mine[mine.indexOf('flags') + 1]);
            }),
          );
          if (info.includes(`master_port:${primary}`) && info.includes('master_link_status:up') && views.every((v) => v === 'slave')) return;
          if (Date.now() > until) {
            const link = /master_port:\d+|master_link_status:\w+/g;
            // A sentinel whose timer was held up over 2 s (a starved machine) stops acting for 30 s ("TILT"), its flags frozen.
            const tilt = await Promise.all(sentinels.map(async (s) => /sentinel_tilt:(\d)/.exec(String(await once(s.port, ['INFO', 'sentinel']).catch(() => '')))?.[1] ?? '?'));
            // Sentinel's documented pause, not a failure to rejoin: wait it out once (30 s and a margin), then judge.
            if (!waitedOutTilt && tilt.includes('1')) {
              waitedOutTilt = true;
              until = Date.now() + 35_000;
              continue;
            }
            throw new Error(
              `the node on ${port} did not rejoin as a replica of ${primary} within ${timeoutMs} ms: ${info.match(link)?.join(' ') ?? 'no answer'}; sentinels see it as ${views.join(', ')} (in TILT: ${tilt.join(', ')}); the sentinels now name ${await set.primary().catch(() => 'no primary')}`,
            );
          }
          await sleep(100);
        }
      },
      stop,
    };
    // The replica is in sync, and every sentinel has found it and the other sentinels (through the primary's hello channel).
    const until = Date.now() + 20_000;
    for (;;) {
      const link = String(await once(replicaPort, ['INFO', 'replication']).catch(() => ''));
      const views = await Promise.all(
        sentinels.map(async (s) => {
          const m = (await once(s.port, ['SENTINEL', 'master', SENTINEL_NAME]).catch(() => [])) as string[];
          const field = (name: string): number => Number(m[m.indexOf(name) + 1]);
          return field('num-slaves') >= 1 && field('num-other-sentinels') >= 2;
        }),
      );
      if (link.includes('master_link_status:up') && views.every(Boolean)) break;
      if (Date.now() > until) throw new Error('the sentinels did not discover each other within 20 s');
      await sleep(100);
    }
    return set;
  } catch (err) {
    await stop();
    throw err;
  }
}
