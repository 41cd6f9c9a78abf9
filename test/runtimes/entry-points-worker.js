// test/runtimes/entry-points-app.js as a Workers module, built in the global
// scope. Bindings LATCHKEY_SERVICE_URL and LATCHKEY_API_KEY name the session
// service that latchkey/client calls (reached through a loopback network
// service: see test/runtimes/harness.ts).
import { env } from 'cloudflare:workers';
import { createEntryPointsApp } from './entry-points-app.js';

const app = createEntryPointsApp({ serviceUrl: env.LATCHKEY_SERVICE_URL, apiKey: env.LATCHKEY_API_KEY, remoteAddress: () => '127.0.0.1' });

export default {
  fetch: (request) => app(request),
};
