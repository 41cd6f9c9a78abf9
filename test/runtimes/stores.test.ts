/**
 * The Redis (ioredis) and PostgreSQL (pg) stores on Bun's and Deno's real
 * binaries, against the real servers of test/servers (one Redis, one
 * PostgreSQL for the file):
 *
 * - the conformance app (examples/bun, examples/deno), with the store its
 *   `LATCHKEY_STORE` URL names, walks the stateful scenario of
 *   test/runtimes/scenarios.ts; then Node opens the same URL and finds what
 *   the runtime left there: the signed-out session, revoked, its data gone,
 *   none of the user's active;
 * - an engine on the runtime (test/runtimes/store-agent.js, driven over its
 *   stdin and stdout) and one on Node share the store as two instances of
 *   one application: each sees the other's sessions, patches, rotations and
 *   revocations (the runtime's cache hears Node's through the store's
 *   invalidations), key-value entries, counters and events; the runtime's
 *   process then ends by itself once it closed the store;
 * - an outage: while the server is down, and while it stalls, the app
 *   answers 503 (after the store's timeout: never a hang), and the session
 *   is back when the server is;
 * - the store contract (latchkey/testing/store-contract, every test the
 *   Node suite runs in test/contract) runs under the runtime's own test
 *   command, `bun test` or `deno test`, on node:test
 *   (test/runtimes/store-contract.js), on Redis (standalone and a 3-node
 *   cluster) and PostgreSQL; each of its tests must be reported passed by
 *   name.
 *
 * The README's runtime matrix cites these tests by name.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/sessions.js';
import type { Store } from '../../src/core/store.js';
import { parseToken } from '../../src/core/token.js';
import { openStore, redactStoreUrl } from '../../src/stores/index.js';
import type { ContractRunner } from '../../src/testing/contract/support.js';
import { storeContract } from '../../src/testing/store-contract.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../servers/postgres.js';
import { redisAvailable, startRedis, startRedisCluster, type RedisCluster, type RedisServer } from '../servers/redis.js';
import { requireRuntime, root, runtimeVersion, startApp } from './harness.js';
import { eventually, startAgent, type AgentCreated, type AgentOutcome } from './store-agent-driver.js';
import { Browser } from './browser.js';
import { cookieSessionScenario } from './scenarios.js';

const run = promisify(execFile);

type StoreKind = 'redis' | 'postgres';
/** What the store contract runs on: a store kind, or a 3-node Redis Cluster. */
type ContractKind = StoreKind | 'redis-cluster';
type StoreRuntime = 'bun' | 'deno';

const STORE_LABEL: Record<ContractKind, string> = { redis: 'Redis (ioredis)', 'redis-cluster': 'Redis Cluster (ioredis)', postgres: 'PostgreSQL (pg)' };
const RUNTIME_LABEL: Record<StoreRuntime, string> = { bun: 'Bun', deno: 'Deno' };
const TEST_COMMAND: Record<StoreRuntime, string> = { bun: 'bun test', deno: 'deno test' };

const pgMissing = postgresMissing();
let redis: RedisServer | undefined;
let cluster: RedisCluster | undefined;
let postgres: PostgresServer | undefined;
let cells = 0;

beforeAll(async () => {
  if (redisAvailable) redis = await startRedis();
  if (redisAvailable) cluster = await startRedisCluster();
  if (pgMissing === null) postgres = await startPostgres();
});

afterAll(async () => {
  await redis?.stop();
  await cluster?.stop();
  await postgres?.stop();
});

/**
 * A store URL of its own for one test: a key prefix on the Redis server, a
 * fresh database on the PostgreSQL server (so that nothing another test wrote
 * is there to find).
 */
async function freshUrl(kind: StoreKind, runtime: StoreRuntime): Promise<string> {
  const name = `${runtime}_${++cells}`;
  if (kind === 'redis') return `${(redis as RedisServer).url}?prefix=${name}:`;
  const server = postgres as PostgresServer;
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return server.url.replace(/\/postgres$/, `/${name}`);
}

/** The full names (`suite > group > test`) of every test the store contract registers, as the runners report them. */
function contractTestNames(name: string): string[] {
  const names: string[] = [];
  const path: string[] = [];
  const recorder: ContractRunner = {
    describe: (title, fn) => {
      path.push(title);
      fn();
      path.pop();
    },
    it: (title) => void names.push([...path, title].join(' > ')),
  };
  storeContract(name, recorder, { makeStore: () => Promise.reject(new Error('registered only, never run')) });
  return names;
}

const unescapeXml = (s: string): string =>
  s.replace(/&(gt|lt|quot|apos|amp);/g, (_, e: string) => ({ gt: '>', lt: '<', quot: '"', apos: "'", amp: '&' })[e] as string);

/**
 * The tests a runner reported passed, and those it reported failed, by full
 * name: `bun test` prints `(pass) a > b > c [1.00ms]`; `deno test
 * --reporter=junit` writes a `<testcase name="a &gt; b &gt; c">` per test
 * and per group, a `<failure>` inside the failed ones.
 */
function reported(runtime: StoreRuntime, out: string): { passed: Set<string>; failed: string[] } {
  if (runtime === 'bun') {
    const names = (mark: string): string[] => [...out.matchAll(new RegExp(`^\\(${mark}\\) (.+) \\[[\\d.]+m?s\\]$`, 'gm'))].map((m) => m[1] as string);
    return { passed: new Set(names('pass')), failed: names('fail') };
  }
  const passed = new Set<string>();
  const failed: string[] = [];
  for (const m of out.matchAll(/<testcase name="([^"]*)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const name = unescapeXml(m[1] as string);
    if ((m[3] ?? '').includes('<failure')) failed.push(name);
    else passed.add(name);
  }
  return { passed, failed };
}

/** The contract under the runtime's own test command; resolves its exit code and output. */
async function runContract(runtime: StoreRuntime, bin: string, url: string): Promise<{ code: number; out: string }> {
  const file = join('test', 'runtimes', 'store-contract.js');
  const args =
    runtime === 'bun'
      ? ['test', '--timeout', '30000', `./${file}`]
      : ['test', '--allow-net=127.0.0.1', '--allow-env', '--reporter=junit', file];
  const env = { ...process.env, CONTRACT_STORE: url, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', DO_NOT_TRACK: '1' };
  try {
    const { stdout, stderr } = await run(bin, args, { cwd: root, env, timeout: 150_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, out: `${stdout}\n${stderr}` };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}\n${e.stderr ?? ''}\n${String(err)}` };
  }
}

/** The runtime and Node share one store, as two instances of one application. */
async function sharedAuthority(runtime: StoreRuntime, bin: string, url: string): Promise<void> {
  const agent = await startAgent(runtime, bin, url);
  const store: Store = await openStore(url);
  const node = createSessions({ store, idleTimeout: '30m', absoluteTimeout: '12h' });
  try {
    // Sessions made on the runtime are Node's too.
    const ann = await agent.call<AgentCreated>('create', { userId: 'ann', data: { cart: ['apple'] } });
    const ann2 = await agent.call<AgentCreated>('create', { userId: 'ann' });
    const bob = await agent.call<AgentCreated>('create', { userId: 'bob' });
    expect(await node.validate(ann.token)).toMatchObject({ ok: true, session: { handle: ann.session.handle, userId: 'ann', data: { cart: ['apple'] } } });

    // The runtime caches ann's sessions for a minute; Node patches one and revokes the other: the store's invalidations reach the runtime's cache.
    expect((await agent.call<AgentOutcome>('validate', ann.token)).session?.data).toEqual({ cart: ['apple'] });
    expect((await agent.call<AgentOutcome>('validate', ann2.token)).ok).toBe(true);
    expect(await node.patch(ann.session.handle, { set: { cart: ['apple', 'pear'] } })).toMatchObject({ ok: true });
    await node.revoke(ann2.session.handle);
    const patched = await eventually(() => agent.call<AgentOutcome>('validate', ann.token), (r) => r.session?.data.cart?.length === 2);
    expect(patched).toMatchObject({ ok: true, session: { data: { cart: ['apple', 'pear'] } } });
    expect(await eventually(() => agent.call<AgentOutcome>('validate', ann2.token), (r) => r.ok === false)).toEqual({ ok: false, reason: 'revoked' });

    // A rotation on the runtime (a sign-in): Node refuses the old token and takes the new one, data kept.
    const rotated = await agent.call<AgentOutcome>('rotate', ann.token, { userId: 'ann', authenticated: true });
    if (!rotated.ok) throw new Error(`the rotation on ${runtime} failed: ${rotated.reason}`);
    expect((await node.validate(ann.token)).ok).toBe(false);
    expect(await node.validate(rotated.token as string)).toMatchObject({ ok: true, session: { userId: 'ann', data: { cart: ['apple', 'pear'] } } });

    // Sign-out everywhere on the runtime; both see the same device lists.
    await agent.call('revokeUser', 'bob');
    expect((await node.validate(bob.token)).ok).toBe(false);
    expect(await agent.call('list', 'bob')).toEqual([]);
    expect(await agent.call('list', 'ann')).toEqual((await node.list('ann')).map((d) => d.handle));
    expect(await agent.call('list', 'ann')).toEqual([rotated.session.handle]);

    // The key-value facet: written on one, read and taken (once) on the other.
    await agent.call('kvSet', 'test:shared', 'from-runtime', 'runtime-value', 60_000);
    expect((await store.kv.get('test:shared', 'from-runtime', Date.now()))?.value).toBe('runtime-value');
    await store.kv.set('test:shared', 'from-node', { value: 'node-value', expiresAt: Date.now() + 60_000 }, Date.now());
    expect(await agent.call('kvTake', 'test:shared', 'from-node')).toBe('node-value');
    expect(await store.kv.get('test:shared', 'from-node', Date.now())).toBeNull();
    expect(await agent.call('kvTake', 'test:shared', 'from-node')).toBeNull();

    // Counters: hits from both at once, none lost.
    const counters = store.counters as NonNullable<Store['counters']>;
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? agent.call('hit', 'race', '198.51.100.1', t0 + i, 60_000, 100) : counters.hit('race', '198.51.100.1', t0 + i, 60_000, 100))));
    expect(await counters.hit('race', '198.51.100.1', t0 + 10, 60_000, 100)).toEqual(Array.from({ length: 11 }, (_, i) => t0 + i));

    // The event log: one sequence of ids, newest first for both.
    const first = await agent.call<number>('append', 'test-ring', JSON.stringify({ from: 'runtime' }), 10);
    const second = await (store.events as NonNullable<Store['events']>).append('test-ring', JSON.stringify({ from: 'node' }), 10);
    expect(second).toBeGreaterThan(first);
    expect(await agent.call('recent', 'test-ring', 10)).toEqual([
      { id: second, body: JSON.stringify({ from: 'node' }) },
      { id: first, body: JSON.stringify({ from: 'runtime' }) },
    ]);

    // Closed, the runtime's store and engine hold nothing that keeps the process alive.
    expect(await agent.end()).toBe(0);
    expect(agent.output()).not.toMatch(/error|uncaught|warn/i);
  } catch (err) {
    (err as Error).message += `\n--- ${runtime} output ---\n${agent.output()}`;
    throw err;
  } finally {
    await agent.end();
    await node.close();
    await store.close();
  }
}

/**
 * The app signed in on a store whose server then goes down (killed or
 * crashed) and later stalls (SIGSTOP): 503 `store-unavailable` each time,
 * never a hang or a 500, and the session answers again once the server is
 * back. Redis runs with its append-only file here, so that it comes back
 * with the session.
 */
async function outage(runtime: StoreRuntime, bin: string, kind: StoreKind): Promise<void> {
  const own = kind === 'redis' ? await startRedis({ appendOnly: true }) : undefined;
  const url = own !== undefined ? `${own.url}?prefix=${runtime}_outage:` : await freshUrl(kind, runtime);
  const server = {
    down: () => (own !== undefined ? own.kill() : (postgres as PostgresServer).crash()),
    up: () => (own !== undefined ? own.restart() : (postgres as PostgresServer).start()),
    pause: () => (own ?? (postgres as PostgresServer)).pause(),
    resume: () => (own ?? (postgres as PostgresServer)).resume(),
  };
  const app = await startApp(runtime, bin, 'stateful', { env: { LATCHKEY_STORE: url } });
  try {
    const browser = new Browser(app.url);
    expect((await browser.post('/login', { username: 'ann' })).status).toBe(303);
    // A hang would end in the abort, not in an answer.
    const me = () => fetch(`${app.url}/me`, { headers: { cookie: browser.header() }, signal: AbortSignal.timeout(10_000) });
    expect((await me()).status).toBe(200);

    await server.down();
    const down = await me();
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ error: 'store-unavailable' });
    expect(down.headers.get('retry-after')).toMatch(/^\d+$/);
    await server.up();
    expect((await eventually(me, (r) => r.status === 200)).status).toBe(200);

    server.pause();
    try {
      expect((await me()).status).toBe(503);
    } finally {
      server.resume();
    }
    expect((await eventually(me, (r) => r.status === 200)).status).toBe(200);
    expect(app.output()).not.toMatch(/error|uncaught|warn/i);
  } catch (err) {
    (err as Error).message += `\n--- ${runtime} output ---\n${app.output()}`;
    throw err;
  } finally {
    await app.stop();
    await own?.stop();
  }
}

/** The whole store contract under the runtime's own test command: each of its tests reported passed, by name. */
async function contract(runtime: StoreRuntime, bin: string, kind: ContractKind): Promise<void> {
  const expected = contractTestNames(kind);
  // On Redis the contract gives each test a key prefix of its own: the server's plain URL.
  const url =
    kind === 'redis'
      ? (redis as RedisServer).url
      : kind === 'redis-cluster'
        ? `redis-cluster://${(cluster as RedisCluster).nodes.map((n) => `${n.host}:${n.port}`).join(',')}`
        : await freshUrl(kind, runtime);
  const { code, out } = await runContract(runtime, bin, url);
  const { passed, failed } = reported(runtime, out);
  expect(expected.length).toBeGreaterThan(0);
  const detail = `\n--- ${TEST_COMMAND[runtime]} output ---\n${out.slice(-20_000)}`;
  expect(failed, detail).toEqual([]);
  expect(expected.filter((name) => !passed.has(name)), detail).toEqual([]);
  expect(code, detail).toBe(0);
}

function storeSuite(runtime: StoreRuntime): void {
  const bin = requireRuntime(runtime);
  describe.skipIf(bin === null || !redisAvailable || pgMissing !== null)(`on ${RUNTIME_LABEL[runtime]} ${runtimeVersion(runtime)}`, () => {
    for (const kind of ['redis', 'postgres'] as const) {
      it(`stateful sessions on ${STORE_LABEL[kind]}: the same scenario, and what it leaves in the store, read on Node: the signed-out session revoked, its data gone`, async () => {
        const url = await freshUrl(kind, runtime);
        const app = await startApp(runtime, bin as string, 'stateful', { env: { LATCHKEY_STORE: url } });
        let token: string;
        try {
          token = await cookieSessionScenario(app);
          expect(app.output()).toContain(`(stateful, store ${redactStoreUrl(url)},`);
          // Nothing went wrong on the side either (a driver's warning, an error of the connection).
          expect(app.output()).not.toMatch(/error|uncaught|warn/i);
        } catch (err) {
          (err as Error).message += `\n--- ${runtime} output ---\n${app.output()}`;
          throw err;
        } finally {
          await app.stop();
        }
        // The store the runtime wrote to, opened on Node: the record of the session it signed out.
        const store = await openStore(url);
        try {
          const handle = parseToken(token)?.handle;
          expect(handle).toBeDefined();
          const record = await store.get(handle as string);
          expect(record).toMatchObject({ handle, userId: 'ann', status: 'revoked', data: {} });
          // Three notes written (patches) after the sign-in: the version moved with each.
          expect(record?.version).toBeGreaterThan(3);
          expect(await store.listUser('ann')).toEqual([]);
        } finally {
          await store.close();
        }
      }, 60_000);

      it(`a session authority shared with Node on ${STORE_LABEL[kind]}: each sees the other's sessions, patches, rotations and revocations (through the cache, by the store's invalidations), key-value entries, counters and events`, async () => {
        await sharedAuthority(runtime, bin as string, await freshUrl(kind, runtime));
      }, 60_000);

      it(`a store outage on ${STORE_LABEL[kind]}: 503 while the server is down and while it stalls (never a hang), the session back with the server`, async () => {
        await outage(runtime, bin as string, kind);
      }, 60_000);
    }
    for (const kind of ['redis', 'redis-cluster', 'postgres'] as const) {
      it(`the store contract on ${STORE_LABEL[kind]} under ${TEST_COMMAND[runtime]} (node:test): every test of the suite passes`, async () => {
        await contract(runtime, bin as string, kind);
      }, 180_000);
    }
  });
}

describe('Redis and PostgreSQL stores on Bun and Deno', () => {
  storeSuite('bun');
  storeSuite('deno');

  it("is what the README's runtime matrix cites, at the pinned versions", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    for (const runtime of ['bun', 'deno'] as const) {
      for (const kind of ['redis', 'postgres'] as const) {
        // One cell per runtime and store: the runtime once, then its tests (on Redis, the contract on a cluster too).
        const label = STORE_LABEL[kind];
        const cell = [`stateful sessions on ${label}`, `a session authority shared with Node on ${label}`, `a store outage on ${label}`, `the store contract on ${label} under ${TEST_COMMAND[runtime]}`];
        if (kind === 'redis') cell.push(`the store contract on ${STORE_LABEL['redis-cluster']} under ${TEST_COMMAND[runtime]}`);
        expect(readme).toContain(`✅ on ${RUNTIME_LABEL[runtime]} ${runtimeVersion(runtime)} › ${cell.join(' · ')}`);
      }
    }
  });
});
