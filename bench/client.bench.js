/* global fetch */
/**
 * Client benchmark: what one call of latchkey/client
 * (`validateSession()`) costs the calling process in CPU, beside the same
 * request sent with a bare `fetch()` and with `node:http` and a keep-alive
 * agent, in one run. This is the per-request price of the HTTP layer's
 * `remote` option on Node, apart from the adapter (bench/http.bench.js
 * measures the whole request).
 *
 * The service runs in its own process (bench/service/server.js, memory
 * store), so the figures here are the caller's alone: process.cpuUsage() of
 * this process over a measured batch of calls, divided by the calls, with 10
 * calls in flight at a time. Each case is warmed up, the cases are
 * interleaved over rounds, and every figure is the median of the rounds.
 *
 * Usage: node bench/client.bench.js   (after npm run build)
 *   BENCH_CALLS=2000 per measured batch, BENCH_ROUNDS=3, BENCH_CONCURRENCY=10.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createClient } from 'latchkey/client';
import { median } from './lib/measure.js';
import { writeResults } from './lib/results.js';
import { count, table, times } from './lib/table.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);
const SERVICE = fileURLToPath(new URL('./service/server.js', import.meta.url));

const child = fork(SERVICE, ['service', 'memory'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const [hello] = await once(child, 'message');
const base = `http://127.0.0.1:${hello.port}`;
const url = `${base}/v1/sessions/validate`;
const client = createClient({ baseUrl: base, apiKey: hello.apiKey });
const clientInfo = { ip: '203.0.113.7', userAgent: 'bench' };
const body = JSON.stringify({ token: hello.token, client: clientInfo });
const headers = { authorization: `Bearer ${hello.apiKey}`, accept: 'application/json', 'content-type': 'application/json' };
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

/** Each case makes one validation and checks that the service said valid. */
const cases = {
  'latchkey/client validateSession()': async () => (await client.validateSession(hello.token, { client: clientInfo })).valid,
  'bare fetch() of the same request': async () => (await (await fetch(url, { method: 'POST', headers, body, redirect: 'manual' })).json()).valid,
  'node:http, keep-alive agent': () =>
    new Promise((resolve, reject) => {
      const req = request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve(JSON.parse(text).valid));
      });
      req.on('error', reject);
      req.end(body);
    }),
};

/** Runs `calls` calls, `CONCURRENCY` at a time; resolves this process's CPU µs and the wall time. */
async function batch(fn, calls) {
  let left = calls;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    while (left-- > 0) if ((await fn()) !== true) throw new Error('the service did not answer valid');
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const cpu = process.cpuUsage(cpu0);
  return { cpuUsPerCall: (cpu.user + cpu.system) / calls, callsPerSec: calls / ((performance.now() - t0) / 1000) };
}

const load0 = loadavg();
console.log(`load average at start: ${load0.map((l) => l.toFixed(2)).join(' ')}`);
for (const fn of Object.values(cases)) await batch(fn, Math.min(CALLS, 500)); // warm-up: JIT, connection pools
const runs = new Map();
for (let round = 0; round < ROUNDS; round++) {
  const names = Object.keys(cases);
  // The order rotates every round, so that no case always follows the same one.
  for (const name of [...names.slice(round % names.length), ...names.slice(0, round % names.length)]) {
    runs.set(name, [...(runs.get(name) ?? []), await batch(cases[name], CALLS)]);
    process.stdout.write('.');
  }
}
process.stdout.write('\n\n');
child.send('stop');
await once(child, 'exit');
agent.destroy();
const load1 = loadavg();

const results = Object.keys(cases).map((name) => {
  const rs = runs.get(name);
  return { name, cpuUsPerCall: median(rs.map((r) => r.cpuUsPerCall)), callsPerSec: median(rs.map((r) => r.callsPerSec)) };
});
console.log(`one validation, ${CALLS} calls x ${ROUNDS} rounds, ${CONCURRENCY} in flight; medians; CPU of the calling process only`);
console.log(table(['case', 'caller CPU µs/call', 'calls/s'], results.map((r) => [r.name, r.cpuUsPerCall.toFixed(0), count(r.callsPerSec)])));
const [ours, bare, node] = results;
const headline = { clientCpuUsPerCall: ours.cpuUsPerCall, clientVsBareFetch: ours.cpuUsPerCall / bare.cpuUsPerCall, bareFetchVsNodeHttp: bare.cpuUsPerCall / node.cpuUsPerCall };
console.log(`\nlatchkey/client's CPU per call vs a bare fetch(): ${times(headline.clientVsBareFetch)}; bare fetch() vs node:http: ${times(headline.bareFetchVsNodeHttp)}`);
console.log(`load average at the end: ${load1.map((l) => l.toFixed(2)).join(' ')} (CPU figures are trustworthy on an idle machine only)`);
const file = writeResults('client', { calls: CALLS, rounds: ROUNDS, concurrency: CONCURRENCY, loadAverage: { start: load0, end: load1 }, headline, results });
console.log(`\nresults written to ${file}`);
