// One latchkey for the whole app. Next.js may load this module more than once
// (the proxy and the app are bundled apart), so the engine and its memory store
// live on globalThis: one store per process. With several processes, use
// latchkey/stores/sqlite, redis or postgres instead.
import { createSessions } from 'latchkey';
import { memoryStore } from 'latchkey/stores/memory';
import { nextSessions } from 'latchkey/next';

// `next start` runs with NODE_ENV=production: cookies are Secure (__Host-session)
// unless LATCHKEY_INSECURE_COOKIES=1 (plain http://127.0.0.1 in the tests).
const insecure = process.env.LATCHKEY_INSECURE_COOKIES === '1';

globalThis.latchkeyExample ??= createSessions({ store: memoryStore(), idleTimeout: '30m', absoluteTimeout: '12h' });

/** The engine: sessions.list(userId) for the devices list. */
export const sessions = globalThis.latchkeyExample;

export const session = nextSessions({
  sessions,
  ...(insecure ? { development: true, cookie: { name: 'session', secure: false } } : {}),
});
