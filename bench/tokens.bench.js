/**
 * Token-mode benchmark: access-token verification by latchkey, in its default
 * configuration (signature and claims, then the revocation check of the
 * token's session, answered from the in-process cache: the hit path of a live
 * family), through `tokens.verify()` and through the HTTP guard, against
 * calling jose's jwtVerify directly on the same tokens with a cached key (the
 * floor a user would otherwise write), in the same run and with the same
 * checks (algorithm, issuer, audience, typ, required claims), as ratios;
 * access-token signing; and refresh round trips (rotate the refresh token
 * through the engine's atomic replace, then sign a new access token) on
 * SQLite, and on Redis when `redis-server` is installed.
 *
 * Speed: ./lib/measure.js (warm-up, then interleaved rounds, medians).
 * Verification goes round-robin over the access tokens of 256 live families
 * (cached before the rounds; with the default staleness of 10 s each is read
 * again from the store every 10 s, as in production); refresh round-robin
 * over 1,000 families, each op presenting the family's current refresh token.
 *
 * Needs `npm run build` first (it imports the built package). Prints a report
 * and writes bench/results/tokens-latest.json.
 *
 * Usage: node bench/tokens.bench.js   (or: npm run bench -- tokens)
 */
import { randomBytes, KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { createSessions } from 'latchkey';
import { memoryStore } from 'latchkey/stores/memory';
import { sqliteStore } from 'latchkey/stores/sqlite';
import { createTokenTransport } from 'latchkey/http';
import { createKeySet, createTokens } from 'latchkey/tokens';
import { compare } from './lib/measure.js';
import { redisInstalled, startRedisServer } from './lib/redis-server.js';
import { writeResults } from './lib/results.js';
import { count, micros, table, times } from './lib/table.js';

const TIMING = { warmupMs: 500, roundMs: 1000, rounds: 7 };
const TOKENS = 256;
const FAMILIES = 1000;
const ISSUER = 'https://auth.bench.test';
const AUDIENCE = 'api';
const SESSION_OPTIONS = { idleTimeout: '14d', absoluteTimeout: '30d', sweepInterval: false };

const scratch = mkdtempSync(join(tmpdir(), 'latchkey-bench-tokens-'));
const closers = [];
let speed;
let redisVersion = null;
try {
  // Verification and signing first, before any store or redis-server exists, so that no background
  // work of theirs (WAL checkpoints, sockets) lands in these rounds.
  const cases = [];
  for (const algorithm of ['EdDSA', 'ES256']) cases.push(...(await verifyCases(algorithm)));
  speed = await compare(cases, TIMING);
  const refresh = [await refreshCase('refresh round trip, SQLite', sqliteStore({ path: join(scratch, 'tokens.db') }))];
  const redis = await startRedisIfInstalled();
  if (redis !== null) {
    closers.push(redis.stop);
    redisVersion = redis.version;
    const { redisStore } = await import('latchkey/stores/redis');
    refresh.push(await refreshCase('refresh round trip, Redis', redisStore({ url: redis.url, prefix: 'lk-tokens:' })));
  }
  speed.push(...(await compare(refresh, TIMING)));
} finally {
  for (const close of closers.reverse()) await close();
  rmSync(scratch, { recursive: true, force: true });
}

const byName = Object.fromEntries(speed.map((r) => [r.name, r]));
// Cost ratios, latchkey's median latency over jose's bare jwtVerify of the same tokens (1.00x is parity; the
// target is <= 1.20x), and throughput ratios in the same direction (jose's ops/s over latchkey's). Throughput
// includes every slow op, so on a busy machine it swings from round to round; the median shows the per-call cost.
const ratios = {};
for (const algorithm of ['EdDSA', 'ES256']) {
  for (const [label, name] of [
    ['verify', `verify ${algorithm}: latchkey tokens.verify (revocation check, cached)`],
    ['guard', `verify ${algorithm}: latchkey guard (revocation check, cached)`],
  ]) {
    const ours = byName[name];
    for (const keyType of ['KeyObject', 'CryptoKey']) {
      const jose = byName[`verify ${algorithm}: jose jwtVerify, cached ${keyType}`];
      ratios[`${algorithm} ${label} p50, latchkey / jose (${keyType})`] = { value: ours.p50Ns / jose.p50Ns, target: '<= 1.20x' };
      ratios[`${algorithm} ${label} ops/s, jose / latchkey (${keyType})`] = { value: jose.opsPerSec / ours.opsPerSec, target: '<= 1.20x' };
    }
  }
}

console.log(`\nlatchkey token mode (medians of ${TIMING.rounds} interleaved rounds of ~${TIMING.roundMs / 1000} s)\n`);
console.log(table(['case', 'ops/s', 'p50 µs', 'p99 µs'], speed.map((r) => [r.name, count(r.opsPerSec), micros(r.p50Ns), micros(r.p99Ns)])));
console.log('');
console.log(table(['ratio', 'value', 'target'], Object.entries(ratios).map(([k, r]) => [k, times(r.value), r.target])));
if (redisVersion === null) console.log('\nRedis: redis-server not installed, Redis case skipped.');

const file = writeResults('tokens', {
  method: { ...TIMING, tokens: TOKENS, families: FAMILIES, sessionOptions: SESSION_OPTIONS, redis: redisVersion },
  speed: byName,
  ratios: Object.fromEntries(Object.entries(ratios).map(([k, r]) => [k, r.value])),
  targets: Object.fromEntries(Object.entries(ratios).map(([k, r]) => [k, r.target])),
});
console.log(`\nwrote ${file}`);

/** latchkey's verify and guard (default revocation check, every family live and cached), and jose's jwtVerify with the same checks and a key cached once. */
async function verifyCases(algorithm) {
  const store = memoryStore();
  const sessions = createSessions({ store, ...SESSION_OPTIONS });
  // Closers run last-in first: the engine, then its store (an engine never closes the store it is given).
  closers.push(() => store.close(), () => sessions.close());
  const keys = await createKeySet({ algorithm });
  const tokens = createTokens({ sessions, keys, issuer: ISSUER, audience: AUDIENCE, refreshSecret: randomBytes(32) });
  const check = (r) => {
    if (r.ok === false) throw new Error(`verify failed: ${r.reason ?? r.error?.reason}`);
  };
  const jwts = [];
  for (let i = 0; i < TOKENS; i++) jwts.push((await tokens.issue({ userId: `user-${i}`, data: { scope: 'read write' } })).accessToken);
  // The hit path: every family's liveness is cached before the rounds.
  for (const jwt of jwts) check(await tokens.verify(jwt));
  const guard = createTokenTransport({ tokens }).guard();
  const requests = jwts.map((jwt) => {
    const authorization = `Bearer ${jwt}`;
    return { method: 'GET', url: '/api/me', remoteAddress: '127.0.0.1', header: (name) => (name === 'authorization' ? authorization : undefined) };
  });
  for (const request of requests) check(await guard(request));
  const cryptoKey = keys.verificationKey(keys.list()[0].kid).key;
  const keyObject = KeyObject.from(cryptoKey);
  const options = { algorithms: [algorithm], issuer: ISSUER, audience: AUDIENCE, clockTolerance: 30, typ: 'at+jwt', requiredClaims: ['exp', 'iat', 'sub', 'sid'] };
  return [
    { name: `verify ${algorithm}: latchkey tokens.verify (revocation check, cached)`, op: async (i) => check(await tokens.verify(jwts[i % TOKENS])) },
    { name: `verify ${algorithm}: latchkey guard (revocation check, cached)`, op: async (i) => check(await guard(requests[i % TOKENS])) },
    { name: `verify ${algorithm}: jose jwtVerify, cached KeyObject`, op: (i) => jwtVerify(jwts[i % TOKENS], keyObject, options) },
    { name: `verify ${algorithm}: jose jwtVerify, cached CryptoKey`, op: (i) => jwtVerify(jwts[i % TOKENS], cryptoKey, options) },
    { name: `sign ${algorithm}: latchkey`, op: (i) => tokens.access.sign({ subject: `user-${i % TOKENS}`, sessionId: 'AAAAAAAAAAAAAAAAAAAAAA', scope: 'read write' }) },
  ];
}

/** Each op presents a family's current refresh token and keeps the one it gets back. */
async function refreshCase(name, store) {
  const sessions = createSessions({ store, ...SESSION_OPTIONS });
  closers.push(() => store.close(), () => sessions.close());
  const keys = await createKeySet();
  const tokens = createTokens({ sessions, keys, issuer: ISSUER, audience: AUDIENCE, refreshSecret: randomBytes(32) });
  const current = [];
  for (let i = 0; i < FAMILIES; i++) current.push((await tokens.issue({ userId: `user-${i}` })).refreshToken);
  return {
    name,
    op: async (i) => {
      const r = await tokens.refresh(current[i % FAMILIES]);
      if (!r.ok) throw new Error(`refresh failed: ${r.reason}`);
      current[i % FAMILIES] = r.refreshToken;
    },
  };
}

/** A redis-server of our own, or `null` when it is not installed. */
function startRedisIfInstalled() {
  return redisInstalled() ? startRedisServer() : Promise.resolve(null);
}
