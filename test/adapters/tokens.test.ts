import { afterAll, beforeAll, describe, it } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import { createSessions } from '../../src/core/sessions.js';
import { createTokenTransport } from '../../src/http/tokens.js';
import { memoryStore } from '../../src/stores/memory.js';
import { createAccessTokens } from '../../src/tokens/access.js';
import { createKeySet } from '../../src/tokens/keys.js';
import type { TokenTheftEvent } from '../../src/tokens/refresh.js';
import { createTokens, type Tokens } from '../../src/tokens/tokens.js';
import { ADAPTERS, type Running } from './support/apps.js';
import { startTokens } from './support/token-apps.js';
import { tokenScenarios, type TokenEnv } from './token-scenarios.js';
import { AUDIENCE, ISSUER, REFRESH_SECRET } from '../tokens/helpers.js';

describe.each(ADAPTERS)('token mode through the %s adapter', (adapter) => {
  const clock = manualClock();
  const store = memoryStore({ clock });
  const sessions = createSessions({ store, clock, sweepInterval: false, idleTimeout: '14d', absoluteTimeout: '30d' });
  const thefts: TokenTheftEvent[] = [];
  let tokens: Tokens;
  let env: Omit<TokenEnv, 'user'>;
  let servers: Running[] = [];

  beforeAll(async () => {
    const keys = await createKeySet({ clock });
    tokens = createTokens({
      sessions,
      keys,
      issuer: ISSUER,
      audience: AUDIENCE,
      refreshSecret: REFRESH_SECRET,
      claims: (s) => ({ scope: s.userId?.startsWith('root-') ? ['read', 'admin'] : 'read' }),
    });
    tokens.on('token-theft', (e) => thefts.push(e));
    const foreign = createAccessTokens({ keys, issuer: ISSUER, audience: 'another-api', clock });
    servers = await Promise.all([
      startTokens(adapter, createTokenTransport({ tokens, trustProxy: ['127.0.0.1'] }), tokens),
      startTokens(adapter, createTokenTransport({ tokens, carrier: 'cookie' }), tokens),
      startTokens(adapter, createTokenTransport({ tokens, carrier: 'cookie', refreshCookie: { persistent: true }, clearSiteData: { storage: true } }), tokens),
    ]);
    const otherEngine = createSessions({ store, clock, sweepInterval: false });
    env = { bearer: servers[0]!.url, cookie: servers[1]!.url, optIn: servers[2]!.url, tokens, otherEngine, clock, thefts, foreign };
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await sessions.close();
  });

  tokenScenarios.forEach((scenario, i) => {
    it(scenario.name, async () => {
      await scenario.run({ ...env, user: `user-${i}` });
    });
  });
});
