/**
 * @fastify/session signs its cookie as express-session does (without the
 * `s:` prefix) and takes express-session's stores: the express-session
 * migrator with `name: 'sessionId'` and `cookiePrefix: ''` hands its users
 * over, here from connect-redis on real Redis to latchkey's Fastify adapter.
 */
import { RedisStore } from 'connect-redis';
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latchkey } from '../../src/adapters/fastify.js';
import { createSessions } from '../../src/core/sessions.js';
import { expressSession } from '../../src/migrate/express-session.js';
import { memoryStore } from '../../src/stores/memory.js';
import { redisAvailable, startRedis, type RedisServer } from '../servers/redis.js';
import { oldFastifyApp } from './support/old-fastify.js';
import { browse, Jar } from './support/jar.js';

const SECRET = 'a @fastify/session secret of 32 characters or more';

describe.skipIf(!redisAvailable)('@fastify/session + connect-redis to latchkey/fastify, on real Redis', () => {
  let redis: RedisServer;
  let client: ReturnType<typeof createClient>;
  const store = memoryStore();
  const sessions = createSessions({ store });

  beforeAll(async () => {
    redis = await startRedis();
    client = createClient({ url: redis.url });
    client.on('error', () => {});
    await client.connect();
  });
  afterAll(async () => {
    await sessions.close();
    await store.close();
    await client?.quit().catch(() => {});
    await redis?.stop();
  });

  it('keeps a user signed in with their data, with the migrator set to its cookie name and unprefixed signature', async () => {
    const oldStore = new RedisStore({ client, prefix: 'sess:' });
    const before = await oldFastifyApp({ store: oldStore, secret: SECRET });
    const jar = new Jar();
    try {
      await browse(before.url, '/login?user=alice', jar, { method: 'POST' });
      expect((await browse(before.url, '/me', jar)).body).toEqual({ userId: 'alice', cart: ['book'] });
    } finally {
      await before.close();
    }
    expect(jar.names()).toEqual(['sessionId']);
    expect(await client.keys('sess:*')).toHaveLength(1);

    const app = Fastify();
    await app.register(latchkey, {
      sessions,
      development: true,
      cookie: { secure: false },
      migrate: [
        expressSession({
          store: oldStore,
          secret: SECRET,
          name: 'sessionId',
          cookiePrefix: '',
          handoverKey: 'a hand-over key of at least 32 random bytes, for tests only',
          map: ({ cookie: _cookie, user, ...data }) => ({ userId: typeof user === 'string' ? user : null, data }),
        }),
      ],
    });
    app.get('/me', async (request) => {
      const s = await request.session.load();
      return { userId: s.userId, data: s.info?.data ?? null };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const me = await browse(url, '/me', jar);
      expect(me.body).toEqual({ userId: 'alice', data: { cart: ['book'] } });
      expect(jar.names()).toEqual(['session']);
      expect(await client.keys('sess:*')).toEqual([]);
      expect((await browse(url, '/me', jar)).body).toEqual({ userId: 'alice', data: { cart: ['book'] } });
    } finally {
      await app.close();
    }
  });
});
