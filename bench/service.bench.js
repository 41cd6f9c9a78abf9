/* global fetch */
/**
 * Service benchmark: `POST /v1/sessions/validate` of the standalone service
 * (`latchkey serve`, memory: and sqlite: stores) beside a bare Fastify route
 * that parses the same JSON body and answers the same JSON, in one run.
 *
 * Every server runs in its own process (bench/service/server.js) and
 * autocannon drives it from this one over 127.0.0.1 (fixed connections,
 * pipelining 1, an API key and a valid session token in every request). On a
 * small machine the load generator competes with the server for CPU, so
 * req/s and p99 swing between runs; the headline figure is the server's own
 * CPU time per request (process.cpuUsage() inside the server over the
 * measured window only, divided by the requests it served). The cost of the
 * service is its CPU µs/request minus the bare route's: API-key check, body
 * schema, the engine's validation, the store, metrics and the response
 * schema.
 *
 * The three servers start once and are warmed up; then each round measures
 * each of them in turn (the order rotates every round), and every figure is
 * the median of the rounds.
 *
 * Usage: node bench/service.bench.js   (after npm run build)
 *   BENCH_SECONDS=5 per measured window, BENCH_ROUNDS=5 rounds,
 *   BENCH_WARMUP_SECONDS=2 per server, BENCH_CONNECTIONS=10.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { median, percentile } from './lib/measure.js';
import { writeResults } from './lib/results.js';
import { count, table, times } from './lib/table.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const SERVER = fileURLToPath(new URL('./service/server.js', import.meta.url));
const PATH = '/v1/sessions/validate';

/** Forks a server; resolves its hello message and a way to ask it things. */
async function startServer(name, args) {
  const child = fork(SERVER, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const died = new Promise((_, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`${name}: server exited (${signal ?? `code ${code}`})`)));
  });
  died.catch(() => undefined);
  const next = () => Promise.race([once(child, 'message').then(([m]) => m), died]);
  const hello = await next();
  const ask = (m) => {
    const reply = next();
    child.send(m);
    return reply;
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.send('stop');
    await exited;
  };
  return { name, child, hello, url: `http://127.0.0.1:${hello.port}${PATH}`, ask, stop };
}

/** One validate request as a backend would send it; resolves the status and the body's text. */
async function validateOnce(url, apiKey, token) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ token }),
  });
  return { status: res.status, text: await res.text() };
}

/** Drives the server for `seconds`; resolves autocannon's result and the latency of every 2xx answer in ms (autocannon's own histogram keeps whole ms only). */
async function load(server, seconds) {
  const instance = autocannon({
    url: server.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.apiKey}` },
    body: JSON.stringify({ token: server.token }),
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
  });
  const latencies = [];
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const result = await instance;
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(`${server.name}: ${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  return { result, latencies: Float64Array.from(latencies).sort() };
}

async function measure(server) {
  await server.ask('reset');
  const { result, latencies } = await load(server, SECONDS);
  const report = await server.ask('report');
  // Still a valid session at the end of the window (not expired, not throttled)?
  const check = await validateOnce(server.url, server.apiKey, server.token);
  if (check.status !== 200 || JSON.parse(check.text).valid !== true) throw new Error(`${server.name}: the session no longer validates: ${check.status} ${check.text}`);
  return {
    reqPerSec: result.requests.average,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    cpuUsPerReq: report.cpuMicros / report.requests,
    serverCpuPct: (100 * report.cpuMicros) / (report.wallMs * 1000),
    requests: report.requests,
  };
}

const started = Date.now();
// Other processes on the machine inflate CPU µs/request (preemption, cold caches) and swing req/s: note how busy it was.
const loadBefore = loadavg()[0];
const servers = [];
try {
  // The services first: the bare route answers what the memory one answered.
  for (const store of ['memory', 'sqlite']) {
    const s = await startServer(`service (${store})`, ['service', store]);
    Object.assign(s, { apiKey: s.hello.apiKey, token: s.hello.token, store });
    const first = await validateOnce(s.url, s.apiKey, s.token);
    if (first.status !== 200 || JSON.parse(first.text).valid !== true) throw new Error(`${s.name}: validate answered ${first.status} ${first.text}`);
    s.answer = first.text;
    servers.push(s);
  }
  const service = servers[0];
  const bare = await startServer('bare Fastify', ['bare', String(service.hello.bodyLimit), service.answer]);
  Object.assign(bare, { apiKey: service.apiKey, token: service.token, bare: true });
  servers.unshift(bare);
  const bareAnswer = await validateOnce(bare.url, bare.apiKey, bare.token);
  if (bareAnswer.status !== 200 || bareAnswer.text !== service.answer) throw new Error(`bare Fastify answered ${bareAnswer.status} ${bareAnswer.text}, not ${service.answer}`);

  for (const s of servers) await load(s, WARMUP_SECONDS); // JIT, caches, connections
  process.stdout.write(`${servers.length} servers x ${ROUNDS} rounds x ${SECONDS} s `);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < servers.length; k++) {
      const s = servers[(round + k) % servers.length];
      (s.rounds ??= []).push(await measure(s));
      process.stdout.write('.');
    }
  }
  process.stdout.write(`\n\n`);
} finally {
  await Promise.all(servers.map((s) => s.stop()));
}

const loadAfter = loadavg()[0];
const [bare, ...services] = servers;
const med = (s, key) => median(s.rounds.map((r) => r[key]));
const figures = (s) => ({ reqPerSec: med(s, 'reqPerSec'), p50Ms: med(s, 'p50Ms'), p99Ms: med(s, 'p99Ms'), cpuUsPerReq: med(s, 'cpuUsPerReq'), serverCpuPct: med(s, 'serverCpuPct'), reqPerSecPerCore: 1e6 / med(s, 'cpuUsPerReq') });
const bareF = figures(bare);
const results = [{ server: bare.name, ...bareF, costUsPerReq: null, rounds: bare.rounds }];
const rows = [[bare.name, bareF.cpuUsPerReq.toFixed(1), '-', count(bareF.reqPerSecPerCore), '-', count(bareF.reqPerSec), '-', bareF.p99Ms.toFixed(2), bareF.serverCpuPct.toFixed(0)]];
const headline = {};
for (const s of services) {
  const f = figures(s);
  const cost = f.cpuUsPerReq - bareF.cpuUsPerReq;
  // Spread: the same difference within each round (the servers of one round ran back to back).
  const perRound = s.rounds.map((r, i) => r.cpuUsPerReq - bare.rounds[i].cpuUsPerReq);
  const spread = { min: Math.min(...perRound), max: Math.max(...perRound) };
  const ratio = f.reqPerSec / bareF.reqPerSec;
  results.push({ server: s.name, ...f, costUsPerReq: cost, costPerRoundUs: perRound, reqPerSecVsBare: ratio, cpuVsBare: f.cpuUsPerReq / bareF.cpuUsPerReq, rounds: s.rounds });
  headline[s.store] = { costUsPerReq: cost, costSpreadUs: spread, reqPerSecVsBare: ratio, cpuVsBare: f.cpuUsPerReq / bareF.cpuUsPerReq, reqPerSecPerCoreVsBare: bareF.cpuUsPerReq / f.cpuUsPerReq };
  rows.push([s.name, f.cpuUsPerReq.toFixed(1), cost.toFixed(1), count(f.reqPerSecPerCore), times(bareF.cpuUsPerReq / f.cpuUsPerReq), count(f.reqPerSec), times(ratio), f.p99Ms.toFixed(2), f.serverCpuPct.toFixed(0)]);
}

console.log(`POST ${PATH} (${SECONDS} s x ${ROUNDS} rounds, ${CONNECTIONS} connections, pipelining 1; medians)`);
console.log(table(['server', 'server CPU µs/req', 'service cost µs/req', 'req/s per core', 'vs bare', 'req/s', 'vs bare', 'p99 ms', 'server CPU %'], rows));
console.log('req/s per core = 1e6 / server CPU µs/req: what one saturated core of the server answers; it matches the measured');
console.log('req/s when the server CPU % is near 100, i.e. when neither the load generator nor other processes held the server back.');
const starved = results.some((r) => r.serverCpuPct < 90);
console.log(`machine load average (1 min): ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after, on ${cpus().length} cores`);
if (starved || loadBefore > cpus().length) {
  console.log('WARNING: a server was below 90% CPU or the machine was busy: req/s and p99 are unreliable in this run (CPU µs/req less so); run again on a quiet machine.');
}
console.log('');
console.log('cost of the service = its CPU µs/request minus the bare Fastify route\'s (API key, body schema, validation, store, metrics):');
for (const [store, h] of Object.entries(headline)) {
  console.log(
    `  ${store.padEnd(7)} ${h.costUsPerReq.toFixed(1)} µs/request (rounds: ${h.costSpreadUs.min.toFixed(1)} to ${h.costSpreadUs.max.toFixed(1)}): ${times(h.cpuVsBare)} the bare route's CPU, ${times(h.reqPerSecPerCoreVsBare)} its req/s per core, ${times(h.reqPerSecVsBare)} its measured req/s`,
  );
}
const file = writeResults('service', {
  path: PATH,
  seconds: SECONDS,
  rounds: ROUNDS,
  warmupSeconds: WARMUP_SECONDS,
  connections: CONNECTIONS,
  pipelining: 1,
  loadAverage: { before: loadBefore, after: loadAfter },
  serversSaturated: !starved,
  responseBytes: Buffer.byteLength(services[0].answer),
  headline,
  results,
});
console.log(`\nresults written to ${file} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
