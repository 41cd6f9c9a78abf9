/* global Bun, Deno */
// test/runtimes/entry-points-app.js served on Node (through @hono/node-server),
// Bun (Bun.serve) or Deno (Deno.serve), whichever runs this file, on
// 127.0.0.1:$PORT. LATCHKEY_SERVICE_URL and LATCHKEY_API_KEY name the session
// service that latchkey/client calls.
import { createEntryPointsApp } from './entry-points-app.js';

const env = (name) => (globalThis.Deno !== undefined ? Deno.env.get(name) : process.env[name]);
const port = Number(env('PORT') ?? 3000);
const app = createEntryPointsApp({ serviceUrl: env('LATCHKEY_SERVICE_URL'), apiKey: env('LATCHKEY_API_KEY'), remoteAddress: () => '127.0.0.1' });

if (globalThis.Deno !== undefined) {
  Deno.serve({ hostname: '127.0.0.1', port, onListen: () => console.log(`listening on ${port} (Deno ${Deno.version.deno})`) }, app);
} else if (globalThis.Bun !== undefined) {
  Bun.serve({ hostname: '127.0.0.1', port, fetch: app });
  console.log(`listening on ${port} (Bun ${Bun.version})`);
} else {
  const { createAdaptorServer } = await import('@hono/node-server');
  createAdaptorServer({ fetch: app }).listen(port, '127.0.0.1', () => console.log(`listening on ${port} (Node ${process.version})`));
}
