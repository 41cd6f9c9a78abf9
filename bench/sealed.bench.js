/**
 * Sealed-session benchmark: latchkey/sealed against iron-session
 * (sealData/unsealData) and @fastify/secure-session (encode/decode on a
 * fastify instance, as a user of the plugin calls them), in the same run,
 * with a bare AES-256-GCM encrypt/decrypt of the same payload through
 * node:crypto (no library) as the floor. Target: latchkey's unseal within 2x
 * of the floor.
 *
 * Then, unless BENCH_SEALED_HTTP=0, the HTTP read path: node:http servers,
 * each in its own process (this file started with `--server <variant>`),
 * reading a sealed session from the cookie and answering the user id. The
 * figure is the server's own CPU time per request (process.cpuUsage()
 * inside the server) minus the bare node:http server's in the same run.
 * Target: at most 10 µs per request.
 *
 * Usage: node bench/sealed.bench.js
 *   BENCH_ROUND_MS=1000, BENCH_ROUNDS=5 (micro); BENCH_SECONDS=3, BENCH_HTTP_ROUNDS=2,
 *   BENCH_CONNECTIONS=10 (HTTP); BENCH_SEALED_HTTP=0 to skip the HTTP part.
 */
import { fork } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes, randomFillSync } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { argv, cpuUsage } from 'node:process';
import { fileURLToPath } from 'node:url';

const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
const COOKIE = 'latchkey';
/** A typical signed-in session's data: user, roles, preferences, a small cart, a CSRF secret. */
const DATA = {
  roles: ['admin', 'editor'],
  theme: 'dark',
  locale: 'en-GB',
  cart: [
    { sku: 'A-1001', qty: 1 },
    { sku: 'B-2002', qty: 2 },
    { sku: 'C-3003', qty: 1 },
  ],
  csrf: 'q2Vh3mYc9rYb0qvC4sW7uA',
};
const USER = 'user-1234567890';

if (argv[2] === '--server') await serve(argv[3]);
else await main();

async function main() {
  const { compare } = await import('./lib/measure.js');
  const { writeResults } = await import('./lib/results.js');
  const { count, micros, table, times } = await import('./lib/table.js');
  const { createSealedSessions, createSealer } = await import('latchkey/sealed');
  const { memoryStore } = await import('latchkey/stores/memory');
  const { sealData, unsealData } = await import('iron-session');
  const { default: Fastify } = await import('fastify');
  const { default: secureSession } = await import('@fastify/secure-session');

  const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 1000);
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

  // latchkey
  const sealed = createSealedSessions({ secrets: [SECRET], cookieName: COOKIE, revocable: false });
  const session = await sealed.create({ userId: USER, data: DATA });
  const [cookie] = await sealed.seal(session);
  const read = (name) => (name === COOKIE ? cookie.value : undefined);
  const withStore = createSealedSessions({ secrets: [SECRET], cookieName: COOKIE, store: memoryStore() });
  const [storeCookie] = await withStore.seal(await withStore.create({ userId: USER, data: DATA }));
  const readStore = (name) => (name === COOKIE ? storeCookie.value : undefined);
  const withCache = createSealedSessions({ secrets: [SECRET], cookieName: COOKIE, store: memoryStore(), revocationCache: { ttl: '5s' } });
  const [cacheCookie] = await withCache.seal(await withCache.create({ userId: USER, data: DATA }));
  const readCache = (name) => (name === COOKIE ? cacheCookie.value : undefined);
  const sealer = createSealer({ secrets: [SECRET] });
  const payloadJson = JSON.stringify({ userId: USER, ...DATA });
  const codecBlob = await sealer.seal(payloadJson, COOKIE);

  // iron-session: the same data object
  const ironOptions = { password: SECRET };
  const ironObject = { userId: USER, ...DATA };
  const ironSeal = await sealData(ironObject, ironOptions);

  // @fastify/secure-session: a fastify instance, as its users call it
  const app = Fastify();
  await app.register(secureSession, { key: randomBytes(32), cookieName: COOKIE });
  await app.ready();
  const fastifyCookie = app.encodeSecureSession(app.createSecureSession({ userId: USER, ...DATA }));

  // The floor: AES-256-GCM of the very bytes latchkey seals for this session
  // (its model and data as JSON), node:crypto only, no format, no checks.
  const floorKey = randomBytes(32);
  const floorPlain = (await sealer.unseal(cookie.value, COOKIE)).plaintext;
  // IVs drawn in batches, as latchkey does: one randomBytes(12) call costs more than the encryption itself.
  const ivPool = Buffer.alloc(12 * 256);
  let ivAt = ivPool.length;
  function floorSeal() {
    if (ivAt >= ivPool.length) {
      randomFillSync(ivPool);
      ivAt = 0;
    }
    const iv = ivPool.subarray(ivAt, (ivAt += 12));
    const c = createCipheriv('aes-256-gcm', floorKey, iv);
    const body = c.update(floorPlain);
    c.final();
    return Buffer.concat([iv, body, c.getAuthTag()]).toString('base64url');
  }
  const floorBlob = floorSeal();
  function floorOpen(blob) {
    const bytes = Buffer.from(blob, 'base64url');
    const d = createDecipheriv('aes-256-gcm', floorKey, bytes.subarray(0, 12));
    d.setAuthTag(bytes.subarray(bytes.length - 16));
    const out = d.update(bytes.subarray(12, bytes.length - 16));
    d.final();
    return out;
  }

  // Sanity: every case really opens what it is given.
  const check = async () => {
    const a = await sealed.open(read);
    const b = await withStore.open(readStore);
    const c = await withCache.open(readCache);
    const d = await sealer.unseal(codecBlob, COOKIE);
    const e = await unsealData(ironSeal, ironOptions);
    const f = app.decodeSecureSession(fastifyCookie);
    const g = JSON.parse(floorOpen(floorBlob).toString());
    if (!a.ok || !b.ok || !c.ok || !d.ok || e.userId !== USER || f?.get('userId') !== USER || g[1] !== USER) {
      throw new Error('a benchmark case failed to open its own blob');
    }
  };
  await check();

  console.log(
    `application data: ${payloadJson.length} bytes of JSON (latchkey seals ${floorPlain.length} bytes: data and session model); cookie values: latchkey ${cookie.value.length}, iron-session ${ironSeal.length}, @fastify/secure-session ${fastifyCookie.length} characters\n`,
  );

  const options = { warmupMs: 300, roundMs: ROUND_MS, rounds: ROUNDS };
  const sealCases = [
    { name: 'node:crypto AES-256-GCM encrypt (floor)', op: () => floorSeal() },
    { name: 'latchkey sealer.seal (codec)', op: () => sealer.seal(payloadJson, COOKIE) },
    { name: 'latchkey sealed.seal(session)', op: () => sealed.seal(session) },
    { name: '@fastify/secure-session encode', op: () => app.encodeSecureSession(app.createSecureSession(ironObject)) },
    { name: 'iron-session sealData', op: () => sealData(ironObject, ironOptions) },
  ];
  const openCases = [
    { name: 'node:crypto AES-256-GCM decrypt (floor)', op: () => floorOpen(floorBlob) },
    { name: 'node:crypto decrypt + JSON.parse', op: () => JSON.parse(floorOpen(floorBlob).toString()) },
    { name: 'latchkey sealer.unseal (codec)', op: () => sealer.unseal(codecBlob, COOKIE) },
    { name: 'latchkey sealed.open (no store)', op: () => sealed.open(read) },
    { name: 'latchkey sealed.open (memory store)', op: () => withStore.open(readStore) },
    { name: 'latchkey sealed.open (store + cache)', op: () => withCache.open(readCache) },
    { name: '@fastify/secure-session decode', op: () => app.decodeSecureSession(fastifyCookie) },
    { name: 'iron-session unsealData', op: () => unsealData(ironSeal, ironOptions) },
  ];

  const report = (title, results, floorName) => {
    const floor = results.find((r) => r.name === floorName);
    console.log(title);
    // Two ratios: of mean times (ops/s), and of median latencies, which a busy
    // machine's preemptions (they land in a few ops' latencies) disturb less.
    console.log(
      table(
        ['case', 'ops/s', 'µs/op', 'p50 µs', 'p99 µs', 'x floor', 'x floor (p50)'],
        results.map((r) => [
          r.name,
          count(r.opsPerSec),
          micros(r.nsPerOp),
          micros(r.p50Ns),
          micros(r.p99Ns),
          times(r.nsPerOp / floor.nsPerOp),
          times(r.p50Ns / floor.p50Ns),
        ]),
      ),
    );
    console.log('');
    return Object.fromEntries(
      results.map((r) => [
        r.name,
        { opsPerSec: r.opsPerSec, nsPerOp: r.nsPerOp, p50Ns: r.p50Ns, p99Ns: r.p99Ns, xFloor: r.nsPerOp / floor.nsPerOp, xFloorP50: r.p50Ns / floor.p50Ns },
      ]),
    );
  };
  const sealFigures = report('seal', await compare(sealCases, options), 'node:crypto AES-256-GCM encrypt (floor)');
  const openFigures = report('unseal / open', await compare(openCases, options), 'node:crypto AES-256-GCM decrypt (floor)');
  await app.close();

  const x = (name) => openFigures[name].xFloor;
  const x50 = (name) => openFigures[name].xFloorP50;
  const headline = {
    unsealCodecVsFloor: x('latchkey sealer.unseal (codec)'),
    unsealCodecVsFloorP50: x50('latchkey sealer.unseal (codec)'),
    openVsFloor: x('latchkey sealed.open (no store)'),
    openVsFloorP50: x50('latchkey sealed.open (no store)'),
    openVsIronSession: openFigures['iron-session unsealData'].nsPerOp / openFigures['latchkey sealed.open (no store)'].nsPerOp,
    openVsFastifySecureSession: openFigures['@fastify/secure-session decode'].nsPerOp / openFigures['latchkey sealed.open (no store)'].nsPerOp,
    sealVsIronSession: sealFigures['iron-session sealData'].nsPerOp / sealFigures['latchkey sealed.seal(session)'].nsPerOp,
    sealVsFastifySecureSession: sealFigures['@fastify/secure-session encode'].nsPerOp / sealFigures['latchkey sealed.seal(session)'].nsPerOp,
  };
  console.log(
    `latchkey unseal (codec) vs bare AES-256-GCM decrypt: ${times(headline.unsealCodecVsFloor)}, p50 ${times(headline.unsealCodecVsFloorP50)} (target <= 2.00x)`,
  );
  console.log(
    `latchkey open (whole session: parse, checks, expiry) vs bare decrypt: ${times(headline.openVsFloor)}, p50 ${times(headline.openVsFloorP50)}`,
  );
  console.log(`latchkey open is ${times(headline.openVsIronSession)} as fast as iron-session unsealData, ${times(headline.openVsFastifySecureSession)} as fast as @fastify/secure-session decode`);
  console.log(`latchkey seal is ${times(headline.sealVsIronSession)} as fast as iron-session sealData, ${times(headline.sealVsFastifySecureSession)} as fast as @fastify/secure-session encode\n`);

  let http = null;
  if (process.env.BENCH_SEALED_HTTP !== '0') http = await httpBench({ table, count, times });
  const file = writeResults('sealed', {
    payloadBytes: payloadJson.length,
    latchkeyPlaintextBytes: floorPlain.length,
    cookieChars: { latchkey: cookie.value.length, ironSession: ironSeal.length, fastifySecureSession: fastifyCookie.length },
    headline,
    seal: sealFigures,
    open: openFigures,
    http,
  });
  console.log(`results written to ${file}`);
}

/** The HTTP read path: each server in its own process, driven by autocannon from this one. */
async function httpBench({ table, count, times }) {
  const { default: autocannon } = await import('autocannon');
  const { median } = await import('./lib/measure.js');
  const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
  const ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 2);
  const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
  const self = fileURLToPath(import.meta.url);
  const servers = [
    { name: 'node:http bare', variant: 'bare' },
    { name: 'node:http + latchkey sealed', variant: 'latchkey' },
    { name: 'node:http + latchkey sealed (store + cache)', variant: 'latchkey-cache' },
    { name: 'node:http + @fastify/secure-session decode', variant: 'fastify-secure-session' },
    { name: 'node:http + iron-session', variant: 'iron-session' },
  ];
  const runs = new Map();
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of servers) {
      const child = fork(self, ['--server', s.variant], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const [{ port, cookie }] = await once(child, 'message');
      const ask = async (m) => {
        child.send(m);
        return (await once(child, 'message'))[0];
      };
      const opts = { url: `http://127.0.0.1:${port}/read`, headers: { cookie }, connections: CONNECTIONS };
      try {
        await autocannon({ ...opts, duration: 1 });
        await ask('reset');
        const result = await autocannon({ ...opts, duration: SECONDS });
        if (result.non2xx > 0 || result.errors > 0) throw new Error(`${s.name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
        const r = await ask('report');
        if (r.users !== r.requests) throw new Error(`${s.name}: ${r.requests - r.users} requests did not see their session`);
        runs.set(s.name, [...(runs.get(s.name) ?? []), { cpuUsPerReq: r.cpuMicros / r.requests, reqPerSec: result.requests.average }]);
        process.stdout.write('.');
      } finally {
        child.send('stop');
        await once(child, 'exit');
      }
    }
  }
  process.stdout.write('\n\n');
  const fig = (name) => ({ cpuUsPerReq: median(runs.get(name).map((r) => r.cpuUsPerReq)), reqPerSec: median(runs.get(name).map((r) => r.reqPerSec)) });
  const bare = fig('node:http bare');
  const results = servers.map((s) => {
    const f = fig(s.name);
    return { server: s.name, ...f, overheadUsPerReq: s.variant === 'bare' ? null : f.cpuUsPerReq - bare.cpuUsPerReq };
  });
  console.log(`HTTP read path (${SECONDS} s x ${ROUNDS} rounds, ${CONNECTIONS} connections; medians)`);
  console.log(
    table(
      ['server', 'server CPU µs/req', 'session overhead µs/req', 'req/s'],
      results.map((r) => [r.server, r.cpuUsPerReq.toFixed(1), r.overheadUsPerReq === null ? '-' : r.overheadUsPerReq.toFixed(1), count(r.reqPerSec)]),
    ),
  );
  const latchkey = results.find((r) => r.server === 'node:http + latchkey sealed');
  const iron = results.find((r) => r.server === 'node:http + iron-session');
  console.log(`\nlatchkey sealed read-path overhead: ${latchkey.overheadUsPerReq.toFixed(1)} µs/request (target <= 10 µs)`);
  console.log(`read req/s, latchkey sealed vs iron-session: ${times(latchkey.reqPerSec / iron.reqPerSec)}\n`);
  return { seconds: SECONDS, rounds: ROUNDS, connections: CONNECTIONS, results };
}

/** One server of the HTTP part: reads the session from the Cookie header and answers the user id. */
async function serve(variant) {
  const { parse } = await import('cookie');
  /** @type {(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => string | null | Promise<string | null>} */
  let readUser;
  let cookie = '';
  if (variant === 'latchkey' || variant === 'latchkey-cache') {
    const { createSealedSessions } = await import('latchkey/sealed');
    const { memoryStore } = await import('latchkey/stores/memory');
    const sealed = createSealedSessions({
      secrets: [SECRET],
      cookieName: COOKIE,
      ...(variant === 'latchkey-cache' ? { store: memoryStore(), revocationCache: { ttl: '5s' } } : { revocable: false }),
    });
    const [c] = await sealed.seal(await sealed.create({ userId: USER, data: DATA }));
    cookie = `${COOKIE}=${c.value}`;
    readUser = async (req) => {
      const jar = parse(req.headers.cookie ?? '');
      const opened = await sealed.open((name) => jar[name]);
      return opened.ok ? opened.session.userId : null;
    };
  } else if (variant === 'iron-session') {
    const { getIronSession, sealData } = await import('iron-session');
    const options = { password: SECRET, cookieName: COOKIE, cookieOptions: { secure: false } };
    cookie = `${COOKIE}=${await sealData({ userId: USER, ...DATA }, { password: SECRET })}`;
    readUser = async (req, res) => (await getIronSession(req, res, options)).userId ?? null;
  } else if (variant === 'fastify-secure-session') {
    const { default: Fastify } = await import('fastify');
    const { default: secureSession } = await import('@fastify/secure-session');
    const app = Fastify();
    await app.register(secureSession, { key: randomBytes(32), cookieName: COOKIE });
    await app.ready();
    // Its value holds ';', '+', '/' and '=': @fastify/cookie URI-encodes it, as here.
    cookie = `${COOKIE}=${encodeURIComponent(app.encodeSecureSession(app.createSecureSession({ userId: USER, ...DATA })))}`;
    readUser = (req) => {
      const jar = parse(req.headers.cookie ?? '');
      return app.decodeSecureSession(jar[COOKIE])?.get('userId') ?? null;
    };
  } else {
    cookie = `${COOKIE}=x`;
    readUser = () => USER;
  }

  let requests = 0;
  let users = 0;
  let base = cpuUsage();
  const server = createServer((req, res) => {
    const done = (user) => {
      requests++;
      if (user === USER) users++;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`hello ${user ?? 'visitor'}`);
    };
    const user = readUser(req, res);
    if (user instanceof Promise) user.then(done);
    else done(user);
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port, cookie }));
  process.on('message', (m) => {
    if (m === 'reset') {
      requests = 0;
      users = 0;
      base = cpuUsage();
      process.send('ok');
    } else if (m === 'report') {
      const u = cpuUsage(base);
      process.send({ cpuMicros: u.user + u.system, requests, users });
    } else if (m === 'stop') {
      server.close();
      process.exit(0);
    }
  });
}
