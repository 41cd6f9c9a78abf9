/**
 * Redis Cluster failover under a write load: 3 primaries, each with a
 * replica; a primary is killed (SIGKILL) twice, the second time 250 ms
 * after its replica was cut off (paused, its link closed by the primary),
 * while two applications sign users in and out, one with `durability`
 * (WAIT for 1 replica on each shard a write reaches) and one without. The
 * cluster promotes the replica; both applications answer 503 meanwhile and
 * recover by themselves; with the option no acknowledged sign-in or
 * sign-out is lost. Also: the slot of a key as the store computes it is the
 * cluster's own.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessions, type Sessions } from '../../src/core/sessions.js';
import { keySlot } from '../../src/stores/redis/durability.js';
import { redisStore, type RedisStore } from '../../src/stores/redis/index.js';
import { start, type Running } from '../adapters/support/apps.js';
import { redisAvailable, startRedisCluster, type RedisCluster } from '../servers/redis.js';
import { percentile, WriteLoad } from './support/failover.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface App {
  readonly label: string;
  readonly store: RedisStore;
  readonly sessions: Sessions;
  readonly server: Running;
}

/** One command on a node, on a connection of its own. */
async function on(port: number, ...args: string[]): Promise<unknown> {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => {});
  try {
    await c.connect();
    return await c.call(args[0] as string, ...args.slice(1));
  } finally {
    c.disconnect();
  }
}

/** The cluster as a node sees it: every node's port, role, primary's id and state. */
async function topology(port: number): Promise<Array<{ id: string; port: number; primary: boolean; of: string; failed: boolean; slots: boolean }>> {
  const text = String(await on(port, 'CLUSTER', 'NODES'));
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const f = line.split(' ');
      return {
        id: f[0] as string,
        port: Number((f[1] as string).split(':')[1]?.split('@')[0]),
        primary: (f[2] as string).includes('master'),
        of: f[3] as string,
        failed: (f[2] as string).includes('fail'),
        slots: f.length > 8,
      };
    });
}

describe.skipIf(!redisAvailable)('Redis Cluster failover (3 primaries, 3 replicas)', () => {
  let cluster: RedisCluster;
  const apps: App[] = [];

  beforeAll(async () => {
    cluster = await startRedisCluster({ replicas: 1 });
    for (const [label, durable] of [
      ['plain', false],
      ['durable', true],
    ] as const) {
      const store = redisStore({
        cluster: { nodes: [...cluster.nodes] },
        prefix: `${label}:`,
        onError: () => {},
        ...(durable ? { durability: { replicas: 1, timeout: '300ms' } } : {}),
      });
      const sessions = createSessions({ store, sweepInterval: false, guessing: false });
      const server = await start('node', { sessions });
      apps.push({ label, store, sessions, server });
    }
  });
  afterAll(async () => {
    for (const a of apps) {
      await a.server.close();
      await a.sessions.close();
      await a.store.close();
    }
    await cluster?.stop();
  });

  it("computes a key's slot as the cluster does", async () => {
    const port = cluster.nodes[0]?.port as number;
    for (const key of ['plain:s:{abc}', 'durable:u:{user-1}', 'no-tag', 'a{}b', 'ü{ö}', 'x{y}{z}']) {
      expect(keySlot(key), key).toBe(await on(port, 'CLUSTER', 'KEYSLOT', key));
    }
  });

  it('loses no acknowledged write with durability when a primary is killed twice, answers only 503 meanwhile, and recovers by itself', async () => {
    const loads = apps.map((a) => new WriteLoad(a.server.url, a.label, 4));
    // When each fault began: the partition, or the kill.
    const faults: number[] = [];
    const anyPort = (): number => cluster.nodes.find((n) => n.port !== killed)?.port as number;
    let killed = 0;
    try {
      for (let k = 0; k < 2; k++) {
        await sleep(600);
        const nodes = await topology(anyPort());
        const primary = nodes.find((n) => n.primary && n.slots && !n.failed) as (typeof nodes)[number];
        const replica = nodes.find((n) => !n.primary && n.of === primary.id) as (typeof nodes)[number];
        expect(replica, 'the primary has a replica').toBeDefined();
        killed = primary.port;
        faults.push(Date.now());
        if (k === 1) {
          // The replica cut off first, as a network partition would; the primary dies 250 ms later.
          cluster.pause(replica.port);
          await on(primary.port, 'CLIENT', 'KILL', 'TYPE', 'replica');
          await sleep(250);
        }
        const killedAt = Date.now();
        await cluster.kill(primary.port);
        cluster.resume(replica.port);
        // The replica takes over its slots.
        const until = Date.now() + 20_000;
        for (;;) {
          const now = await topology(replica.port).catch(() => []);
          if (now.find((n) => n.port === replica.port)?.primary === true && String(await on(replica.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) break;
          expect(Date.now() < until, 'the replica was promoted within 20 s').toBe(true);
          await sleep(50);
        }
        const back = async (i: number): Promise<void> => {
          const a = apps[i] as App;
          const load = loads[i] as WriteLoad;
          const deadline = Date.now() + 20_000;
          let at: number | null = null;
          while ((at = load.firstLoginAfter(killedAt)) === null && Date.now() < deadline) await sleep(20);
          expect(at, `${a.label} recovered after kill ${k + 1}`).not.toBeNull();
        };
        await back(0);
        // The killed node comes back as the new primary's replica; writes to that shard are then confirmed again.
        await cluster.restart(primary.port);
        await back(1);
        killed = 0;
      }
      await sleep(300);
    } finally {
      await Promise.all(loads.map((l) => l.stop()));
    }
    for (const [i, a] of apps.entries()) {
      const load = loads[i] as WriteLoad;
      const { lostAt, ...audit } = await load.audit();
      const perFault = faults.map((f, j) => lostAt.filter((t) => t >= f && t < (faults[j + 1] ?? Infinity)).length);
      // The outage: from the fault to the last 503 of its episode.
      const w = faults.map((f, j) => load.lastUnavailable(f, faults[j + 1] ?? Infinity) - f);
      console.log(
        `cluster failover, ${a.label}: ${JSON.stringify({ ...audit, refusedDuringLoad: load.refusedLive.length, acceptedEndedDuringLoad: load.acceptedEnded.length, answers: load.answers.length, unavailable: load.answers.filter((x) => x.status === 503).length, windowP50: percentile(w, 0.5), windowMax: Math.max(...w) })}; windows ${w.join(', ')} ms; lost per kill (the second partitioned first) ${perFault.join(', ')}`,
      );
      expect(load.wrong).toEqual([]);
      // The load ran (a loaded CI machine serves fewer requests).
      expect(audit.acknowledged).toBeGreaterThan(20);
      if (a.label === 'durable') {
        expect(audit.lost).toBe(0);
        expect(audit.revived).toBe(0);
        expect(load.refusedLive).toEqual([]);
        expect(load.acceptedEnded).toEqual([]);
      }
    }
  }, 90_000);
});
