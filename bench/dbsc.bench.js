/**
 * DBSC benchmark: what the bound-cookie check adds to a session read, in
 * server CPU per request (issue 14: at most 3 µs).
 *
 * One HTTP layer (`createHttpSessions` of the built `latchkey/http`, the
 * memory store) with the `dbsc` option on, and one without it, serve the
 * read path every adapter runs (begin, load, finish) for three sessions: a
 * plain session on the layer without DBSC, a session that never registered
 * on the layer with DBSC (what turning DBSC on costs sessions of browsers
 * without it), and a device-bound session presenting its bound cookie (the
 * check, no store read), twice: the value the browser sends on every request
 * until its next refresh (verified once, then remembered), and a value seen
 * for the first time on every request (one HMAC each: the worst case, a
 * fresh value minted ahead of the round for each request). The bound
 * session is registered first with a real ES256 proof signed by `jose`, as
 * a browser would.
 *
 * CPU is process.cpuUsage() over each round divided by the requests of the
 * round (the figure the HTTP benchmark reports per request), rounds
 * interleaved across the cases, medians reported. In-process, so that the
 * load generator takes no CPU from the server: the difference between two
 * cases is the cost of what differs.
 *
 * Usage: node bench/dbsc.bench.js   (BENCH_ROUNDS=7, BENCH_OPS=20000 per round)
 */
import { randomBytes } from 'node:crypto';
import { createSessions } from 'latchkey';
import { createDbsc, createHttpSessions, finishRequest, memoryChallengeStore } from 'latchkey/http';
import { memoryStore } from 'latchkey/stores/memory';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { median } from './lib/measure.js';
import { writeResults } from './lib/results.js';
import { count, table } from './lib/table.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const OPS = Number(process.env.BENCH_OPS ?? 20_000);
const TARGET_US = 3;

const store = memoryStore();
// A long touch interval: no case writes to the store while measured.
const sessions = createSessions({ store, sweepInterval: false, idleTimeout: '1h', touchInterval: '30m' });
const plainLayer = createHttpSessions({ sessions, onError: () => {} });
const secret = randomBytes(32);
const dbscLayer = createHttpSessions({ sessions, onError: () => {}, dbsc: { secret } });
// The same secret and cookie options: it mints the values a browser would get at its refreshes.
const minter = createDbsc({ secret, challenges: memoryChallengeStore() });

const request = (method, url, headers) => ({ method, url, remoteAddress: '127.0.0.1', header: (name) => headers[name] });
const pass = { error: (_, err) => err, headers: (_, answer) => answer };

/** One read, as an adapter runs it: begin, load, finish. */
async function read(http, cookie) {
  const begun = http.begin(request('GET', '/me', { cookie }));
  if (!begun.ok) throw new Error('refused');
  const session = await begun.session.load();
  if (session.userId !== 'alice') throw new Error(`not signed in: ${session.invalidReason}`);
  return finishRequest(session, undefined, null, pass, () => {});
}

const cookieOf = (lines, name) => {
  const line = lines.find(([n, v]) => n === 'set-cookie' && v.startsWith(`${name}=`));
  return line === undefined ? null : `${name}=${line[1].slice(name.length + 1, line[1].indexOf(';'))}`;
};

/** Signs in on `http` and returns the session cookie and the registration offer's challenge. */
async function signIn(http) {
  const begun = await http.begin(request('POST', '/login', { 'sec-fetch-site': 'same-origin' }));
  const session = await begun.session.load();
  await session.login('alice');
  await session.commit();
  const headers = session.responseHeaders();
  const offer = headers.find(([n]) => n === 'secure-session-registration')?.[1];
  return { cookie: cookieOf(headers, '__Host-session'), challenge: offer === undefined ? null : /challenge="([^"]+)"/.exec(offer)[1] };
}

async function boundSession() {
  const { cookie, challenge } = await signIn(dbscLayer);
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  const proof = await new SignJWT({ jti: challenge }).setProtectedHeader({ alg: 'ES256', typ: 'dbsc+jwt', jwk }).sign(privateKey);
  const begun = await dbscLayer.begin(request('POST', '/auth/dbsc/register', { cookie, 'sec-fetch-site': 'same-origin', 'secure-session-response': proof }));
  if (begun.ok || begun.error !== null || begun.answer.status !== 200) throw new Error('registration refused');
  const handle = cookie.slice('__Host-session='.length).split('.')[0];
  const binding = (await store.get(handle)).data.__latchkey_dbsc;
  return { cookie, bound: `${cookie}; ${cookieOf(begun.answer.headers, '__Host-bound')}`, binding };
}

const b = await boundSession();
const fresh = [];
const cases = [
  { name: 'plain session read, dbsc off', http: plainLayer, cookie: () => plainCookie },
  { name: 'unregistered session read, dbsc on', http: dbscLayer, cookie: () => unregisteredCookie },
  { name: 'bound session read, its bound cookie', http: dbscLayer, cookie: () => b.bound },
  {
    name: 'bound session read, a bound cookie never seen',
    http: dbscLayer,
    cookie: (i) => fresh[i],
    // Minted before the round, outside the measured CPU.
    before: (ops) => {
      fresh.length = 0;
      for (let i = 0; i < ops; i++) fresh.push(`${b.cookie}; ${cookieOf([minter.boundCookie(b.binding)], '__Host-bound')}`);
    },
  },
];
const plainCookie = (await signIn(plainLayer)).cookie;
const unregisteredCookie = (await signIn(dbscLayer)).cookie;

async function round(c, ops) {
  c.before?.(ops);
  globalThis.gc?.();
  const before = process.cpuUsage();
  for (let i = 0; i < ops; i++) await read(c.http, c.cookie(i));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / ops;
}

for (const c of cases) {
  await round(c, OPS);
  c.rounds = [];
}
for (let r = 0; r < ROUNDS; r++) {
  for (const c of cases) c.rounds.push(await round(c, OPS));
}
for (const c of cases) c.cpuUs = median(c.rounds);

const [plain, unregistered, bound, unseen] = cases;
const checkUs = bound.cpuUs - unregistered.cpuUs;
const firstSightUs = unseen.cpuUs - unregistered.cpuUs;
const dbscOnUs = unregistered.cpuUs - plain.cpuUs;
console.log(
  table(
    ['case', 'CPU µs/request', 'requests/round'],
    cases.map((c) => [c.name, c.cpuUs.toFixed(2), count(OPS)]),
  ),
);
console.log(`\nbound-cookie check over a plain session read: ${checkUs.toFixed(2)} µs server CPU per request (target ≤ ${TARGET_US} µs): ${checkUs <= TARGET_US ? 'met' : 'MISSED'}`);
console.log(`  the first request with each new bound cookie value (one HMAC): ${firstSightUs.toFixed(2)} µs; a browser sends one value for minutes`);
console.log(`dbsc on, session never registered, over dbsc off: ${dbscOnUs.toFixed(2)} µs per request`);
const file = writeResults('dbsc', {
  rounds: ROUNDS,
  opsPerRound: OPS,
  cases: cases.map((c) => ({ name: c.name, cpuUsPerRequest: c.cpuUs, rounds: c.rounds })),
  boundCookieCheckUs: checkUs,
  firstSightCheckUs: firstSightUs,
  dbscOnUnregisteredUs: dbscOnUs,
  targetUs: TARGET_US,
  met: checkUs <= TARGET_US,
});
console.log(`\nwritten to ${file}`);
await sessions.close();
await store.close();
