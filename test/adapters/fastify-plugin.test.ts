import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import fp from 'fastify-plugin';
import { afterAll, describe, expect, it } from 'vitest';
import { latchkey } from '../../src/adapters/fastify.js';
import { createSessions } from '../../src/core/sessions.js';
import { memoryStore } from '../../src/stores/memory.js';

describe('the Fastify plugin as a Fastify plugin', () => {
  const store = memoryStore();
  const sessions = createSessions({ store, sweepInterval: false });
  const options = { sessions, development: true, cookie: { secure: false }, onError: () => {} };
  afterAll(async () => {
    await sessions.close();
    await store.close();
  });

  it('is known to Fastify by its name, so that other plugins can declare that they depend on it', async () => {
    const needsLatchkey = fp(async () => {}, { name: 'needs-latchkey', dependencies: ['latchkey'] });
    const app = Fastify();
    await app.register(latchkey, options);
    await app.register(needsLatchkey);
    await expect(app.ready()).resolves.toBeDefined();
    expect(app.hasPlugin('latchkey')).toBe(true);
    await app.close();

    const without = Fastify();
    await expect(without.register(needsLatchkey).ready()).rejects.toMatchObject({ code: 'FST_ERR_PLUGIN_DEPENDENCY_NOT_REGISTERED' });
    await without.close();
  });

  it('declares the Fastify major it is written for, which Fastify checks at registration', () => {
    // What fastify-plugin hands Fastify; Fastify refuses the plugin when its own version is outside the range.
    expect((latchkey as unknown as Record<symbol, unknown>)[Symbol.for('plugin-meta')]).toMatchObject({ fastify: '5.x', name: 'latchkey' });
  });

  it('applies to the routes of every encapsulated context, over a real socket', async () => {
    const app = Fastify();
    await app.register(latchkey, options);
    await app.register(async (child) => {
      child.post('/login', async (request) => {
        await request.session.login('u1');
        return { ok: true };
      });
    });
    await app.register(async (child) => {
      child.get('/me', async (request) => ({ user: (await request.session.load()).userId }));
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const login = await fetch(`${url}/login`, { method: 'POST', headers: { 'sec-fetch-site': 'same-origin' } });
      expect(login.status).toBe(200);
      const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
      const me = await fetch(`${url}/me`, { headers: { cookie } });
      expect(await me.json()).toEqual({ user: 'u1' });
    } finally {
      app.server.closeAllConnections();
      await app.close();
    }
  });
});
