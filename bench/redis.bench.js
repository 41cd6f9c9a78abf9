/**
 * Redis store benchmark: latchkey's engine on `latchkey/stores/redis` against
 * express-session's store on the same Redis, connect-redis (with the `redis`
 * client it is written for), in the same run, on a redis-server of its own.
 *
 * Cases, each over a pool of pre-created sessions, round-robin:
 *  - latchkey validate / create / patch (touchInterval longer than the run,
 *    so that validate is the one-round-trip read path);
 *  - connect-redis get: express-session's load of a session (unsign the
 *    cookie, store.get);
 *  - express-session request: what express-session does per request with
 *    connect-redis and `resave: false`: the load, then store.touch (it touches
 *    on every request when the store has touch);
 *  - connect-redis set: storing a new session (its create);
 *  - latchkey validate with the in-process cache on (`cache: { staleness: '5s' }`,
 *    invalidated over pub/sub): a store read per session every 5 s at most;
 *  - latchkey validate once more, through a connection with ioredis
 *    auto-pipelining (off by default), to show what that option does.
 * Speed one op at a time (latency: ./lib/measure.js, interleaved rounds,
 * medians), then with 64 ops in flight (throughput, as a busy server has).
 * Memory: Redis's used_memory per stored session. Scale: validation p99 on
 * the first server (the pools and what the create cases left, ~100,000 keys)
 * against a second redis-server holding 1,000,000 sessions.
 *
 * Needs `npm run build` first (it imports the built package) and the
 * `redis-server` binary. Runs in about a minute. Prints a report and writes
 * bench/results/redis-latest.json.
 *
 * Usage: node bench/redis.bench.js   (or: npm run bench -- redis)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { exit, hrtime } from 'node:process';
import { sign, unsign } from 'cookie-signature';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { Redis } from 'ioredis';
import { createSessions } from 'latchkey';
import { redisStore } from 'latchkey/stores/redis';
import { compare, percentile } from './lib/measure.js';
import { redisInstalled, startRedisServer } from './lib/redis-server.js';
import { writeResults } from './lib/results.js';
import { count, micros, table, times } from './lib/table.js';
import { ENGINE_OPTIONS, client, expressSession, expressSessionId } from './engine/fixtures.js';

const POOL = 10_000;
const TIMING = { warmupMs: 400, roundMs: 800, rounds: 5 };
const IN_FLIGHT = 64;
const CONCURRENT_MS = 2000;
const TARGET = 2; // latchkey's read path at least 2x connect-redis
const SCALE = 1_000_000; // sessions stored for the scale check
const SCALE_TARGET = 1.5; // validation p99 with SCALE sessions stored within 1.5x of that with far fewer

if (!redisInstalled()) {
  // Like the test suites: loud, and fatal in CI.
  console.warn('SKIPPED: Redis benchmark — redis-server not found (apt-get install redis-server)');
  exit(process.env.CI ? 1 : 0);
}
const server = await startRedisServer();
const admin = new Redis(server.url);
const cleanup = [];
try {
  const memoryBefore = await usedMemory(admin);

  // latchkey: a pool of signed-in sessions.
  const store = redisStore({ url: server.url, prefix: 'lk:' });
  const sessions = createSessions({ store, ...ENGINE_OPTIONS });
  // Cleanup runs last-in first: each engine closes before its store (an engine never closes the store it is given).
  cleanup.push(() => store.close(), () => sessions.close());
  const inputs = Array.from({ length: POOL }, (_, i) => ({ userId: `user-${i}`, client: client(i) }));
  const tokens = await inBatches(inputs, async (input) => (await sessions.create(input)).token);
  const memoryLatchkey = await usedMemory(admin);
  const handles = await inBatches(inputs, async (input) => (await sessions.create(input)).session.handle);
  const reads = inputs.map(({ client }) => ({ client }));
  assert.ok((await sessions.validate(tokens[0], reads[0])).ok);
  assert.ok((await sessions.patch(handles[0], { set: { cart: 0 } })).ok);
  // The same sessions through a connection with ioredis auto-pipelining (off by default).
  const pipedStore = redisStore({ url: server.url, prefix: 'lk:', redis: { enableAutoPipelining: true } });
  const piped = createSessions({ store: pipedStore, ...ENGINE_OPTIONS });
  cleanup.push(() => pipedStore.close(), () => piped.close());
  assert.ok((await piped.validate(tokens[0], reads[0])).ok);
  // The same sessions through an engine with the in-process cache (its own connection + a subscriber).
  const cachedStore = redisStore({ url: server.url, prefix: 'lk:' });
  const cached = createSessions({ store: cachedStore, ...ENGINE_OPTIONS, cache: { staleness: '5s' } });
  cleanup.push(() => cachedStore.close(), () => cached.close());
  assert.ok((await cached.validate(tokens[0], reads[0])).ok);
  const creatingStore = redisStore({ url: server.url, prefix: 'lk-create:' });
  const creating = createSessions({ store: creatingStore, ...ENGINE_OPTIONS });
  cleanup.push(() => creatingStore.close(), () => creating.close());

  // express-session + connect-redis on the same server.
  const nodeRedis = createClient({ url: server.url });
  nodeRedis.on('error', () => {});
  await nodeRedis.connect();
  cleanup.push(() => nodeRedis.quit());
  const peer = new RedisStore({ client: nodeRedis, prefix: 'sess:' });
  const secret = randomBytes(32).toString('base64url');
  const now = Date.now();
  const memoryPeerBefore = await usedMemory(admin);
  const cookies = await inBatches(inputs, async (_, i) => {
    const sid = expressSessionId();
    await peer.set(sid, expressSession(`user-${i}`, now));
    return `s:${sign(sid, secret)}`;
  });
  const memoryPeer = await usedMemory(admin);
  const load = async (cookie) => {
    const sid = unsign(cookie.slice(2), secret);
    return { sid, sess: await peer.get(sid) };
  };
  const request = async (cookie) => {
    const { sid, sess } = await load(cookie);
    await peer.touch(sid, sess);
    return sess;
  };
  assert.equal((await load(cookies[0])).sess.userId, 'user-0');
  assert.equal((await request(cookies[1])).userId, 'user-1');
  const fresh = expressSession('user-new', now);

  const cases = [
    { name: 'latchkey validate', op: (i) => sessions.validate(tokens[i % POOL], reads[i % POOL]) },
    {
      name: 'latchkey validate, cached',
      op: (i) => cached.validate(tokens[i % POOL], reads[i % POOL]),
      // Untimed: every session read within the last 5 s, as in an app that serves them; a miss costs what an uncached validate does.
      beforeRound: () => inBatches(reads, (read, i) => cached.validate(tokens[i], read)),
    },
    { name: 'connect-redis get', op: (i) => load(cookies[i % POOL]) },
    { name: 'express-session request (get + touch)', op: (i) => request(cookies[i % POOL]) },
    { name: 'latchkey validate, auto-pipelining', op: (i) => piped.validate(tokens[i % POOL], reads[i % POOL]) },
    { name: 'latchkey create', op: (i) => creating.create(inputs[i % POOL]) },
    { name: 'connect-redis set', op: () => peer.set(expressSessionId(), fresh) },
    { name: 'latchkey patch', op: (i) => sessions.patch(handles[i % POOL], { set: { cart: i } }) },
  ];
  const speed = await compare(cases, TIMING);
  const concurrent = [];
  for (const c of cases.slice(0, 5)) concurrent.push(await inFlight(c, IN_FLIGHT, CONCURRENT_MS));

  // Scale: validation on this server (the pools and what create left) against a
  // second server holding SCALE, measured in interleaved rounds so that
  // machine noise hits both alike. The big server's extra sessions are copies
  // of a real record as the store wrote it, under fresh keys of the same
  // length, with the same TTL, written by Redis itself 10,000 per script call
  // (a client would spend half a minute on a million writes).
  const big = await startRedisServer();
  cleanup.push(() => big.stop());
  const bigAdmin = new Redis(big.url);
  cleanup.push(async () => bigAdmin.disconnect());
  const bigStore = redisStore({ url: big.url, prefix: 'lk:' });
  const bigSessions = createSessions({ store: bigStore, ...ENGINE_OPTIONS });
  cleanup.push(() => bigStore.close(), () => bigSessions.close());
  const bigTokens = await inBatches(inputs, async (input) => (await bigSessions.create(input)).token);
  assert.ok((await bigSessions.validate(bigTokens[0], reads[0])).ok);
  const fillStarted = Date.now();
  const template = await admin.getBuffer(`lk:s:{${handles[0]}}`);
  assert.ok(template !== null);
  const fill = "for i = 1, tonumber(ARGV[2]) do redis.call('SET', ARGV[1] .. i .. '}', ARGV[3], 'PX', ARGV[4]) end return 0";
  for (let filled = POOL; filled < SCALE; filled += 10_000) {
    const n = Math.min(10_000, SCALE - filled);
    await bigAdmin.eval(fill, 0, `lk-fill:s:{${randomBytes(12).toString('base64url')}-`, n, template, 3_600_000);
  }
  assert.equal(await bigAdmin.dbsize(), SCALE + POOL);
  const fillSeconds = (Date.now() - fillStarted) / 1000;
  const smallKeys = await admin.dbsize();
  const [atPool, atScale] = await compare(
    [
      { name: `latchkey validate, ${count(smallKeys)} keys in Redis`, op: cases[0].op },
      { name: `latchkey validate, ${count(SCALE)} sessions in Redis`, op: (i) => bigSessions.validate(bigTokens[i % POOL], reads[i % POOL]) },
    ],
    TIMING,
  );
  const scale = { smallKeys, small: atPool, large: atScale, p99Ratio: atScale.p99Ns / atPool.p99Ns };

  const by = Object.fromEntries(speed.map((r) => [r.name, r]));
  const cby = Object.fromEntries(concurrent.map((r) => [r.name, r]));
  const ratios = {
    validateVsGet: by['latchkey validate'].opsPerSec / by['connect-redis get'].opsPerSec,
    cachedVsGet: by['latchkey validate, cached'].opsPerSec / by['connect-redis get'].opsPerSec,
    concurrentCachedVsGet: cby['latchkey validate, cached'].opsPerSec / cby['connect-redis get'].opsPerSec,
    validateVsRequest: by['latchkey validate'].opsPerSec / by['express-session request (get + touch)'].opsPerSec,
    concurrentValidateVsGet: cby['latchkey validate'].opsPerSec / cby['connect-redis get'].opsPerSec,
    concurrentValidateVsRequest: cby['latchkey validate'].opsPerSec / cby['express-session request (get + touch)'].opsPerSec,
    createVsSet: by['latchkey create'].opsPerSec / by['connect-redis set'].opsPerSec,
  };
  const memory = {
    latchkeyBytesPerSession: (memoryLatchkey - memoryBefore) / POOL,
    connectRedisBytesPerSession: (memoryPeer - memoryPeerBefore) / POOL,
  };

  console.log(`Redis ${server.version} on 127.0.0.1, ${POOL.toLocaleString('en-US')} sessions per pool.`);
  console.log(`One op at a time: medians of ${TIMING.rounds} interleaved rounds of ~${TIMING.roundMs} ms.\n`);
  const row = (r) => [r.name, count(r.opsPerSec), micros(r.p50Ns), micros(r.p99Ns)];
  console.log(table(['case', 'ops/s', 'p50 µs', 'p99 µs'], speed.map(row)));
  console.log(`\n${IN_FLIGHT} ops in flight for ${CONCURRENT_MS / 1000} s each:\n`);
  console.log(table(['case', 'ops/s', 'p50 µs', 'p99 µs'], concurrent.map(row)));
  console.log('\nRatios (ops/s, latchkey / peer):');
  console.log(
    table(
      ['comparison', 'one at a time', `${IN_FLIGHT} in flight`],
      [
        ['validate vs connect-redis get', times(ratios.validateVsGet), times(ratios.concurrentValidateVsGet)],
        ['cached validate vs connect-redis get', times(ratios.cachedVsGet), times(ratios.concurrentCachedVsGet)],
        ['validate vs express-session request', times(ratios.validateVsRequest), times(ratios.concurrentValidateVsRequest)],
        ['create vs connect-redis set', times(ratios.createVsSet), '-'],
      ],
    ),
  );
  const met = ratios.validateVsRequest >= TARGET && ratios.concurrentValidateVsRequest >= TARGET;
  console.log(
    `\nTarget: read path >= ${TARGET}x connect-redis per request: ${met ? 'met' : 'NOT met'} ` +
      `(against the bare store.get alone: ${times(ratios.validateVsGet)} / ${times(ratios.concurrentValidateVsGet)}).`,
  );
  console.log(
    `Memory in Redis per session: latchkey ${count(memory.latchkeyBytesPerSession)} B (record + user index), ` +
      `connect-redis ${count(memory.connectRedisBytesPerSession)} B.`,
  );
  console.log(`\nScale (validation, one at a time; the second server was filled in ${fillSeconds.toFixed(1)} s):\n`);
  console.log(table(['case', 'ops/s', 'p50 µs', 'p99 µs'], [row(scale.small), row(scale.large)]));
  console.log(`p99 with ${count(SCALE)} sessions / with ${count(smallKeys)} keys: ${times(scale.p99Ratio)} (target <= ${SCALE_TARGET}x: ${scale.p99Ratio <= SCALE_TARGET ? 'met' : 'NOT met'}).`);
  const file = writeResults('redis', {
    method: { ...TIMING, pool: POOL, inFlight: IN_FLIGHT, concurrentMs: CONCURRENT_MS, engineOptions: ENGINE_OPTIONS, redis: server.version },
    speed: by,
    concurrent: cby,
    ratios,
    memory,
    scale,
    target: TARGET,
    met,
    scaleTarget: SCALE_TARGET,
    scaleMet: scale.p99Ratio <= SCALE_TARGET,
  });
  console.log(`\nFigures written to ${file}`);
} finally {
  for (const f of cleanup.reverse()) await f().catch(() => {});
  admin.disconnect();
  await server.stop();
}

/** Runs `fn` over `items`, 100 at a time; resolves the results in order. */
async function inBatches(items, fn) {
  const out = [];
  for (let i = 0; i < items.length; i += 100) {
    out.push(...(await Promise.all(items.slice(i, i + 100).map((x, k) => fn(x, i + k)))));
  }
  return out;
}

/** Keeps `width` ops in flight for `ms`; ops/s and latency percentiles. */
async function inFlight(c, width, ms) {
  const latencies = [];
  let next = 0;
  const start = hrtime.bigint();
  const end = start + BigInt(ms) * 1_000_000n;
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (;;) {
        const t0 = hrtime.bigint();
        if (t0 >= end) return;
        await c.op(next++);
        latencies.push(Number(hrtime.bigint() - t0));
      }
    }),
  );
  const elapsed = Number(hrtime.bigint() - start);
  const sorted = Float64Array.from(latencies).sort();
  return { name: c.name, opsPerSec: (latencies.length * 1e9) / elapsed, p50Ns: percentile(sorted, 0.5), p99Ns: percentile(sorted, 0.99) };
}

async function usedMemory(redis) {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)[1]);
}

