/* global fetch, performance */
/**
 * Fleet benchmark: N service instances (1, 2, 4) of `latchkey serve` on one
 * Redis and on one PostgreSQL, behind a small round-robin proxy
 * (bench/fleet/proxy.js), each instance, the proxy and the store in a
 * process of its own, autocannon driving the proxy from this one.
 *
 * Traffic: every connection loops over a mixed sequence of the `/v1` API as
 * a backend would call it: create a session, validate it twice, patch its
 * data, rotate it, validate the new token, revoke it; issue a token pair,
 * refresh it, revoke it (10 requests, each on the next instance).
 * Reported per store and instance count: requests/s, p99 latency, 5xx
 * answers and other non-2xx answers (the sequence makes none when every
 * step sees the previous one's write, whatever instance served it).
 *
 * Revocation visibility: a session is created and validated on every
 * instance (filling the caches, when there are any), revoked on one, and
 * every instance is then asked to validate it until it refuses: the time
 * from the revoke's answer until the last instance refuses, p50 and max
 * over the trials, and how many answers still said valid after the revoke
 * was answered. Without the in-process cache every validation reads the
 * store; with it (`sessionCache: { staleness: '5s' }`, the largest fleet
 * only) a revocation is heard over the store's channel (pub/sub, NOTIFY).
 *
 * This machine's cores are shared by everything above: with 2 cores, N
 * instances compete with each other, the proxy, the store and autocannon,
 * so that more instances add coordination, not CPU (see the note printed).
 *
 * Usage: npm run bench -- fleet   (or node bench/fleet.bench.js after npm run build)
 *   FLEET_SIZES=1,2,4  FLEET_SECONDS=8 per measured window  FLEET_WARMUP_SECONDS=2
 *   FLEET_CONNECTIONS=16  FLEET_TRIALS=25 revocations per configuration
 *   FLEET_STORES=redis,postgres
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { median, percentile } from './lib/measure.js';
import { startPostgresServer } from './lib/postgres-server.js';
import { redisInstalled, startRedisServer } from './lib/redis-server.js';
import { writeResults } from './lib/results.js';
import { count, table } from './lib/table.js';

const SIZES = (process.env.FLEET_SIZES ?? '1,2,4').split(',').map(Number);
const SECONDS = Number(process.env.FLEET_SECONDS ?? 8);
const WARMUP_SECONDS = Number(process.env.FLEET_WARMUP_SECONDS ?? 2);
const CONNECTIONS = Number(process.env.FLEET_CONNECTIONS ?? 16);
const TRIALS = Number(process.env.FLEET_TRIALS ?? 25);
const STORES = (process.env.FLEET_STORES ?? 'redis,postgres').split(',');
const INSTANCE = fileURLToPath(new URL('./fleet/instance.js', import.meta.url));
const PROXY = fileURLToPath(new URL('./fleet/proxy.js', import.meta.url));

/** Forks `file`; resolves once it says where it listens. */
async function child(file, args) {
  const c = fork(file, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const died = once(c, 'exit').then(([code, signal]) => {
    throw new Error(`${file} exited (${signal ?? `code ${code}`})`);
  });
  died.catch(() => undefined);
  const [hello] = await Promise.race([once(c, 'message'), died]);
  return {
    port: hello.port,
    async stop() {
      if (c.exitCode !== null || c.signalCode !== null) return;
      const exited = once(c, 'exit');
      c.send('stop');
      await exited;
    },
  };
}

/** N instances on `store` sharing one data folder, and the proxy in front of them. */
async function startFleet(store, n, cache) {
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-bench-fleet-'));
  const instances = [];
  // One after the other: the first makes the shared signing keys and secrets, the others read them.
  for (let i = 0; i < n; i++) instances.push(await child(INSTANCE, [store, dataDir, cache]));
  const proxy = await child(PROXY, [instances.map((i) => i.port).join(',')]);
  return {
    proxyUrl: `http://127.0.0.1:${proxy.port}`,
    urls: instances.map((i) => `http://127.0.0.1:${i.port}`),
    async stop() {
      await proxy.stop();
      await Promise.all(instances.map((i) => i.stop()));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** An API key made straight in the store, as `latchkey apikeys create` does. */
async function makeApiKey(url) {
  const { openStore } = await import('../dist/stores/open.js');
  const { apiKeys } = await import('../dist/server/index.js');
  const store = await openStore(url);
  try {
    return (await apiKeys(store).create('fleet bench')).key;
  } finally {
    await store.close();
  }
}

const json = (body) => JSON.stringify(body);

/** The mixed sequence every autocannon connection loops over; each step reads what the previous ones answered. */
function mixedRequests(apiKey) {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` };
  let users = 0;
  const take = (field) => (status, body, context) => {
    if (status < 300) Object.assign(context, field(JSON.parse(body)));
  };
  return [
    { method: 'POST', path: '/v1/sessions', headers, setupRequest: (req) => ({ ...req, body: json({ userId: `u${users++ % 1000}`, data: { plan: 'pro' } }) }), onResponse: take((b) => ({ token: b.token, handle: b.session.handle })) },
    { method: 'POST', path: '/v1/sessions/validate', headers, setupRequest: (req, c) => ({ ...req, body: json({ token: c.token }) }) },
    { method: 'POST', path: '/v1/sessions/validate', headers, setupRequest: (req, c) => ({ ...req, body: json({ token: c.token }) }) },
    { method: 'PATCH', path: '/v1/sessions/x/data', headers, setupRequest: (req, c) => ({ ...req, path: `/v1/sessions/${c.handle}/data`, body: json({ set: { cart: users } }) }) },
    { method: 'POST', path: '/v1/sessions/rotate', headers, setupRequest: (req, c) => ({ ...req, body: json({ token: c.token }) }), onResponse: take((b) => ({ token: b.token, handle: b.session.handle })) },
    { method: 'POST', path: '/v1/sessions/validate', headers, setupRequest: (req, c) => ({ ...req, body: json({ token: c.token }) }) },
    { method: 'DELETE', path: '/v1/sessions/x', headers: { authorization: headers.authorization }, setupRequest: (req, c) => ({ ...req, path: `/v1/sessions/${c.handle}` }) },
    { method: 'POST', path: '/v1/tokens', headers, setupRequest: (req) => ({ ...req, body: json({ userId: `t${users++ % 1000}` }) }), onResponse: take((b) => ({ refresh: b.refreshToken })) },
    { method: 'POST', path: '/v1/tokens/refresh', headers, setupRequest: (req, c) => ({ ...req, body: json({ refreshToken: c.refresh }) }), onResponse: take((b) => ({ refresh: b.refreshToken })) },
    { method: 'POST', path: '/v1/tokens/revoke', headers, setupRequest: (req, c) => ({ ...req, body: json({ refreshToken: c.refresh }) }) },
  ];
}

/** Drives the proxy with the mixed sequence for `seconds`. */
async function drive(url, apiKey, seconds) {
  const result = await autocannon({ url, connections: CONNECTIONS, pipelining: 1, duration: seconds, requests: mixedRequests(apiKey) });
  return {
    reqPerSec: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    status5xx: result['5xx'],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

async function call(url, apiKey, method, path, body) {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : json(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}

/** Revocation trials: ms from the revoke's answer until every instance refuses, and the valid answers seen after it. */
async function revocations(urls, apiKey) {
  const spans = [];
  let stale = 0;
  for (let t = 0; t < TRIALS; t++) {
    const { body } = await call(urls[0], apiKey, 'POST', '/v1/sessions', { userId: `rev${t}` });
    for (const u of urls) {
      const r = await call(u, apiKey, 'POST', '/v1/sessions/validate', { token: body.token });
      if (r.body?.valid !== true) throw new Error(`a fresh session did not validate on ${u}: ${JSON.stringify(r.body)}`);
    }
    const by = urls[t % urls.length];
    const revoked = await call(by, apiKey, 'DELETE', `/v1/sessions/${body.session.handle}`);
    if (revoked.status !== 204) throw new Error(`revoke answered ${revoked.status}`);
    const answered = performance.now();
    const refusedAt = await Promise.all(
      urls.map(async (u) => {
        for (;;) {
          const r = await call(u, apiKey, 'POST', '/v1/sessions/validate', { token: body.token });
          if (r.body?.valid === false) return performance.now();
          stale++;
          if (performance.now() - answered > 10_000) throw new Error(`${u} still accepts a session revoked 10 s ago`);
        }
      }),
    );
    spans.push(Math.max(...refusedAt) - answered);
  }
  spans.sort((a, b) => a - b);
  return { p50Ms: percentile(spans, 0.5), maxMs: spans[spans.length - 1], staleAnswers: stale, trials: TRIALS };
}

async function runStore(kind) {
  let server;
  if (kind === 'redis') {
    if (!redisInstalled()) return null;
    server = await startRedisServer();
  } else {
    server = await startPostgresServer('fleet');
  }
  const rows = [];
  try {
    const apiKey = await makeApiKey(server.url);
    const configs = [...SIZES.map((n) => ({ n, cache: 'none' })), { n: Math.max(...SIZES), cache: '5s' }];
    for (const { n, cache } of configs) {
      const fleet = await startFleet(server.url, n, cache);
      try {
        await drive(fleet.proxyUrl, apiKey, WARMUP_SECONDS);
        const load = await drive(fleet.proxyUrl, apiKey, SECONDS);
        const visibility = await revocations(fleet.urls, apiKey);
        rows.push({ store: kind, instances: n, cache: cache === 'none' ? null : cache, ...load, revocation: visibility });
        process.stdout.write(`  ${kind}, ${n} instance${n === 1 ? '' : 's'}${cache === 'none' ? '' : `, cache ${cache}`}: ${count(load.reqPerSec)} req/s\n`);
      } finally {
        await fleet.stop();
      }
    }
  } finally {
    await server.stop();
  }
  return rows;
}

const started = Date.now();
const loadBefore = loadavg()[0];
const rows = [];
for (const kind of STORES) {
  console.log(`${kind}:`);
  const r = await runStore(kind);
  if (r === null) console.log(`  skipped: ${kind} is not installed`);
  else rows.push(...r);
}
const loadAfter = loadavg()[0];

console.log(
  `\n${table(
    ['store', 'instances', 'cache', 'req/s', 'x 1 instance', 'p50 ms', 'p99 ms', '5xx', 'other non-2xx', 'revoked->refused p50 ms', 'max ms', 'valid after revoke'],
    rows.map((r) => {
      const one = rows.find((o) => o.store === r.store && o.instances === 1 && o.cache === null);
      return [
        r.store,
        String(r.instances),
        r.cache ?? 'none',
        count(r.reqPerSec),
        one === undefined ? '-' : `${(r.reqPerSec / one.reqPerSec).toFixed(2)}x`,
        String(r.p50Ms),
        String(r.p99Ms),
        String(r.status5xx),
        String(r.non2xx - r.status5xx),
        r.revocation.p50Ms.toFixed(1),
        r.revocation.maxMs.toFixed(1),
        String(r.revocation.staleAnswers),
      ];
    }),
  )}`,
);
const cores = cpus().length;
const note =
  `${cores} cores for everything: the instances, the proxy, the store and autocannon share them. ` +
  'Each instance adds a process competing for the same cores, so throughput per machine cannot grow with instances ' +
  'beyond the cores the store, the proxy and the load generator leave free; on such a machine the fleet figures show what ' +
  'a fleet costs (another hop, more processes), not how it scales. Across machines each instance brings its own cores.';
console.log(`\nload average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after; ${note}`);
const file = writeResults('fleet', {
  seconds: SECONDS,
  connections: CONNECTIONS,
  trials: TRIALS,
  loadAverage: { before: loadBefore, after: loadAfter },
  note,
  rows,
  medianReqPerSec: median(rows.map((r) => r.reqPerSec)),
});
console.log(`\nwritten to ${file} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
