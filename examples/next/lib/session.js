// One latchkey for the whole app. Next.js may load this module more than once
// (the proxy and the app are bundled apart), so the engine and its memory store
// live on globalThis: one store per process. With several processes, use
// latchkey/stores/sqlite, redis or postgres instead.
//
// LATCHKEY_MODE=sealed keeps the whole session in an encrypted cookie instead
// (SESSION_SECRET: 32 random bytes or more); the memory store then only holds
// revocation records.
import { createSessions } from 'latchkey';
import { createSealedSessions } from 'latchkey/sealed';
import { memoryStore } from 'latchkey/stores/memory';
import { nextSessions } from 'latchkey/next';

// `next start` runs with NODE_ENV=production: cookies are Secure (__Host-)
// unless LATCHKEY_INSECURE_COOKIES=1 (plain http://127.0.0.1 in the tests).
const insecure = process.env.LATCHKEY_INSECURE_COOKIES === '1';
const sealedMode = process.env.LATCHKEY_MODE === 'sealed';
const timeouts = { idleTimeout: '30m', absoluteTimeout: '12h' };

globalThis.latchkeyExample ??= sealedMode
  ? {
      sealed: createSealedSessions({
        secrets: [process.env.SESSION_SECRET],
        store: memoryStore(),
        ...timeouts,
        ...(insecure ? { cookieName: 'session' } : {}),
      }),
    }
  : { sessions: createSessions({ store: memoryStore(), ...timeouts }) };

/** The engine in stateful mode (sessions.list(userId) for the devices count), else null. */
export const sessions = globalThis.latchkeyExample.sessions ?? null;

export const session = nextSessions({
  ...globalThis.latchkeyExample,
  // (sealed mode names its cookie itself: cookieName above)
  ...(insecure ? { development: true, cookie: sealedMode ? { secure: false } : { name: 'session', secure: false } } : {}),
});
