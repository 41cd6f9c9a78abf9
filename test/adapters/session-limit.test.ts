/**
 * A sign-in refused by maxSessionsPerUser ('refuse') is an answer, not a
 * crash: every adapter replies 409 session-limit and keeps serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/sessions.js';
import { memoryStore } from '../../src/stores/memory.js';
import { ADAPTERS, start, type Running } from './support/apps.js';
import { call } from './support/client.js';

describe.each(ADAPTERS)('a sign-in over the session limit through %s', (adapter) => {
  let server: Running;
  beforeAll(async () => {
    const sessions = createSessions({ store: memoryStore(), maxSessionsPerUser: { limit: 1, onLimit: 'refuse' } });
    server = await start(adapter, { sessions, onError: () => {} });
  });
  afterAll(async () => server?.close());

  it('answers 409 session-limit and signs nobody in', async () => {
    expect((await call(server.url, '/login?user=ada', { method: 'POST' })).status).toBe(200);
    const second = await call(server.url, '/login?user=ada', { method: 'POST' });
    expect(second.status).toBe(409);
    expect(second.body.error).toBe('session-limit');
    expect(second.setCookies).toEqual([]);
    expect((await call(server.url, '/login?user=grace', { method: 'POST' })).status).toBe(200);
  });
});
