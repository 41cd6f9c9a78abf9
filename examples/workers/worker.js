// latchkey on Cloudflare Workers: a module with `fetch`, on the Fetch adapter
// (latchkey/fetch). Everything is constructed here, in the module's global
// scope, as the other examples do: latchkey starts no timer, draws no random
// bytes and derives no key until the first request, which is what workerd
// allows in global scope.
//
// Bindings: LATCHKEY_MODE (stateful, sealed, tokens or remote) and
// SESSION_SECRET (32 random bytes or more; sealed and tokens); in remote mode
// LATCHKEY_URL and LATCHKEY_API_KEY, where the session service listens and
// its API key. Build and run: see the README's "Runtimes" section (node
// examples/workers/build.js, then workerd).
//
// No nodejs_compat flag is needed (workerd.capnp turns it off): latchkey
// runs on Web Crypto and the Web platform alone.
//
// Memory is per isolate on Workers: in stateful mode the memory store lives in
// one isolate, so a session exists only for requests that reach that isolate
// and ends when the isolate is evicted. Use it for local runs and tests; in
// production use sealed mode (the session travels in the cookie), or remote
// mode: stateful sessions kept by the session service (`latchkey serve`),
// which every isolate reaches over HTTP.
import { env } from 'cloudflare:workers';
import { createFetchApp } from '../shared/fetch-app.js';

const mode = env.LATCHKEY_MODE || 'stateful';
const app = createFetchApp({
  mode,
  secret: env.SESSION_SECRET,
  service: { baseUrl: env.LATCHKEY_URL, apiKey: env.LATCHKEY_API_KEY },
  remoteAddress: (request) => request.headers.get('cf-connecting-ip') ?? undefined,
});

export default {
  fetch: (request) => app(request),
};
