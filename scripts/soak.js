#!/usr/bin/env node
/**
 * `npm run soak [-- --seconds N --store URL --concurrency N]`: mixed traffic
 * against `latchkey serve` (the built executable) for a bounded time, then
 * req/s, latency percentiles, errors by status and the service's resident
 * memory at the start and the end (sampled every second: the peak too).
 *
 * Each client runs the life of a session and of a token family over and
 * over: create, validate, patch, rotate, validate, revoke; issue, introspect,
 * refresh, introspect, revoke. Every answer is expected to succeed, so any
 * status outside 2xx (or a request without an answer) is an error.
 *
 * Defaults: 60 s (LATCHKEY_SOAK_SECONDS), a fresh SQLite file
 * (LATCHKEY_SOAK_STORE, e.g. memory:, redis://127.0.0.1:6379 or a
 * postgres:// URL), 32 clients.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const bin = join(root, 'dist', 'cli', 'main.js');

function option(name, envName, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  if (at !== -1 && process.argv[at + 1] !== undefined) return process.argv[at + 1];
  return process.env[envName] ?? fallback;
}

const seconds = Number(option('seconds', 'LATCHKEY_SOAK_SECONDS', '60'));
const concurrency = Number(option('concurrency', 'LATCHKEY_SOAK_CONCURRENCY', '32'));
const dir = mkdtempSync(join(tmpdir(), 'latchkey-soak-'));
const store = option('store', 'LATCHKEY_SOAK_STORE', `sqlite:${join(dir, 'soak.db')}`);
if (!(seconds > 0) || !Number.isSafeInteger(concurrency) || concurrency < 1) {
  console.error('usage: npm run soak [-- --seconds <n> --store <url> --concurrency <n>]');
  process.exit(2);
}

const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LATCHKEY_') && k !== 'PORT' && k !== 'HOST'));
function cli(args) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`latchkey ${args[0]} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** The service's resident set size in MiB, from /proc (Linux) or ps. */
function rssOf(pid) {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    if (kb > 0) return kb / 1024;
  } catch {
    // not Linux
  }
  const r = spawnSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' });
  return Number(r.stdout.trim()) / 1024;
}

function serve() {
  const child = spawn(process.execPath, [bin, 'serve', '--store', store, '--port', '0', '--data-dir', join(dir, 'state'), '--log-level', 'warn', '--admin-password', 'soak-admin-password'], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /latchkey is listening on (http:\/\/\S+)\n/.exec(out);
      if (m !== null) resolve({ child, base: new URL(m[1]) });
    });
    child.on('exit', (code) => reject(new Error(`latchkey serve exited with ${code}`)));
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
let base;
let key;

/** One request; resolves { status, body } (status 0: no answer). */
function call(method, path, json) {
  const body = json === undefined ? undefined : JSON.stringify(json);
  return new Promise((resolve) => {
    const req = request(
      {
        host: base.hostname,
        port: base.port,
        method,
        path,
        agent,
        headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}) },
        timeout: 30_000,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          let parsed = null;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            parsed = null;
          }
          resolve({ status: res.statusCode, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, body: null }));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const latencies = new Map();
const statuses = new Map();
let requests = 0;

async function timed(op, method, path, json) {
  const started = process.hrtime.bigint();
  const r = await call(method, path, json);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  requests++;
  let list = latencies.get(op);
  if (list === undefined) latencies.set(op, (list = []));
  list.push(ms);
  if (r.status < 200 || r.status > 299) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
  return r;
}

async function client(w, until) {
  for (let n = 0; Date.now() < until; n++) {
    const userId = `soak-${w}-${n % 50}`;
    const created = await timed('create', 'POST', '/v1/sessions', { userId, data: { n } });
    let token = created.body?.token;
    if (typeof token === 'string') {
      for (let i = 0; i < 3; i++) await timed('validate', 'POST', '/v1/sessions/validate', { token });
      const handle = created.body.session.handle;
      await timed('patch', 'PATCH', `/v1/sessions/${handle}/data`, { set: { visited: n } });
      const rotated = await timed('rotate', 'POST', '/v1/sessions/rotate', { token, authenticated: true });
      token = rotated.body?.token ?? token;
      await timed('validate', 'POST', '/v1/sessions/validate', { token });
      await timed('revoke', 'DELETE', `/v1/sessions/${rotated.body?.session?.handle ?? handle}`);
    }
    const pair = await timed('issue', 'POST', '/v1/tokens', { userId });
    if (typeof pair.body?.accessToken === 'string') {
      for (let i = 0; i < 2; i++) await timed('introspect', 'POST', '/v1/tokens/introspect', { token: pair.body.accessToken });
      const refreshed = await timed('refresh', 'POST', '/v1/tokens/refresh', { refreshToken: pair.body.refreshToken });
      if (typeof refreshed.body?.accessToken === 'string') {
        await timed('introspect', 'POST', '/v1/tokens/introspect', { token: refreshed.body.accessToken });
        await timed('revoke refresh', 'POST', '/v1/tokens/revoke', { refreshToken: refreshed.body.refreshToken });
      }
    }
  }
}

function percentile(sorted, p) {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const fmt = (n, d = 1) => n.toFixed(d);

async function main() {
  if (!process.argv.includes('--no-build')) spawnSync(process.execPath, [join(root, 'scripts', 'build.js'), '--if-stale'], { cwd: root, stdio: 'inherit' });
  cli(['migrate', '--store', store]);
  key = cli(['apikeys', 'create', '--name', 'soak', '--store', store]).trimEnd().split('\n').at(-1);
  const { child, base: url } = await serve();
  base = url;
  const rssStart = rssOf(child.pid);
  let rssPeak = rssStart;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssOf(child.pid))), 1000);
  console.log(`latchkey soak: ${seconds} s, ${concurrency} clients, store ${store.replace(/\/\/[^@/]*@/, '//***@')}, service pid ${child.pid}, RSS ${fmt(rssStart)} MiB at start`);
  const started = Date.now();
  const until = started + seconds * 1000;
  const progress = setInterval(() => console.log(`  ${Math.round((Date.now() - started) / 1000)} s: ${requests} requests, RSS ${fmt(rssOf(child.pid))} MiB`), 10_000);
  await Promise.all(Array.from({ length: concurrency }, (_, w) => client(w, until)));
  const elapsed = (Date.now() - started) / 1000;
  clearInterval(progress);
  clearInterval(sampler);
  const rssEnd = rssOf(child.pid);
  rssPeak = Math.max(rssPeak, rssEnd);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  agent.destroy();
  rmSync(dir, { recursive: true, force: true });

  const all = [...latencies.values()].flat().sort((a, b) => a - b);
  const errors = [...statuses.values()].reduce((a, b) => a + b, 0);
  console.log(`\n${'operation'.padEnd(16)} ${'requests'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)}`);
  for (const [op, list] of [...latencies].sort((a, b) => b[1].length - a[1].length)) {
    const sorted = list.sort((a, b) => a - b);
    console.log(`${op.padEnd(16)} ${String(sorted.length).padStart(9)} ${fmt(percentile(sorted, 50), 2).padStart(8)} ${fmt(percentile(sorted, 99), 2).padStart(8)} ${fmt(sorted.at(-1) ?? 0, 2).padStart(8)}`);
  }
  console.log(`${'all'.padEnd(16)} ${String(all.length).padStart(9)} ${fmt(percentile(all, 50), 2).padStart(8)} ${fmt(percentile(all, 99), 2).padStart(8)} ${fmt(all.at(-1) ?? 0, 2).padStart(8)}`);
  console.log(`\n${requests} requests in ${fmt(elapsed)} s: ${fmt(requests / elapsed, 0)} req/s, p99 ${fmt(percentile(all, 99), 2)} ms`);
  console.log(`errors: ${errors}${errors > 0 ? ` (${[...statuses].map(([s, n]) => `${n}×${s === 0 ? 'no answer' : s}`).join(', ')})` : ''}`);
  console.log(`RSS: ${fmt(rssStart)} MiB at start, ${fmt(rssEnd)} MiB at the end, ${fmt(rssPeak)} MiB at peak`);
  process.exitCode = errors > 0 ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
});
