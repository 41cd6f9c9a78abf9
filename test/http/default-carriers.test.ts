/**
 * The carriers a session token is read from when the application names
 * none: the cookie only. A valid token in the URL (`?session=`) or in a form
 * field is not a session, so that no link, Referer or log line carries one
 * (ASVS 4.0.3 3.1.1); both are opt-ins (test/http/legacy-carriers.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/sessions.js';
import { memoryStore } from '../../src/stores/memory.js';
import { start, type Running } from '../adapters/support/apps.js';
import { call, cookieValue } from '../adapters/support/client.js';

describe('the default carriers', () => {
  const sessions = createSessions({ store: memoryStore(), sweepInterval: false });
  let server: Running;
  beforeAll(async () => {
    server = await start('node', { sessions, onError: () => {} });
  });
  afterAll(async () => {
    await server?.close();
    await sessions.close();
  });

  it('take a session token from the cookie only, never from the URL, a form field or an Authorization header', async () => {
    const login = await call(server.url, '/login?user=alice', { method: 'POST' });
    const token = cookieValue(login.setCookies) as string;
    expect(token).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect((await call(server.url, '/me', { cookie: `__Host-session=${token}` })).body.userId).toBe('alice');
    expect((await call(server.url, `/me?session=${token}`)).body.userId).toBeNull();
    expect((await call(server.url, '/form', { form: { session: token } })).body.userId).toBeNull();
    expect((await call(server.url, '/me', { headers: { authorization: `Bearer ${token}` } })).body.userId).toBeNull();
  });
});
