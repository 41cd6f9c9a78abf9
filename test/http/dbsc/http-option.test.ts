/**
 * The HTTP layer's `dbsc` option: off unless given, validated once at
 * construction (unknown keys, a weak secret, sealed mode and a
 * configuration without the cookie carrier refused with how to fix it),
 * and its data key reserved.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import { DEVICE_BINDING_KEY } from '../../../src/core/model.js';
import { createSessions } from '../../../src/core/sessions.js';
import { createHttpSessions, type HttpSessionsOptions } from '../../../src/http/http-sessions.js';
import { createSealedSessions } from '../../../src/sealed/sealed-sessions.js';
import { memoryStore } from '../../../src/stores/memory.js';
import { start } from '../../adapters/support/apps.js';
import { dbscClient } from '../../support/dbsc-client.js';

const store = memoryStore();
const sessions = createSessions({ store, sweepInterval: false });
afterAll(async () => {
  await sessions.close();
  await store.close();
});
const secret = randomBytes(32);

describe('the dbsc option', () => {
  it('is off by default: a sign-in offers no registration, and the registration path is the application’s', async () => {
    const server = await start('node', { sessions, onError: () => {} });
    try {
      const client = await dbscClient();
      const login = await client.request(`${server.url}/login`);
      expect(login.status).toBe(200);
      expect(login.headers.get('secure-session-registration')).toBeNull();
      const post = await client.request(`${server.url}/auth/dbsc/register`, { method: 'POST' });
      expect(post.status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('is off with false, and on with an object', () => {
    expect(createHttpSessions({ sessions, dbsc: false }).dbsc).toBeNull();
    expect(createHttpSessions({ sessions, dbsc: { secret, registrationPath: '/r', refreshPath: '/f' } }).dbsc).toEqual({ registrationPath: '/r', refreshPath: '/f' });
  });

  it.each<[string, HttpSessionsOptions, RegExp]>([
    ['an unknown key', { sessions, dbsc: { secret, cokie: {} } as never }, /dbsc\.cokie is not an option of latchkey\(\); did you mean dbsc\.cookie\?/],
    ['the core’s challenges (the store keeps them)', { sessions, dbsc: { secret, challenges: {} } as never }, /dbsc\.challenges is not an option/],
    ['a short secret', { sessions, dbsc: { secret: 'short' } }, /dbsc\.secret/],
    ['an unknown cookie key', { sessions, dbsc: { secret, cookie: { ttl: '5m', maxAge: 1 } as never } }, /dbsc\.cookie\.maxAge is not an option/],
    ['a bound cookie living over an hour', { sessions, dbsc: { secret, cookie: { ttl: '2h' } } }, /dbsc\.cookie\.ttl must be at most 1 hour/],
    ['the none algorithm', { sessions, dbsc: { secret, algorithms: ['none'] as never } }, /dbsc\.algorithms/],
    ['a non-object', { sessions, dbsc: 'on' as never }, /dbsc must be an object/],
    ['no cookie carrier', { sessions, carriers: ['bearer'], dbsc: { secret } }, /dbsc binds cookie sessions/],
  ])('refuses %s at construction', (_what, options, message) => {
    expect(() => createHttpSessions(options)).toThrow(ConfigError);
    expect(() => createHttpSessions(options)).toThrow(message);
  });

  it('refuses sealed mode, saying why', () => {
    const sealed = createSealedSessions({ secrets: [randomBytes(32).toString('base64url')], store });
    expect(() => createHttpSessions({ sealed, dbsc: { secret } })).toThrow(/dbsc needs stateful sessions.*snapshot/);
  });

  it('reserves the session data key of the binding', async () => {
    const http = createHttpSessions({ sessions, dbsc: { secret } });
    const begun = await http.begin({ method: 'GET', url: '/', header: () => undefined, remoteAddress: '127.0.0.1' });
    if (!begun.ok) throw new Error('refused');
    expect(() => begun.session.set(DEVICE_BINDING_KEY, { id: 'x' })).toThrow(/reserved by latchkey/);
    expect(() => begun.session.unset(DEVICE_BINDING_KEY)).toThrow(/reserved by latchkey/);
  });
});
