/**
 * DPoP benchmark (RFC 9449): the cost of latchkey's token guard on a
 * DPoP-bound request (`Authorization: DPoP` and a `DPoP` proof: the access
 * token's signature and claims, its session's revocation check from the
 * cache, the proof's signature with its embedded key, `typ`, `htm`, `htu`,
 * `iat`, `ath`, the `cnf.jkt` binding, and the `jti` inserted into the
 * replay cache of the engine's store), against the floor a user would
 * otherwise write: jose's jwtVerify of the access token with a cached key,
 * plus jose's jwtVerify of the proof with the client's key imported once
 * (`typ`, algorithm, `iat` age), `htm`/`htu`, the `ath` hash and the
 * thumbprint (computed once per client) compared, in the same run, as
 * a ratio (target <= 1.20x). The floor keeps no replay cache: what the
 * guard's `jti` insert costs is inside the ratio. Also the bearer guard on the
 * same kind of token, to show what DPoP adds.
 *
 * Every guard op presents a proof never used before (a replay would be
 * refused): a pool of proofs is signed, untimed, before each round.
 *
 * Needs `npm run build` first (it imports the built package). Prints a report
 * and writes bench/results/dpop-latest.json.
 *
 * Usage: node bench/dpop.bench.js   (or: npm run bench -- dpop)
 */
import { createHash, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT } from 'jose';
import { createSessions } from 'latchkey';
import { memoryStore } from 'latchkey/stores/memory';
import { createTokenTransport } from 'latchkey/http';
import { createKeySet, createTokens } from 'latchkey/tokens';
import { compare } from './lib/measure.js';
import { writeResults } from './lib/results.js';
import { count, micros, table, times } from './lib/table.js';

const TIMING = { warmupMs: 500, roundMs: 1000, rounds: 7 };
const CLIENTS = 64;
/** Proofs signed before each round: more than one round uses. */
const POOL = 12_000;
const ISSUER = 'https://auth.bench.test';
const AUDIENCE = 'api';
const URL_ = 'https://api.bench.test/api/me';
const SESSION_OPTIONS = { idleTimeout: '14d', absoluteTimeout: '30d', sweepInterval: false };

const store = memoryStore();
const sessions = createSessions({ store, ...SESSION_OPTIONS });
let speed;
try {
  speed = await compare(await cases(), TIMING);
} finally {
  await sessions.close();
  await store.close();
}

const byName = Object.fromEntries(speed.map((r) => [r.name, r]));
const guard = byName['DPoP guard: latchkey (token + proof + binding + jti insert)'];
const floor = byName['DPoP floor: jose jwtVerify of token and proof (keys cached), ath and jkt compared'];
const bearer = byName['bearer guard: latchkey (same tokens unbound)'];
const ratios = {
  'DPoP guard p50, latchkey / jose floor': { value: guard.p50Ns / floor.p50Ns, target: '<= 1.20x' },
  'DPoP guard ops/s, jose floor / latchkey': { value: floor.opsPerSec / guard.opsPerSec, target: '<= 1.20x' },
  'DPoP guard p50 / bearer guard p50': { value: guard.p50Ns / bearer.p50Ns, target: 'information' },
};

console.log(`\nlatchkey DPoP guard (medians of ${TIMING.rounds} interleaved rounds of ~${TIMING.roundMs / 1000} s)\n`);
console.log(table(['case', 'ops/s', 'p50 µs', 'p99 µs'], speed.map((r) => [r.name, count(r.opsPerSec), micros(r.p50Ns), micros(r.p99Ns)])));
console.log('');
console.log(table(['ratio', 'value', 'target'], Object.entries(ratios).map(([k, r]) => [k, times(r.value), r.target])));

const file = writeResults('dpop', {
  method: { ...TIMING, clients: CLIENTS, pool: POOL, algorithm: 'ES256 (access token and proofs)', sessionOptions: SESSION_OPTIONS },
  speed: byName,
  ratios: Object.fromEntries(Object.entries(ratios).map(([k, r]) => [k, r.value])),
  targets: Object.fromEntries(Object.entries(ratios).map(([k, r]) => [k, r.target])),
});
console.log(`\nwrote ${file}`);

async function cases() {
  const keys = await createKeySet({ algorithm: 'ES256' });
  // maxAge covers the whole run: proofs are signed ahead of the rounds that use them.
  const tokens = createTokens({ sessions, keys, issuer: ISSUER, audience: AUDIENCE, refreshSecret: randomBytes(32), dpop: { maxAge: '10m' } });
  const plain = createTokens({ sessions, keys, issuer: ISSUER, audience: AUDIENCE, refreshSecret: randomBytes(32) });
  const dpopGuard = createTokenTransport({ tokens, publicOrigin: 'https://api.bench.test' }).guard();
  const bearerGuard = createTokenTransport({ tokens: plain }).guard();
  const check = (r) => {
    if (r.ok === false) throw new Error(`guard refused: ${r.error?.detail ?? r.error?.reason}`);
  };

  const clients = [];
  for (let i = 0; i < CLIENTS; i++) {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    const jkt = await calculateJwkThumbprint(jwk);
    const proof = { ok: true, jkt, alg: 'ES256', jwk, jti: randomBytes(16).toString('base64url'), iat: Math.floor(Date.now() / 1000), nonce: null };
    const pair = await tokens.issue({ userId: `user-${i}`, dpop: proof });
    const bearer = (await plain.issue({ userId: `plain-${i}` })).accessToken;
    const ath = createHash('sha256').update(pair.accessToken).digest('base64url');
    // What a careful hand-written floor would keep per client: the proof key imported once, its thumbprint computed once.
    clients.push({ jwk, jkt, privateKey, token: pair.accessToken, ath, bearer, imported: await importJWK(jwk, 'ES256') });
  }
  const sign = (c) =>
    new SignJWT({ jti: randomBytes(16).toString('base64url'), htm: 'GET', htu: URL_, iat: Math.floor(Date.now() / 1000), ath: c.ath })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: c.jwk })
      .sign(c.privateKey);
  const request = (authorization, dpop) => ({
    method: 'GET',
    url: '/api/me',
    remoteAddress: '127.0.0.1',
    header: (name) => (name === 'authorization' ? authorization : name === 'dpop' ? dpop : name === 'host' ? 'api.bench.test' : undefined),
  });

  // Fresh proofs for every guard op; the floor reuses one proof per client (it keeps no replay cache).
  let pool = [];
  let next = 0;
  const refill = async () => {
    pool = [];
    next = 0;
    for (let i = 0; i < POOL; i++) {
      const c = clients[i % CLIENTS];
      pool.push(request(`DPoP ${c.token}`, await sign(c)));
    }
  };
  const floorProofs = await Promise.all(clients.map((c) => sign(c)));
  const bearerRequests = clients.map((c) => request(`Bearer ${c.bearer}`, undefined));
  // The hit path: every family's liveness cached before the rounds.
  for (const r of bearerRequests) check(await bearerGuard(r));
  await refill();
  for (let i = 0; i < CLIENTS; i++) check(await dpopGuard(pool[next++]));

  const cryptoKey = keys.verificationKey(keys.list()[0].kid).key;
  const accessOptions = { algorithms: ['ES256'], issuer: ISSUER, audience: AUDIENCE, clockTolerance: 30, typ: 'at+jwt', requiredClaims: ['exp', 'iat', 'sub', 'sid'] };
  const proofOptions = { algorithms: ['ES256'], typ: 'dpop+jwt', maxTokenAge: 600, clockTolerance: 10, requiredClaims: ['jti', 'htm', 'htu', 'iat'] };

  return [
    {
      name: 'DPoP guard: latchkey (token + proof + binding + jti insert)',
      beforeRound: refill,
      op: async () => {
        const r = pool[next++];
        if (r === undefined) throw new Error(`the proof pool (${POOL}) ran out: raise POOL`);
        check(await dpopGuard(r));
      },
    },
    {
      name: 'DPoP floor: jose jwtVerify of token and proof (keys cached), ath and jkt compared',
      op: async (i) => {
        const c = clients[i % CLIENTS];
        const { payload } = await jwtVerify(c.token, cryptoKey, accessOptions);
        const proof = await jwtVerify(floorProofs[i % CLIENTS], c.imported, proofOptions);
        if (proof.payload.htm !== 'GET' || proof.payload.htu !== URL_) throw new Error('htm/htu');
        if (proof.payload.ath !== createHash('sha256').update(c.token).digest('base64url')) throw new Error('ath');
        if (payload.cnf.jkt !== c.jkt) throw new Error('jkt');
      },
    },
    { name: 'bearer guard: latchkey (same tokens unbound)', op: async (i) => check(await bearerGuard(bearerRequests[i % CLIENTS])) },
  ];
}
