/* global fetch */
/**
 * HTTP benchmark: latchkey in each of its adapters (node:http, Express,
 * Fastify, Hono, Fetch, Koa, NestJS on its Express platform) against the
 * bare framework, and against the peer a
 * user of that framework would otherwise pick (express-session with its
 * MemoryStore in Express, @fastify/secure-session in Fastify), in one run.
 * Three paths: a valid session read, a session write, and an anonymous
 * visitor. Express also runs with one no-op middleware, which shows what
 * Express charges for any middleware at all.
 *
 * Every server runs in its own process (bench/servers/http-server.js) and
 * autocannon drives it from this one over 127.0.0.1. On a small machine the
 * load generator competes with the server for CPU, so req/s swings between
 * runs; the headline figure is therefore the server's own CPU time per
 * request (process.cpuUsage() inside the server, divided by the requests it
 * served), and the session overhead is that minus the bare server's of the
 * same framework, measured in the same run. Each case also reports what the
 * server's garbage collector did (young-generation survival, full GCs per
 * second, GC time per request), so that a change keeping per-request objects
 * alive shows even when the CPU figures are noisy.
 *
 * The remote cases run latchkey with the `remote` option: sessions kept by a
 * session service (bench/service/server.js, in a process of its own, on the
 * memory store) and checked through latchkey/client. Their server CPU is the
 * adapter's and the client's per request, not the service's: a read is one
 * call (validate), a write two (validate, then the data patch).
 *
 * Usage: node bench/http.bench.js
 *   BENCH_SECONDS=3 per measured run, BENCH_ROUNDS=3 rounds (servers interleaved),
 *   BENCH_FILTER=express to run only the servers whose name contains it, or one of `|`-separated parts (bare servers always run),
 *   BENCH_CONNECTIONS=10 concurrent connections.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { median } from './lib/measure.js';
import { writeResults } from './lib/results.js';
import { count, table, times } from './lib/table.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const SERVER = fileURLToPath(new URL('./servers/http-server.js', import.meta.url));
const SERVICE = fileURLToPath(new URL('./service/server.js', import.meta.url));

/** Targets of the session overhead over the bare framework, µs/request (issue 12): Express pays its middleware dispatch. */
const EXPRESS_TARGETS = { read: 12, write: 30, anonymous: 8 };
// Nest on its Express platform runs latchkey/express's middleware: Express's targets.
const TARGETS = { default: { read: 8, write: 15, anonymous: 2 }, express: EXPRESS_TARGETS, nest: EXPRESS_TARGETS };

// `adapter`: a latchkey adapter with the memory store, checked against the targets.
const allServers = [
  { name: 'node:http bare', variant: 'node-bare', bare: true },
  { name: 'node:http + latchkey (memory)', variant: 'node-latchkey', store: 'memory', bareOf: 'node:http bare', adapter: 'node:http' },
  { name: 'node:http + latchkey (sqlite)', variant: 'node-latchkey', store: 'sqlite', bareOf: 'node:http bare' },
  { name: 'node:http + latchkey (remote service)', variant: 'node-latchkey', store: 'remote', bareOf: 'node:http bare' },
  { name: 'express bare', variant: 'express-bare', bare: true },
  { name: 'express + no-op middleware', variant: 'express-noop', bareOf: 'express bare' },
  { name: 'express + latchkey (memory)', variant: 'express-latchkey', store: 'memory', bareOf: 'express bare', adapter: 'express' },
  { name: 'express + latchkey (sqlite)', variant: 'express-latchkey', store: 'sqlite', bareOf: 'express bare' },
  { name: 'express + express-session (MemoryStore)', variant: 'express-session', bareOf: 'express bare' },
  { name: 'fastify bare', variant: 'fastify-bare', bare: true },
  { name: 'fastify + latchkey (memory)', variant: 'fastify-latchkey', store: 'memory', bareOf: 'fastify bare', adapter: 'fastify' },
  { name: 'fastify + @fastify/secure-session', variant: 'fastify-secure-session', bareOf: 'fastify bare' },
  { name: 'hono bare', variant: 'hono-bare', bare: true },
  { name: 'hono + latchkey (memory)', variant: 'hono-latchkey', store: 'memory', bareOf: 'hono bare', adapter: 'hono' },
  { name: 'fetch bare (@hono/node-server)', variant: 'fetch-bare', bare: true },
  { name: 'fetch + latchkey (memory)', variant: 'fetch-latchkey', store: 'memory', bareOf: 'fetch bare (@hono/node-server)', adapter: 'fetch' },
  { name: 'fetch + latchkey (remote service)', variant: 'fetch-latchkey', store: 'remote', bareOf: 'fetch bare (@hono/node-server)' },
  { name: 'koa bare', variant: 'koa-bare', bare: true },
  { name: 'koa + latchkey (memory)', variant: 'koa-latchkey', store: 'memory', bareOf: 'koa bare', adapter: 'koa' },
  { name: 'nest (express) bare', variant: 'nest-bare', bare: true },
  { name: 'nest (express) + latchkey (memory)', variant: 'nest-latchkey', store: 'memory', bareOf: 'nest (express) bare', adapter: 'nest' },
];
const filter = process.env.BENCH_FILTER;
const chosen = filter === undefined ? allServers : allServers.filter((s) => filter.split('|').some((f) => s.name.includes(f)));
// A server's overhead needs its bare framework in the same run.
const servers = allServers.filter((s) => chosen.includes(s) || chosen.some((c) => c.bareOf === s.name));
const paths = [
  { name: 'read', method: 'GET', path: '/read', cookie: true },
  { name: 'write', method: 'POST', path: '/write', cookie: true },
  { name: 'anonymous', method: 'GET', path: '/anon', cookie: false },
];

/** The session service of the remote cases, in its own process; `null` when no remote case runs. */
async function startService() {
  if (!servers.some((s) => s.store === 'remote')) return null;
  const child = fork(SERVICE, ['service', 'memory'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [hello] = await once(child, 'message');
  return { child, env: { LATCHKEY_BENCH_SERVICE_URL: `http://127.0.0.1:${hello.port}`, LATCHKEY_BENCH_API_KEY: hello.apiKey } };
}
const service = await startService();

async function startServer(s) {
  const env = s.store === 'remote' ? { ...process.env, ...service.env } : process.env;
  const child = fork(SERVER, [s.variant, s.store ?? 'memory'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
  const [msg] = await once(child, 'message');
  const url = `http://127.0.0.1:${msg.port}`;
  const login = await fetch(`${url}/login`, { method: 'POST', headers: { 'sec-fetch-site': 'same-origin' } });
  if (!login.ok) throw new Error(`${s.name}: login answered ${login.status}`);
  const set = login.headers.getSetCookie()[0];
  const cookie = set === undefined ? null : set.slice(0, set.indexOf(';'));
  if (!s.bare && s.variant !== 'express-noop' && cookie === null) throw new Error(`${s.name}: login set no cookie`);
  const ask = async (m) => {
    child.send(m);
    const [reply] = await once(child, 'message');
    return reply;
  };
  return { child, url, cookie, ask };
}

async function load(server, p, seconds) {
  const headers = { 'sec-fetch-site': 'same-origin' };
  if (p.cookie && server.cookie !== null) headers.cookie = server.cookie;
  const result = await autocannon({ url: server.url + p.path, method: p.method, headers, connections: CONNECTIONS, duration: seconds });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${p.path}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return result;
}

async function measure(server, p) {
  await load(server, p, 1); // warm-up: JIT, caches, connection pool
  await server.ask('reset');
  const result = await load(server, p, SECONDS);
  const r = await server.ask('report');
  return {
    cpuUsPerReq: r.cpuMicros / r.requests,
    reqPerSec: result.requests.average,
    p99Ms: result.latency.p99,
    youngSurvival: r.gc.youngSurvival,
    scavengesPerSec: r.gc.scavenges / r.seconds,
    fullGcsPerSec: r.gc.fullGcs / r.seconds,
    gcUsPerReq: r.gc.costMicros / r.requests,
  };
}

const load0 = loadavg();
console.log(`load average at start: ${load0.map((l) => l.toFixed(2)).join(' ')}`);
const runs = new Map(); // `${server}|${path}` → [measure() results]
for (let round = 0; round < ROUNDS; round++) {
  for (const s of servers) {
    const server = await startServer(s);
    try {
      for (const p of paths) {
        const key = `${s.name}|${p.name}`;
        const r = await measure(server, p);
        runs.set(key, [...(runs.get(key) ?? []), r]);
        process.stdout.write('.');
      }
    } finally {
      server.child.send('stop');
      await once(server.child, 'exit');
    }
  }
}
process.stdout.write('\n\n');
if (service !== null) {
  service.child.send('stop');
  await once(service.child, 'exit');
}
const load1 = loadavg();

/** The medians over rounds of every figure of one case. */
const figure = (server, path) => {
  const rs = runs.get(`${server}|${path}`);
  const m = (k) => median(rs.map((r) => r[k]));
  return Object.fromEntries(Object.keys(rs[0]).map((k) => [k, m(k)]));
};
const overheadOf = (s, path) => (s.bareOf === undefined ? null : figure(s.name, path).cpuUsPerReq - figure(s.bareOf, path).cpuUsPerReq);

const results = [];
for (const p of paths) {
  const rows = [];
  for (const s of servers) {
    const f = figure(s.name, p.name);
    const overhead = overheadOf(s, p.name);
    results.push({ path: p.name, server: s.name, ...f, overheadUsPerReq: overhead });
    rows.push([
      s.name,
      f.cpuUsPerReq.toFixed(1),
      overhead === null ? '-' : overhead.toFixed(1),
      count(f.reqPerSec),
      String(f.p99Ms),
      `${(f.youngSurvival * 100).toFixed(1)} %`,
      f.scavengesPerSec.toFixed(0),
      f.fullGcsPerSec.toFixed(2),
      f.gcUsPerReq.toFixed(2),
    ]);
  }
  console.log(`${p.name} (${SECONDS} s x ${ROUNDS} rounds, ${CONNECTIONS} connections; medians)`);
  console.log(
    table(['server', 'server CPU µs/req', 'session overhead µs/req', 'req/s', 'p99 ms', 'GC: young survival', 'scavenges/s', 'full GCs/s', 'GC µs/req'], rows),
  );
  console.log('');
}

// The targets, one line per adapter.
const adapters = servers.filter((s) => s.adapter !== undefined);
const verdicts = [];
const targetRows = adapters.map((s) => {
  const target = TARGETS[s.adapter] ?? TARGETS.default;
  const cells = paths.map((p) => {
    const o = overheadOf(s, p.name);
    const ok = o <= target[p.name];
    verdicts.push(ok);
    return `${o.toFixed(1)} (<= ${target[p.name]}) ${ok ? 'ok' : 'MISSED'}`;
  });
  return [s.adapter, ...cells];
});
if (targetRows.length > 0) {
  console.log('latchkey session overhead over the bare framework, memory store, µs/request (target)');
  console.log(table(['adapter', 'read', 'write', 'anonymous'], targetRows));
  console.log('');
}
const peers = servers.filter((s) => s.bareOf !== undefined && s.adapter === undefined);
if (peers.length > 0) {
  console.log('for comparison, over the same bare frameworks, µs/request');
  console.log(table(['server', ...paths.map((p) => p.name)], peers.map((s) => [s.name, ...paths.map((p) => overheadOf(s, p.name).toFixed(1))])));
  console.log('');
}

const has = (name, path) => runs.has(`${name}|${path}`);
const ratio = (a, b, path) => (has(a, path) && has(b, path) ? figure(a, path).reqPerSec / figure(b, path).reqPerSec : NaN);
const headline = {
  overheadUs: Object.fromEntries(adapters.map((s) => [s.adapter, Object.fromEntries(paths.map((p) => [p.name, overheadOf(s, p.name)]))])),
  targetsMet: verdicts.every(Boolean),
  readReqPerSecVsExpressSession: ratio('express + latchkey (memory)', 'express + express-session (MemoryStore)', 'read'),
  writeReqPerSecVsExpressSession: ratio('express + latchkey (memory)', 'express + express-session (MemoryStore)', 'write'),
  readReqPerSecVsFastifySecureSession: ratio('fastify + latchkey (memory)', 'fastify + @fastify/secure-session', 'read'),
  writeReqPerSecVsFastifySecureSession: ratio('fastify + latchkey (memory)', 'fastify + @fastify/secure-session', 'write'),
};
const ratioLine = (label, r) => {
  if (!Number.isNaN(r)) console.log(`${label}: ${times(r)}`);
};
ratioLine('read req/s, latchkey vs express-session in Express', headline.readReqPerSecVsExpressSession);
ratioLine('write req/s, latchkey vs express-session in Express', headline.writeReqPerSecVsExpressSession);
ratioLine('read req/s, latchkey vs @fastify/secure-session in Fastify', headline.readReqPerSecVsFastifySecureSession);
ratioLine('write req/s, latchkey vs @fastify/secure-session in Fastify', headline.writeReqPerSecVsFastifySecureSession);
console.log(`load average at the end: ${load1.map((l) => l.toFixed(2)).join(' ')} (CPU figures are trustworthy on an idle machine only)`);
const file = writeResults('http', { seconds: SECONDS, rounds: ROUNDS, connections: CONNECTIONS, loadAverage: { start: load0, end: load1 }, headline, results });
console.log(`\nresults written to ${file}`);
