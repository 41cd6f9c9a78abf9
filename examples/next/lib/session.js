// One latchkey for the whole app: server components, server actions, route
// handlers and proxy.js on Node.js, and the edge route handlers (and the edge
// middleware of ../edge-middleware), which Next.js bundles for the edge runtime.
// Next.js may load this module more than once (the proxy and the app are
// bundled apart), so the sessions live on globalThis: one per process on Node,
// one per isolate on the edge.
//
// LATCHKEY_MODE picks where sessions live:
// - stateful (default): the memory store of this Node.js process. The edge
//   runtime cannot reach it (an isolate has memory of its own): use sealed or
//   remote for sessions the edge routes see, or a shared store on Node.
// - sealed: the whole session in an encrypted cookie (SESSION_SECRET: 32
//   random bytes or more), read and written on Node and on the edge alike; the
//   memory store only holds revocation records (per process or isolate).
// - remote: stateful sessions kept by the session service (`latchkey serve`),
//   reached over HTTP with latchkey/client from Node and from the edge alike
//   (LATCHKEY_URL, LATCHKEY_API_KEY).
import { createSessions } from 'latchkey';
import { createClient } from 'latchkey/client';
import { createSealedSessions } from 'latchkey/sealed';
import { memoryStore } from 'latchkey/stores/memory';
import { nextSessions } from 'latchkey/next';

// `next start` runs with NODE_ENV=production: cookies are Secure (__Host-)
// unless LATCHKEY_INSECURE_COOKIES=1 (plain http://127.0.0.1 in the tests).
const insecure = process.env.LATCHKEY_INSECURE_COOKIES === '1';
const mode = process.env.LATCHKEY_MODE ?? 'stateful';
const timeouts = { idleTimeout: '30m', absoluteTimeout: '12h' };

function backend() {
  switch (mode) {
    case 'sealed':
      return {
        sealed: createSealedSessions({
          secrets: [process.env.SESSION_SECRET],
          store: memoryStore(),
          ...timeouts,
          ...(insecure ? { cookieName: 'session' } : {}),
        }),
      };
    case 'remote':
      return { remote: createClient({ baseUrl: process.env.LATCHKEY_URL, apiKey: process.env.LATCHKEY_API_KEY, timeout: '2s' }) };
    case 'stateful':
      return { sessions: createSessions({ store: memoryStore(), ...timeouts }) };
    default:
      throw new Error(`LATCHKEY_MODE must be stateful, sealed or remote, not ${JSON.stringify(mode)}`);
  }
}

globalThis.latchkeyExample ??= backend();

/** The engine in stateful mode (sessions.list(userId) for the devices count), else null. */
export const sessions = globalThis.latchkeyExample.sessions ?? null;

export const session = nextSessions({
  ...globalThis.latchkeyExample,
  // (sealed mode names its cookie itself: cookieName above)
  ...(insecure ? { development: true, cookie: mode === 'sealed' ? { secure: false } : { name: 'session', secure: false } } : {}),
});

/** Which runtime runs this code: 'edge' in Next.js's edge runtime, else 'nodejs'. */
export const runtime = typeof globalThis.EdgeRuntime === 'string' ? 'edge' : 'nodejs';
