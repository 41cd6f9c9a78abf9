import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import { ConfigError, ConfigWarning } from '../../src/core/errors.js';
import { createSessions, type Sessions } from '../../src/core/sessions.js';
import type { HttpSessionsOptions } from '../../src/http/http-sessions.js';
import { createSealedSessions } from '../../src/sealed/sealed-sessions.js';
import { memoryStore } from '../../src/stores/memory.js';
import { ADAPTERS, start, type Running } from './support/apps.js';
import { call } from './support/client.js';
import { testStore } from './support/store.js';
import { MODES, scenarios, type Env, type Mode } from './scenarios.js';

const SECRET = 'adapter-scenarios-sealing-secret-0123456789abcdef';

const cases = ADAPTERS.flatMap((adapter) => MODES.map((mode) => [adapter, mode] as const));

describe.each(cases)('the %s adapter in %s mode', (adapter, mode: Mode) => {
  const clock = manualClock();
  const store = testStore(memoryStore({ clock }));
  const engines: Sessions[] = [];
  let sessions: Sessions | null = null;
  let options: HttpSessionsOptions;
  let optIn: HttpSessionsOptions;
  // Every opt-in of the cookie options at once, for the scenarios that check them.
  const optIns = { cookie: { persistent: true }, csrf: { cookie: true }, clearSiteData: { storage: true, cookies: true } } as const;
  if (mode === 'stateful') {
    const engine = (idleTimeout: string, absoluteTimeout: string): Sessions => {
      const e = createSessions({ store, clock, idleTimeout, absoluteTimeout, renewal: { interval: '1h' }, guessing: { threshold: 5, window: '1m' }, sweepInterval: false });
      engines.push(e);
      return e;
    };
    sessions = engine('30m', '12h');
    options = { sessions, carriers: ['cookie', 'bearer'], trustProxy: ['127.0.0.1'], onError: () => {} };
    optIn = { sessions: engine('200d', '500d'), trustProxy: ['127.0.0.1'], onError: () => {}, ...optIns };
  } else {
    // A store, so that sign-out and sign-out-everywhere revoke; chunking (not spilling) for large sessions.
    const sealed = createSealedSessions({ secrets: [SECRET], store, clock, idleTimeout: '30m', absoluteTimeout: '12h', overflow: 'chunk' });
    options = { sealed, trustProxy: ['127.0.0.1'], onError: () => {} };
    const long = createSealedSessions({ secrets: [SECRET], store, clock, idleTimeout: '200d', absoluteTimeout: '500d', overflow: 'chunk' });
    optIn = { sealed: long, trustProxy: ['127.0.0.1'], onError: () => {}, ...optIns };
  }
  let servers: Running[] = [];

  beforeAll(async () => {
    servers = await Promise.all([start(adapter, options), start(adapter, optIn)]);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    for (const e of engines) await e.close();
    await store.close();
  });

  scenarios.forEach((scenario, i) => {
    // Scenarios limited to some modes say why in their `modes` field (test/adapters/scenarios.ts).
    if (scenario.modes !== undefined && !scenario.modes.includes(mode)) return;
    it(scenario.name, async () => {
      const env: Env = { url: servers[0]!.url, optIn: servers[1]!.url, mode, store, clock, sessions, ip: `198.51.100.${i + 1}` };
      await scenario.run(env);
    });
  });
});

describe.each(ADAPTERS)('the %s adapter at startup', (adapter) => {
  const store = memoryStore();
  const sessions = createSessions({ store, sweepInterval: false });
  afterAll(() => sessions.close());

  it('refuses a cookie name without the __Host- (or __Secure-) prefix outside development, naming the fix', async () => {
    const refusals: Array<[HttpSessionsOptions, string]> = [
      [
        { sessions, cookie: { name: 'sid' } },
        'cookie.name "sid" lacks the __Host- prefix: outside development every latchkey cookie must be __Host- (Secure, Path=/, no Domain) so that no sibling subdomain or plain-HTTP page can plant or overwrite it; rename it "__Host-sid", or for plain-HTTP local development pass development: true',
      ],
      [{ sessions, cookie: { name: '__Secure-sid' } }, 'rename it "__Host-sid"'],
      [{ sessions, cookie: { name: 'sid', domain: 'example.com' } }, 'cookie.name "sid" lacks the __Secure- prefix: with a Domain it cannot be __Host-'],
      [{ sessions, csrf: { cookie: { name: 'XSRF-TOKEN' } } }, 'csrf.cookie.name "XSRF-TOKEN" lacks the __Host- prefix'],
      [
        { sealed: createSealedSessions({ secrets: [SECRET], cookieName: 'sid', store }) },
        'the sealed cookieName (createSealedSessions({ cookieName })) "sid" lacks the __Host- prefix',
      ],
    ];
    for (const [options, message] of refusals) {
      const started = start(adapter, { ...options, onError: () => {} });
      await expect(started).rejects.toThrow(ConfigError);
      await expect(started).rejects.toThrow(message);
    }
  });

  it('takes any cookie name with development: true', async () => {
    const server = await start(adapter, { sessions, development: true, cookie: { name: 'sid', secure: false }, onError: () => {} });
    try {
      const r = await call(server.url, '/login?user=dev', { method: 'POST' });
      expect(r.setCookies).toEqual([expect.stringMatching(/^sid=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/)]);
    } finally {
      await server.close();
    }
  });

  it('refuses a persistent option that is not a boolean, and the removed browserSession with its replacement', async () => {
    await expect(start(adapter, { sessions, cookie: { persistent: '400d' as never } })).rejects.toThrow(
      'cookie.persistent must be true (a cookie that survives browser restarts, Max-Age up to 400 days) or false (a browser-session cookie)',
    );
    await expect(start(adapter, { sessions, cookie: { browserSession: true } as never })).rejects.toThrow(
      'cookie.browserSession was removed: session cookies are browser-session cookies by default now; remove it, or for a cookie that survives browser restarts pass cookie.persistent: true',
    );
  });

  it('says once, at startup and not per request, that sealed sessions without revocation cannot be ended', async () => {
    const reported: unknown[] = [];
    const sealed = createSealedSessions({ secrets: [SECRET], revocable: false });
    const server = await start(adapter, { sealed, onError: (e) => reported.push(e) });
    try {
      expect(reported).toHaveLength(1);
      const login = await call(server.url, '/login?user=una', { method: 'POST' });
      const cookie = `__Host-session=${/^__Host-session=([^;]+)/.exec(login.setCookies[0] ?? '')?.[1]}`;
      for (let i = 0; i < 3; i++) expect((await call(server.url, '/me', { cookie })).body).toMatchObject({ userId: 'una' });
      const out = await call(server.url, '/logout', { method: 'POST', cookie });
      expect(out.headers.get('clear-site-data')).toBe('"cache"');
      // Without revocation a copy of the cookie opens after sign-out: what the warning says.
      expect((await call(server.url, '/me', { cookie })).body).toMatchObject({ userId: 'una' });
      expect(reported).toHaveLength(1);
      expect(reported[0]).toBeInstanceOf(ConfigWarning);
      expect(reported[0]).toMatchObject({ code: 'WARN_CONFIG' });
      expect((reported[0] as ConfigWarning).message).toBe(
        'sealed sessions are not revocable (revocable: false): sign-out only deletes the cookie in this browser, and a copy of it keeps working until its idle or absolute deadline; give createSealedSessions() a store to make sign-out final',
      );
    } finally {
      await server.close();
    }
  });
});
