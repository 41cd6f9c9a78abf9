/**
 * One HTTP server of the HTTP benchmark, started in its own process by
 * bench/http.bench.js: `node bench/servers/http-server.js <variant> [store]`.
 *
 * Variants (bench/servers/http-apps.js): express-bare, express-noop (one
 * middleware that only calls next()), express-latchkey, express-session;
 * node-bare, node-latchkey; fastify-bare, fastify-latchkey,
 * fastify-secure-session; hono-bare, hono-latchkey; fetch-bare,
 * fetch-latchkey; koa-bare, koa-latchkey; nest-bare, nest-latchkey (Nest on
 * its Express platform). Stores (latchkey only): memory, sqlite, and remote:
 * no store in this process, sessions kept by the session service at
 * $LATCHKEY_BENCH_SERVICE_URL (API key $LATCHKEY_BENCH_API_KEY), through
 * latchkey/client (the `remote` option), so that this process's CPU is the
 * adapter's and the client's, the service's own CPU being another process's.
 *
 * Routes, the same everywhere:
 *   POST /login   signs in (sets the cookie the load generator then sends)
 *   GET  /read    reads the session and answers the user id
 *   POST /write   writes one data key
 *   GET  /anon    reads the session of a visitor without a cookie
 *
 * It talks to its parent over IPC: it sends { port } once listening; on
 * 'reset' it zeroes its request counter and CPU baseline and starts a V8 GC
 * profile; on 'report' it answers { cpuMicros, requests, seconds, gc }: its
 * own process CPU time since the reset, and what the garbage collector did
 * meanwhile (see gcSummary()).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { GCProfiler } from 'node:v8';
import { createSessions } from 'latchkey';
import { createClient } from 'latchkey/client';
import { memoryStore } from 'latchkey/stores/memory';
import { sqliteStore } from 'latchkey/stores/sqlite';
import { buildServer } from './http-apps.js';

const [variant, storeName = 'memory'] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-'));
const store = storeName === 'sqlite' ? sqliteStore({ path: join(dir, 'sessions.db') }) : memoryStore();
const sessions = createSessions({ store, idleTimeout: '30m', absoluteTimeout: '12h' });
// The load generator runs over plain HTTP on 127.0.0.1.
const http =
  storeName === 'remote'
    ? { remote: createClient({ baseUrl: process.env.LATCHKEY_BENCH_SERVICE_URL, apiKey: process.env.LATCHKEY_BENCH_API_KEY }), development: true, cookie: { secure: false } }
    : { sessions, development: true, cookie: { secure: false } };

/**
 * What the collector did during a measured run: how many scavenges (young
 * generation) and full mark-compacts ran, the share of the young generation
 * that survived its scavenges (copied or promoted: objects kept alive past
 * their request show here first), and the collector's own time.
 *
 * @param {{ statistics: Array<{ gcType: string, cost: number, beforeGC: any, afterGC: any }> }} profile
 */
function gcSummary(profile) {
  let scavenges = 0;
  let fullGcs = 0;
  let youngBefore = 0;
  let youngSurvived = 0;
  let costMicros = 0;
  const young = (stats) =>
    stats.heapSpaceStatistics.filter((s) => s.spaceName === 'new_space' || s.spaceName === 'new_large_object_space').reduce((n, s) => n + s.spaceUsedSize, 0);
  for (const gc of profile.statistics) {
    costMicros += gc.cost;
    if (gc.gcType === 'Scavenge') {
      scavenges++;
      const before = young(gc.beforeGC);
      // A scavenge frees young objects only: what it did not free survived (kept young, or promoted).
      const freed = gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
      youngBefore += before;
      youngSurvived += Math.max(0, before - freed);
    } else if (gc.gcType === 'MarkSweepCompact') fullGcs++;
  }
  return { scavenges, fullGcs, youngSurvival: youngBefore === 0 ? 0 : youngSurvived / youngBefore, costMicros };
}

const server = await buildServer(variant, http);
let requests = 0;
let baseline = process.cpuUsage();
let started = performance.now();
let profiler = null;
server.on('request', () => requests++);
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));

process.on('message', (msg) => {
  if (msg === 'reset') {
    profiler?.stop();
    profiler = new GCProfiler();
    profiler.start();
    requests = 0;
    started = performance.now();
    baseline = process.cpuUsage();
    process.send({ reset: true });
  } else if (msg === 'report') {
    const cpu = process.cpuUsage(baseline);
    const seconds = (performance.now() - started) / 1000;
    const gc = profiler === null ? null : gcSummary(profiler.stop());
    profiler = null;
    process.send({ cpuMicros: cpu.user + cpu.system, requests, seconds, gc });
  } else if (msg === 'stop') {
    server.closeAllConnections();
    server.close(async () => {
      await sessions.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
  }
});
