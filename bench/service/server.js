/**
 * One server of the service benchmark, started in its own process by
 * bench/service.bench.js:
 *
 *   node bench/service/server.js service <memory|sqlite>
 *     the standalone service (dist/server/service.js) as `latchkey serve`
 *     builds it, on 127.0.0.1, a free port, a temp data folder, log level
 *     warn; it makes one API key and one session to validate.
 *   node bench/service/server.js bare <bodyLimit> <json>
 *     a bare Fastify app (no logger, the same body limit) with one
 *     `POST /v1/sessions/validate` route that lets Fastify parse the JSON body
 *     and answers the given JSON (what the service answered), serialized
 *     anew each time as any handler's return value is.
 *
 * It talks to its parent over IPC: once listening it sends
 * { port, apiKey?, token? }; on 'reset' it zeroes its request counter and
 * CPU baseline; on 'report' it answers { cpuMicros, requests, wallMs }, its
 * own process CPU time (user + system) since the reset; on 'stop' it closes
 * and exits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hrtime } from 'node:process';

const [variant, ...args] = process.argv.slice(2);

let server; // the node:http server, to count requests
let close; // () => Promise<void>
const hello = {};

if (variant === 'service') {
  const storeName = args[0] ?? 'memory';
  const { createService } = await import('../../dist/server/service.js');
  const { loadConfig } = await import('../../dist/server/config.js');
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-service-'));
  const store = storeName === 'sqlite' ? `sqlite:${join(dir, 'latchkey.db')}` : 'memory:';
  const config = loadConfig({
    flags: { host: '127.0.0.1', port: '0', store, dataDir: join(dir, 'data'), adminPassword: 'bench-admin-password', logLevel: 'warn' },
    env: {},
  });
  const service = await createService(config);
  const { key } = await service.ctx.apiKeys.create('bench');
  const { token } = await service.ctx.sessions.create({ userId: 'u1', data: { plan: 'pro' } });
  const url = await service.listen();
  server = service.app.server;
  Object.assign(hello, { port: Number(new URL(url).port), apiKey: key, token, bodyLimit: config.bodyLimit });
  close = async () => {
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  };
} else if (variant === 'bare') {
  const bodyLimit = Number(args[0]);
  const answer = JSON.parse(args[1]);
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false, bodyLimit });
  let tokens = 0;
  app.post('/v1/sessions/validate', async (request) => {
    if (typeof request.body?.token === 'string') tokens++; // read the parsed body, as the service does
    return answer;
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  server = app.server;
  Object.assign(hello, { port: app.server.address().port, bodyLimit });
  close = () => app.close().then(() => tokens);
} else {
  console.error('usage: node bench/service/server.js service <memory|sqlite> | bare <bodyLimit> <json>');
  process.exit(2);
}

let requests = 0;
let baseline = process.cpuUsage();
let since = hrtime.bigint();
server.on('request', () => requests++);
process.send(hello);

process.on('message', (msg) => {
  if (msg === 'reset') {
    requests = 0;
    baseline = process.cpuUsage();
    since = hrtime.bigint();
    process.send({ reset: true });
  } else if (msg === 'report') {
    const cpu = process.cpuUsage(baseline);
    process.send({ cpuMicros: cpu.user + cpu.system, requests, wallMs: Number(hrtime.bigint() - since) / 1e6 });
  } else if (msg === 'stop') {
    close().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  }
});
