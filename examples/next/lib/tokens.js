// Token mode: access tokens (short-lived JWTs) and refresh tokens, issued and
// refreshed by Node.js route handlers (app/api/tokens), verified by an edge
// route handler (app/api/edge/token) with the public part of the same keys.
//
// Both runtimes load the signing keys from TOKEN_KEYS: the content of the key
// file `latchkey keys rotate --data-dir <dir>` writes (<dir>/keys.json). The
// refresh families live in the Node.js process's memory store (use a shared
// store with several processes); the edge cannot read that store, so it
// checks signature, issuer, audience and expiry only (`revocation: false`):
// a signed-out family's access tokens still pass there until they expire
// (accessTtl, 5 minutes here), while the Node.js guard refuses them at once.
import { createSessions } from 'latchkey';
import { createTokenTransport } from 'latchkey/http';
import { memoryStore } from 'latchkey/stores/memory';
import { createKeySet, createTokens } from 'latchkey/tokens';
import { runtime } from './session.js';

/** The keys of TOKEN_KEYS, read-only: rotate them with `latchkey keys rotate` and redeploy. */
const envKeys = {
  async load() {
    const text = process.env.TOKEN_KEYS;
    if (text === undefined || text === '') throw new Error('TOKEN_KEYS must hold the key file of `latchkey keys rotate` (JSON)');
    return JSON.parse(text).keys;
  },
  async save() {
    throw new Error('TOKEN_KEYS is read-only here: rotate the keys with `latchkey keys rotate`');
  },
};

async function make() {
  const tokens = createTokens({
    sessions: createSessions({ store: memoryStore(), idleTimeout: '14d', absoluteTimeout: '30d' }),
    keys: await createKeySet({ storage: envKeys, rotateEvery: false }),
    issuer: 'https://next.example',
    audience: 'next-example',
    refreshSecret: process.env.REFRESH_SECRET,
    accessTtl: '5m',
    ...(runtime === 'edge' ? { revocation: false } : {}),
  });
  return createTokenTransport({ tokens, carrier: 'bearer' });
}

/** Token mode's HTTP transport (bearer carrier), made on first use: one per process on Node, one per isolate on the edge. */
export function tokenTransport() {
  globalThis.latchkeyExampleTokens ??= make();
  return globalThis.latchkeyExampleTokens;
}
