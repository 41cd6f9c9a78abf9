/* global fetch */
/**
 * HTTP benchmark: latchkey in Express against express-session (MemoryStore)
 * in the same Express app, and latchkey in node:http against bare node:http,
 * in one run. Three paths: a valid session read, a session write, and an
 * anonymous visitor.
 *
 * Every server runs in its own process (bench/servers/http-server.js) and
 * autocannon drives it from this one over 127.0.0.1. On a small machine the
 * load generator competes with the server for CPU, so req/s swings between
 * runs; the headline figure is therefore the server's own CPU time per
 * request (process.cpuUsage() inside the server, divided by the requests it
 * served), and the session overhead is that minus the bare server's of the
 * same framework, measured in the same run.
 *
 * Usage: node bench/http.bench.js
 *   BENCH_SECONDS=3 per measured run, BENCH_ROUNDS=2 rounds (servers interleaved),
 *   BENCH_FILTER=express to run only the servers whose name contains it,
 *   BENCH_CONNECTIONS=10 concurrent connections.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { median } from './lib/measure.js';
import { writeResults } from './lib/results.js';
import { count, table, times } from './lib/table.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const SERVER = fileURLToPath(new URL('./servers/http-server.js', import.meta.url));

const allServers = [
  { name: 'express bare', variant: 'express-bare', bare: true },
  { name: 'express + latchkey (memory)', variant: 'express-latchkey', store: 'memory', bareOf: 'express bare' },
  { name: 'express + latchkey (sqlite)', variant: 'express-latchkey', store: 'sqlite', bareOf: 'express bare' },
  { name: 'express + express-session (MemoryStore)', variant: 'express-session', bareOf: 'express bare' },
  { name: 'node:http bare', variant: 'node-bare', bare: true },
  { name: 'node:http + latchkey (memory)', variant: 'node-latchkey', store: 'memory', bareOf: 'node:http bare' },
  { name: 'node:http + latchkey (sqlite)', variant: 'node-latchkey', store: 'sqlite', bareOf: 'node:http bare' },
];
const filter = process.env.BENCH_FILTER;
const servers = filter === undefined ? allServers : allServers.filter((s) => s.name.includes(filter));
const paths = [
  { name: 'read', method: 'GET', path: '/read', cookie: true },
  { name: 'write', method: 'POST', path: '/write', cookie: true },
  { name: 'anonymous', method: 'GET', path: '/anon', cookie: false },
];

async function startServer(s) {
  const child = fork(SERVER, [s.variant, s.store ?? 'memory'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [msg] = await once(child, 'message');
  const url = `http://127.0.0.1:${msg.port}`;
  const login = await fetch(`${url}/login`, { method: 'POST', headers: { 'sec-fetch-site': 'same-origin' } });
  if (!login.ok) throw new Error(`${s.name}: login answered ${login.status}`);
  const set = login.headers.getSetCookie()[0];
  const cookie = set === undefined ? null : set.slice(0, set.indexOf(';'));
  if (!s.bare && cookie === null) throw new Error(`${s.name}: login set no cookie`);
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
  const report = await server.ask('report');
  return { cpuUsPerReq: report.cpuMicros / report.requests, reqPerSec: result.requests.average, p99Ms: result.latency.p99 };
}

const runs = new Map(); // `${server}|${path}` → [{ cpuUsPerReq, reqPerSec, p99Ms }]
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

const figure = (server, path) => {
  const rs = runs.get(`${server}|${path}`);
  return { cpuUsPerReq: median(rs.map((r) => r.cpuUsPerReq)), reqPerSec: median(rs.map((r) => r.reqPerSec)), p99Ms: median(rs.map((r) => r.p99Ms)) };
};

const results = [];
for (const p of paths) {
  const rows = [];
  for (const s of servers) {
    const f = figure(s.name, p.name);
    const bare = s.bareOf === undefined ? undefined : runs.get(`${s.bareOf}|${p.name}`);
    const overhead = bare === undefined ? null : f.cpuUsPerReq - figure(s.bareOf, p.name).cpuUsPerReq;
    results.push({ path: p.name, server: s.name, ...f, overheadUsPerReq: overhead });
    rows.push([s.name, f.cpuUsPerReq.toFixed(1), overhead === null ? '-' : overhead.toFixed(1), count(f.reqPerSec), String(f.p99Ms)]);
  }
  console.log(`${p.name} (${SECONDS} s x ${ROUNDS} rounds, ${CONNECTIONS} connections; medians)`);
  console.log(table(['server', 'server CPU µs/req', 'session overhead µs/req', 'req/s', 'p99 ms'], rows));
  console.log('');
}

const ratio = (path) =>
  runs.has(`express + express-session (MemoryStore)|${path}`) && runs.has(`express + latchkey (memory)|${path}`) ? figure('express + latchkey (memory)', path).reqPerSec / figure('express + express-session (MemoryStore)', path).reqPerSec : NaN;
const overheadOf = (server, path) => results.find((r) => r.server === server && r.path === path)?.overheadUsPerReq ?? NaN;
const headline = {
  readOverheadUs: {
    expressMemory: overheadOf('express + latchkey (memory)', 'read'),
    expressSqlite: overheadOf('express + latchkey (sqlite)', 'read'),
    nodeMemory: overheadOf('node:http + latchkey (memory)', 'read'),
    nodeSqlite: overheadOf('node:http + latchkey (sqlite)', 'read'),
    expressSession: overheadOf('express + express-session (MemoryStore)', 'read'),
  },
  readReqPerSecVsExpressSession: ratio('read'),
  writeReqPerSecVsExpressSession: ratio('write'),
};
console.log('read-path session overhead (target <= 8 µs/request):');
for (const [k, v] of Object.entries(headline.readOverheadUs)) console.log(`  ${k.padEnd(15)} ${v.toFixed(1)} µs`);
console.log(`read req/s, latchkey vs express-session in Express: ${times(headline.readReqPerSecVsExpressSession)} (target >= 1.50x)`);
console.log(`write req/s, latchkey vs express-session in Express: ${times(headline.writeReqPerSecVsExpressSession)}`);
const file = writeResults('http', { seconds: SECONDS, rounds: ROUNDS, connections: CONNECTIONS, headline, results });
console.log(`\nresults written to ${file}`);
