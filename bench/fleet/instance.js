/**
 * One service instance of the fleet benchmark, in its own process, started
 * by bench/fleet.bench.js:
 *
 *   node bench/fleet/instance.js <store URL> <data folder> <cache staleness | none>
 *
 * The standalone service (dist/server/service.js) as `latchkey serve`
 * builds it, on 127.0.0.1 and a free port, log level warn, its data folder
 * shared with the other instances (the same signing keys and refresh
 * secret); with a staleness, the `/v1/sessions` engine keeps an in-process
 * cache (`sessionCache`). Over IPC it sends { port } once listening, and on
 * 'stop' closes and exits.
 */
const [store, dataDir, cache] = process.argv.slice(2);
const { createService } = await import('../../dist/server/service.js');
const { loadConfig } = await import('../../dist/server/config.js');
const config = loadConfig({
  flags: { host: '127.0.0.1', port: '0', store, dataDir, adminPassword: 'bench-admin-password', logLevel: 'warn' },
  env: {},
});
const service = await createService(config, cache === 'none' ? {} : { sessionCache: { staleness: cache } });
const url = await service.listen();
process.send({ port: Number(new URL(url).port) });
process.on('message', async (m) => {
  if (m !== 'stop') return;
  await service.close();
  process.exit(0);
});
