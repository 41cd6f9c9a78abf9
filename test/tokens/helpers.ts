import { randomBytes } from 'node:crypto';
import { manualClock, type ManualClock } from '../../src/core/clock.js';
import { createSessions, type SessionsOptions } from '../../src/core/sessions.js';
import type { Store } from '../../src/core/store.js';
import { memoryStore } from '../../src/stores/memory.js';
import { createKeySet, type KeySetOptions } from '../../src/tokens/keys.js';
import { createTokens, type TokensOptions } from '../../src/tokens/tokens.js';
import type { TokenTheftEvent } from '../../src/tokens/refresh.js';

export const ISSUER = 'https://auth.example.test';
export const AUDIENCE = 'api';
export const REFRESH_SECRET = randomBytes(32).toString('base64url');

export async function setup(
  o: { clock?: ManualClock; store?: Store; keys?: KeySetOptions; sessions?: Partial<SessionsOptions>; tokens?: Partial<TokensOptions> } = {},
) {
  const clock = o.clock ?? manualClock();
  const store = o.store ?? memoryStore({ clock });
  const sessions = createSessions({ store, clock, sweepInterval: false, idleTimeout: '14d', absoluteTimeout: '30d', ...o.sessions });
  const keys = await createKeySet({ clock, ...o.keys });
  const tokens = createTokens({ sessions, keys, issuer: ISSUER, audience: AUDIENCE, refreshSecret: REFRESH_SECRET, ...o.tokens });
  const thefts: TokenTheftEvent[] = [];
  tokens.on('token-theft', (e) => thefts.push(e));
  return { clock, store, sessions, keys, tokens, thefts };
}
