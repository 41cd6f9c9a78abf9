/**
 * The applications the HTTP fuzzers attack, each on a real listening server
 * in every adapter: the session application of test/adapters (stateful mode
 * with every carrier, and sealed mode) and the token application (bearer and
 * cookie transport). Each comes with valid credentials of two users, taken
 * from its own sign-in answers, for the fuzzers to derive near-misses from.
 */
import { createSessions, type Sessions } from '../../../src/core/sessions.js';
import type { ProxyHeader } from '../../../src/http/client.js';
import { createTokenTransport } from '../../../src/http/tokens.js';
import { createSealedSessions } from '../../../src/sealed/sealed-sessions.js';
import { memoryStore } from '../../../src/stores/memory.js';
import { createKeySet } from '../../../src/tokens/keys.js';
import { createTokens, type Tokens } from '../../../src/tokens/tokens.js';
import { ADAPTERS, start, type AdapterName, type Running } from '../../adapters/support/apps.js';
import { LOGOUT, startTokens } from '../../adapters/support/token-apps.js';
import { AUDIENCE, ISSUER, REFRESH_SECRET } from '../../tokens/helpers.js';
import { send } from './fuzz.js';

export { ADAPTERS, LOGOUT, type AdapterName };

/** The session cookie of both modes. */
export const COOKIE = '__Host-session';
export const ACCESS_COOKIE = '__Host-access';
export const REFRESH_COOKIE = '__Secure-refresh';
const SEAL_SECRET = 'fuzz-sealing-secret-0123456789abcdef0123456789';

/** One adapter's servers. */
export interface AdapterServers {
  readonly adapter: AdapterName;
  /** Stateful mode, carriers cookie, bearer, url and form. */
  readonly stateful: string;
  readonly sealed: string;
  readonly bearerTokens: string;
  readonly cookieTokens: string;
  /** Which forwarding header this adapter's session servers believe from 127.0.0.1. */
  readonly proxyHeader: ProxyHeader;
}

/** Everything the fuzzers attack, and the valid credentials. */
export interface Targets {
  readonly servers: readonly AdapterServers[];
  /** Valid session tokens (stateful mode) of alice, then bob. */
  readonly tokens: readonly [string, string];
  /** Valid sealed cookies of alice, then bob. */
  readonly blobs: readonly [string, string];
  /** Valid access tokens of alice, then bob. */
  readonly jwts: readonly [string, string];
  /** Valid (never used) refresh tokens of alice, then bob. */
  readonly refreshTokens: readonly [string, string];
  readonly tokenMode: Tokens;
  close(): Promise<void>;
}

function cookieOf(lines: string[] | string | undefined, name: string): string {
  for (const line of [lines ?? []].flat()) if (line.startsWith(`${name}=`)) return line.slice(name.length + 1, line.indexOf(';'));
  throw new Error(`no ${name} cookie in ${JSON.stringify(lines)}`);
}

async function signIn(base: string, user: string): Promise<string> {
  const r = await send(base, { method: 'POST', path: `/login?user=${user}`, headers: { 'sec-fetch-site': 'same-origin' } });
  if (r.status !== 200) throw new Error(`sign-in answered ${r.status}: ${r.text}`);
  return cookieOf(r.headers['set-cookie'], COOKIE);
}

/**
 * Starts every server. Guessing throttles are set high, so that forged
 * tokens reach validation instead of stopping at a 429 (the throttle has
 * its own tests); `onError` of every layer goes to `onError`.
 */
export async function startTargets(onError: (err: unknown) => void): Promise<Targets> {
  const store = memoryStore();
  const engines: Sessions[] = [];
  const engine = (o: Partial<Parameters<typeof createSessions>[0]> = {}): Sessions => {
    const e = createSessions({ store, sweepInterval: false, guessing: { threshold: 1_000_000 }, ...o });
    engines.push(e);
    return e;
  };
  const sessions = engine();
  const sealed = createSealedSessions({ secrets: [SEAL_SECRET], store });
  // RS256: the key-confusion forgeries (the public key as an HMAC secret) have an RSA key to work with; real-sized (about 1 KB) tokens.
  const keys = await createKeySet({ algorithm: 'RS256' });
  const tokenMode = createTokens({ sessions: engine({ idleTimeout: '14d', absoluteTimeout: '30d' }), keys, issuer: ISSUER, audience: AUDIENCE, refreshSecret: REFRESH_SECRET, onError });

  const running: Running[] = [];
  const servers: AdapterServers[] = [];
  for (const [i, adapter] of ADAPTERS.entries()) {
    const proxyHeader: ProxyHeader = i % 2 === 0 ? 'x-forwarded-for' : 'forwarded';
    const common = { trustProxy: ['127.0.0.1'], proxyHeader, onError };
    const s = await start(adapter, { sessions, carriers: ['cookie', 'bearer', 'url', 'form'], ...common });
    const m = await start(adapter, { sealed, ...common });
    const b = await startTokens(adapter, createTokenTransport({ tokens: tokenMode, trustProxy: ['127.0.0.1'], proxyHeader, onError }), tokenMode);
    const c = await startTokens(adapter, createTokenTransport({ tokens: tokenMode, carrier: 'cookie', onError }), tokenMode);
    running.push(s, m, b, c);
    servers.push({ adapter, stateful: s.url, sealed: m.url, bearerTokens: b.url, cookieTokens: c.url, proxyHeader });
  }
  const first = servers[0] as AdapterServers;
  const tokens: [string, string] = [await signIn(first.stateful, 'alice'), await signIn(first.stateful, 'bob')];
  const blobs: [string, string] = [await signIn(first.sealed, 'alice'), await signIn(first.sealed, 'bob')];
  const pairs = [await tokenMode.issue({ userId: 'alice' }), await tokenMode.issue({ userId: 'bob' })];
  return {
    servers,
    tokens,
    blobs,
    jwts: [pairs[0]!.accessToken, pairs[1]!.accessToken],
    refreshTokens: [pairs[0]!.refreshToken, pairs[1]!.refreshToken],
    tokenMode,
    async close() {
      await Promise.all(running.map((r) => r.close()));
      for (const e of engines) await e.close();
      await store.close();
    },
  };
}
