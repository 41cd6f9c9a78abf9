import { afterAll, beforeAll, describe, it } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import { createSessions, type Sessions } from '../../src/core/sessions.js';
import type { HttpSessionsOptions } from '../../src/http/http-sessions.js';
import { createSealedSessions } from '../../src/sealed/sealed-sessions.js';
import { memoryStore } from '../../src/stores/memory.js';
import { ADAPTERS, start, type Running } from './support/apps.js';
import { testStore } from './support/store.js';
import { MODES, scenarios, type Env, type Mode } from './scenarios.js';

const SECRET = 'adapter-scenarios-sealing-secret-0123456789abcdef';

const cases = ADAPTERS.flatMap((adapter) => MODES.map((mode) => [adapter, mode] as const));

describe.each(cases)('the %s adapter in %s mode', (adapter, mode: Mode) => {
  const clock = manualClock();
  const store = testStore(memoryStore({ now: clock.now }));
  let sessions: Sessions | null = null;
  let options: HttpSessionsOptions;
  if (mode === 'stateful') {
    sessions = createSessions({
      store,
      clock,
      idleTimeout: '30m',
      absoluteTimeout: '12h',
      renewal: { interval: '1h' },
      guessing: { threshold: 5, window: '1m' },
      sweepInterval: false,
    });
    options = { sessions, carriers: ['cookie', 'bearer'], trustProxy: ['127.0.0.1'], onError: () => {} };
  } else {
    // A store, so that sign-out and sign-out-everywhere revoke; chunking (not spilling) for large sessions.
    const sealed = createSealedSessions({ secrets: [SECRET], store, clock, idleTimeout: '30m', absoluteTimeout: '12h', overflow: 'chunk' });
    options = { sealed, trustProxy: ['127.0.0.1'], onError: () => {} };
  }
  let server: Running;

  beforeAll(async () => {
    server = await start(adapter, options);
  });
  afterAll(async () => {
    await server.close();
    if (sessions !== null) await sessions.close();
    else await store.close();
  });

  scenarios.forEach((scenario, i) => {
    // Scenarios limited to some modes say why in their `modes` field (test/adapters/scenarios.ts).
    if (scenario.modes !== undefined && !scenario.modes.includes(mode)) return;
    it(scenario.name, async () => {
      const env: Env = { url: server.url, mode, store, clock, sessions, ip: `198.51.100.${i + 1}` };
      await scenario.run(env);
    });
  });
});
