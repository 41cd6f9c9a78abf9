import { afterAll, beforeAll, describe, it } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import { createSessions } from '../../src/core/sessions.js';
import { memoryStore } from '../../src/stores/memory.js';
import { ADAPTERS, start, type Running } from './support/apps.js';
import { testStore } from './support/store.js';
import { scenarios, type Env } from './scenarios.js';

describe.each(ADAPTERS)('the %s adapter', (adapter) => {
  const clock = manualClock();
  const store = testStore(memoryStore({ now: clock.now }));
  const sessions = createSessions({
    store,
    clock,
    idleTimeout: '30m',
    absoluteTimeout: '12h',
    renewal: { interval: '1h' },
    guessing: { threshold: 5, window: '1m' },
    sweepInterval: false,
  });
  let server: Running;

  beforeAll(async () => {
    server = await start(adapter, { sessions, carriers: ['cookie', 'bearer'], trustProxy: ['127.0.0.1'], onError: () => {} });
  });
  afterAll(async () => {
    await server.close();
    await sessions.close();
  });

  scenarios.forEach((scenario, i) => {
    it(scenario.name, async () => {
      const env: Env = { url: server.url, store, clock, sessions, ip: `198.51.100.${i + 1}` };
      await scenario.run(env);
    });
  });
});
