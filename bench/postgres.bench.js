/**
 * PostgreSQL store benchmark: latchkey's engine on `latchkey/stores/postgres`
 * against the peer a user would otherwise pick, express-session with
 * connect-pg-simple, on the same private PostgreSQL server in the same run.
 *
 * Cases (./lib/measure.js: warm-up, then interleaved rounds, medians):
 *  - latchkey create, validate and patch, one at a time: the latency of one
 *    request's store work (validate and patch round-robin over 10,000 sessions,
 *    touchInterval 10m so that validate never writes: the common read path);
 *  - express-session's per-request load with connect-pg-simple: unsign the
 *    cookie, then `store.get()`, awaited;
 *  - latchkey validate with the in-process cache on (`cache: { staleness: '5s' }`,
 *    invalidated over LISTEN/NOTIFY): a store read per session every 5 s at most;
 *  - both read paths again with 16 requests in flight (a busy server), where
 *    ops/s counts requests.
 * And the scale check: validate of the same sessions in a copy of the table
 * filled to 1,000,000 rows, in the same interleaved rounds (skip it with
 * LATCHKEY_BENCH_SCALE=0).
 *
 * The server is started from the local binaries (Debian package `postgresql`)
 * on 127.0.0.1 with fsync=off: this measures latchkey and the driver, not the
 * disk. Runs after `npm run build` (`npm run bench postgres`, or
 * `node bench/postgres.bench.js`). Prints tables and writes
 * bench/results/postgres-latest.json.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import connectPgSimple from 'connect-pg-simple';
import { sign, unsign } from 'cookie-signature';
import expressSession from 'express-session';
import pg from 'pg';
import { createSessions } from 'latchkey';
import { postgresStore } from 'latchkey/stores/postgres';
import { compare } from './lib/measure.js';
import { startPostgresServer } from './lib/postgres-server.js';
import { writeResults } from './lib/results.js';
import { count, micros, table, times } from './lib/table.js';

const TIMING = { warmupMs: 300, roundMs: 700, rounds: 5 };
const POOL = 10_000;
const IN_FLIGHT = 16;
const SCALE_ROWS = 1_000_000;
const SCALE = process.env.LATCHKEY_BENCH_SCALE !== '0';
const ENGINE_OPTIONS = { touchInterval: '10m', sweepInterval: false };
const TARGETS = { readVsPeer: 1, scaleP99: 1.5 };
const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const client = (i) => ({ ip: `203.0.113.${(i % 254) + 1}`, userAgent: UA });

const server = await startPostgresServer();
let results;
try {
  results = await measure(server.url);
} finally {
  server.stop();
}
report(results);

async function measure(url) {
  // latchkey: one store (and pool of 10 connections) for the pre-made sessions, one for creates.
  const store = postgresStore({ connectionString: url, tablePrefix: 'bench_' });
  const sessions = createSessions({ store, ...ENGINE_OPTIONS });
  // The same sessions through an engine with the in-process cache (its own store: pool + LISTEN connection).
  const cachedStore = postgresStore({ connectionString: url, tablePrefix: 'bench_' });
  const cached = createSessions({ store: cachedStore, ...ENGINE_OPTIONS, cache: { staleness: '5s' } });
  const creatorStore = postgresStore({ connectionString: url, tablePrefix: 'bench_create_' });
  const creator = createSessions({ store: creatorStore, ...ENGINE_OPTIONS });
  const tokens = [];
  const handles = [];
  for (let i = 0; i < POOL; i += 100) {
    const made = await Promise.all(Array.from({ length: 100 }, (_, k) => sessions.create({ userId: `user-${i + k}`, client: client(i + k) })));
    for (const m of made) {
      tokens.push(m.token);
      handles.push(m.session.handle);
    }
  }
  const reads = tokens.map((_, i) => ({ client: client(i) }));
  assert.ok((await sessions.validate(tokens[0], reads[0])).ok);
  assert.ok((await sessions.patch(handles[0], { set: { cart: 0 } })).ok);

  // The peer: express-session's load with connect-pg-simple, on its own pool of 10 connections.
  const peerPool = new pg.Pool({ connectionString: url, max: 10 });
  peerPool.on('error', () => {});
  const PgSession = connectPgSimple(expressSession);
  const peer = new PgSession({ pool: peerPool, tableName: 'session', createTableIfMissing: true, pruneSessionInterval: false });
  const set = promisify(peer.set.bind(peer));
  const get = promisify(peer.get.bind(peer));
  const secret = randomBytes(32).toString('base64url');
  const cookies = [];
  const now = Date.now();
  for (let i = 0; i < POOL; i += 100) {
    const batch = Array.from({ length: 100 }, () => randomBytes(24).toString('base64url'));
    await Promise.all(
      batch.map((sid, k) =>
        set(sid, {
          cookie: { originalMaxAge: 1_800_000, expires: new Date(now + 1_800_000), httpOnly: true, path: '/' },
          userId: `user-${i + k}`,
        }),
      ),
    );
    for (const sid of batch) cookies.push(`s:${sign(sid, secret)}`);
  }
  const load = (cookie) => get(unsign(cookie.slice(2), secret));
  assert.equal((await load(cookies[0])).userId, 'user-0');

  // The scale check: the same 10,000 sessions in a second table that also holds 990,000 others,
  // validated in the same interleaved rounds as the small table.
  const big = SCALE ? await bigTable(url, store.tables.sessions, peerPool) : null;
  const bigName = `latchkey validate, ${count(SCALE_ROWS)} rows`;

  // One untimed pass over every session on both tables, so that neither pays for a cold cache in the rounds.
  for (const engine of big !== null ? [sessions, cached, big.sessions] : [sessions, cached]) {
    for (let i = 0; i < POOL; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, k) => engine.validate(tokens[i + k], reads[i + k])));
    }
  }

  const validate = (i) => sessions.validate(tokens[i % POOL], reads[i % POOL]);
  const batch = (op) => (i) => Promise.all(Array.from({ length: IN_FLIGHT }, (_, k) => op(i * IN_FLIGHT + k)));
  const cases = [
    { name: 'latchkey validate', op: validate },
    {
      name: 'latchkey validate, cached',
      op: (i) => cached.validate(tokens[i % POOL], reads[i % POOL]),
      // Untimed: every session read within the last 5 s, as in an app that serves them; a miss costs what an uncached validate does.
      beforeRound: () => inBatches(reads, (read, i) => cached.validate(tokens[i], read)),
    },
    { name: 'latchkey create', op: (i) => creator.create({ userId: `user-${i % POOL}`, client: client(i) }) },
    { name: 'latchkey patch', op: (i) => sessions.patch(handles[i % POOL], { set: { cart: i } }) },
    { name: 'connect-pg-simple load', op: (i) => load(cookies[i % POOL]) },
    ...(big !== null ? [{ name: bigName, op: (i) => big.sessions.validate(tokens[i % POOL], reads[i % POOL]) }] : []),
    { name: `latchkey validate x${IN_FLIGHT}`, op: batch(validate) },
    { name: `connect-pg-simple load x${IN_FLIGHT}`, op: batch((i) => load(cookies[i % POOL])) },
  ];
  const speed = Object.fromEntries((await compare(cases, TIMING)).map((r) => [r.name, r]));
  for (const name of [`latchkey validate x${IN_FLIGHT}`, `connect-pg-simple load x${IN_FLIGHT}`]) {
    // One op of these cases is IN_FLIGHT requests: report requests per second.
    speed[name] = { ...speed[name], opsPerSec: speed[name].opsPerSec * IN_FLIGHT, requestsPerOp: IN_FLIGHT };
  }

  let scale = null;
  if (big !== null) {
    const [small, large] = [speed['latchkey validate'], speed[bigName]];
    scale = { rows: SCALE_ROWS, fillSeconds: big.fillSeconds, small, big: large, p99Ratio: large.p99Ns / small.p99Ns };
    delete speed[bigName];
  }

  // Engines first, then the stores: an engine never closes the store it is given.
  await sessions.close();
  await cached.close();
  await creator.close();
  await big?.sessions.close();
  for (const s of [store, cachedStore, creatorStore, big?.store]) await s?.close();
  await peerPool.end();
  return { speed, scale };
}

/** Runs `fn` over `items`, 100 at a time. */
async function inBatches(items, fn) {
  for (let i = 0; i < items.length; i += 100) await Promise.all(items.slice(i, i + 100).map((x, k) => fn(x, i + k)));
}

/** A copy of the table of pre-made sessions, filled up to SCALE_ROWS rows, and an engine on it. */
async function bigTable(url, smallTable, pool) {
  const store = postgresStore({ connectionString: url, tablePrefix: 'bench_big_' });
  await store.ready();
  const started = Date.now();
  await pool.query(`INSERT INTO ${store.tables.sessions} SELECT * FROM ${smallTable}`);
  await pool.query(
    `INSERT INTO ${store.tables.sessions} (handle, secret_hash, user_id, status, created_at, issued_at, last_seen_at, auth_level,
       idle_expires_at, absolute_expires_at, expires_at, version, data)
     SELECT md5(i::text), md5(i::text), 'filler-' || (i % 100000), 'active', $1::bigint, $1::bigint, $1::bigint, 0,
       $1::bigint + 1800000, $1::bigint + 43200000, $1::bigint + 1800000, 1, '{}'
     FROM generate_series(1, $2::int) i`,
    [Date.now(), SCALE_ROWS - POOL],
  );
  await pool.query(`VACUUM ANALYZE ${store.tables.sessions}`);
  await pool.query('CHECKPOINT');
  return { sessions: createSessions({ store, ...ENGINE_OPTIONS }), store, fillSeconds: (Date.now() - started) / 1000 };
}

function report({ speed, scale }) {
  const rows = Object.values(speed).map((r) => [r.name, count(r.opsPerSec), micros(r.p50Ns), micros(r.p99Ns)]);
  if (scale !== null) rows.push([scale.big.name, count(scale.big.opsPerSec), micros(scale.big.p50Ns), micros(scale.big.p99Ns)]);
  console.log(
    `PostgreSQL on 127.0.0.1 (fsync=off), pools of 10 connections. Medians of ${TIMING.rounds} interleaved rounds of ` +
      `~${TIMING.roundMs / 1000} s; reads round-robin over ${count(POOL)} sessions. Latencies are per op ` +
      `(for x${IN_FLIGHT} cases, per batch of ${IN_FLIGHT}); ops/s counts requests.\n`,
  );
  console.log(table(['case', 'ops/s', 'median µs', 'p99 µs'], rows));
  if (scale !== null) console.log(`\n(${count(scale.rows)}-row table: the ${count(POOL)} sessions plus ${count(scale.rows - POOL)} filler rows, made in ${scale.fillSeconds.toFixed(1)} s, then VACUUM ANALYZE and CHECKPOINT; measured in the same rounds.)`);

  const ratios = {
    readVsPeer: speed['connect-pg-simple load'].nsPerOp / speed['latchkey validate'].nsPerOp,
    readVsPeerMedian: speed['connect-pg-simple load'].p50Ns / speed['latchkey validate'].p50Ns,
    cachedVsPeer: speed['connect-pg-simple load'].nsPerOp / speed['latchkey validate, cached'].nsPerOp,
    readVsPeerInFlight: speed[`latchkey validate x${IN_FLIGHT}`].opsPerSec / speed[`connect-pg-simple load x${IN_FLIGHT}`].opsPerSec,
    scaleP99: scale?.p99Ratio ?? null,
  };
  const verdicts = {
    readVsPeer: ratios.readVsPeer >= TARGETS.readVsPeer,
    scaleP99: ratios.scaleP99 === null ? null : ratios.scaleP99 <= TARGETS.scaleP99,
  };
  const verdict = (ok) => (ok === null ? 'not run' : ok ? 'met' : 'MISSED');
  console.log('\nRatios:\n');
  console.log(
    table(
      ['measure', 'value', 'target', 'verdict'],
      [
        ['connect-pg-simple load time / latchkey validate time', times(ratios.readVsPeer), `>= ${times(TARGETS.readVsPeer)}`, verdict(verdicts.readVsPeer)],
        ['connect-pg-simple load median / latchkey validate median', times(ratios.readVsPeerMedian), '', ''],
        ['connect-pg-simple load time / latchkey cached validate time', times(ratios.cachedVsPeer), '', ''],
        [`latchkey validate / connect-pg-simple load, x${IN_FLIGHT} in flight (req/s)`, times(ratios.readVsPeerInFlight), '', ''],
        [
          `validate p99, ${count(SCALE_ROWS)} rows / ${count(POOL)} rows`,
          ratios.scaleP99 === null ? '-' : times(ratios.scaleP99),
          `<= ${times(TARGETS.scaleP99)}`,
          verdict(verdicts.scaleP99),
        ],
      ],
    ),
  );
  const file = writeResults('postgres', {
    method: { ...TIMING, pool: POOL, inFlight: IN_FLIGHT, server: 'PostgreSQL on 127.0.0.1, fsync=off', validateWrites: false },
    speed,
    scale,
    ratios,
    targets: TARGETS,
    verdicts,
  });
  console.log(`\nFigures written to ${file}`);
}
