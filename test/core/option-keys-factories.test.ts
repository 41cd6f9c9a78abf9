import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/index.js';
import { apiKeys } from '../../src/core/api-keys.js';
import { ConfigError, LatchkeyTypeError } from '../../src/core/errors.js';
import { createSessions } from '../../src/core/sessions.js';
import { createHttpSessions } from '../../src/http/http-sessions.js';
import { createTokenTransport } from '../../src/http/tokens.js';
import { createSealer } from '../../src/sealed/sealer.js';
import { loadConfig } from '../../src/server/config.js';
import { createService } from '../../src/server/service.js';
import { memoryStore } from '../../src/stores/memory.js';
import { openStore } from '../../src/stores/open.js';
import { createAccessTokens } from '../../src/tokens/access.js';
import { createIdTokens } from '../../src/tokens/id-token.js';
import { createKeySet } from '../../src/tokens/keys.js';
import { createRefreshTokens } from '../../src/tokens/refresh.js';
import { createTokens } from '../../src/tokens/tokens.js';

const store = memoryStore();
const sessions = createSessions({ store, sweepInterval: false });
const secret = randomBytes(32);
const keys = await createKeySet();
const tokens = createTokens({ sessions, keys, issuer: 'https://issuer.test', audience: 'api', refreshSecret: secret });
const transport = createTokenTransport({ tokens });

/** Each factory with valid options plus one misspelt key, and the name its message gives. */
const FACTORIES: Array<[string, () => unknown]> = [
  ['createKeySet()', () => createKeySet({ rotateEvry: '30d' } as never)],
  ['createIdTokens()', () => createIdTokens({ keys, issuer: 'https://issuer.test', tll: '1h' } as never)],
  ['createAccessTokens()', () => createAccessTokens({ keys, issuer: 'i', audience: 'a', tll: '5m' } as never)],
  ['createTokens()', () => createTokens({ sessions, keys, issuer: 'i', audience: 'a', refreshSecret: secret, acessTtl: '5m' } as never)],
  ['createRefreshTokens()', () => createRefreshTokens({ sessions, secret, graceWindw: '5s' } as never)],
  ['createTokenTransport()', () => createTokenTransport({ tokens, carier: 'cookie' } as never)],
  ['guard()', () => transport.guard({ checkSesion: true } as never)],
  ['latchkey()', () => createHttpSessions({ sessions, developement: true } as never)],
  ['latchkey()', () => createHttpSessions({ sessions, csrf: { trustedOrigin: [] } } as never)],
  ['createClient()', () => createClient({ baseUrl: 'http://127.0.0.1:1', apiKey: 'lk_x', timout: '1s' } as never)],
  ['apiKeys()', () => apiKeys(store, { cacheMS: 0 } as never)],
  ['openStore()', () => openStore('memory:', { migrates: false } as never)],
  ['createSealer()', () => createSealer({ secrets: [secret], maxBlobLenght: 100 } as never)],
  ['loadConfig()', () => loadConfig({ flag: {} } as never)],
  ['createService()', () => createService(loadConfig({ env: {} }), { keyReloadMS: 1 } as never)],
];

describe('unknown option keys', () => {
  it.each(FACTORIES)('are refused by %s with a ConfigError naming the key and the known ones', async (where, make) => {
    let thrown: unknown;
    try {
      await make();
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toMatch(new RegExp(`^(csrf\\.)?[A-Za-z]+ is not an option( of ${where.replace(/[()]/g, '\\$&')}|; known options of csrf)`));
  });

  it('are checked on an object: anything else is a LatchkeyTypeError', () => {
    expect(() => createTokens(null as never)).toThrow(LatchkeyTypeError);
    expect(() => createClient('http://x' as never)).toThrow(new LatchkeyTypeError('createClient() takes an options object'));
  });
});
