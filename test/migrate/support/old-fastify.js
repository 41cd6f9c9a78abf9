// The application on @fastify/session (before the switch), in plain JavaScript: @fastify/session's types
// declare `request.session` as its own, where latchkey's Fastify adapter declares latchkey's.
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify from 'fastify';

/**
 * Starts the old Fastify application on a real server.
 * @param {{ store: object, secret: string }} options
 * @returns {Promise<{ url: string, close(): Promise<void> }>}
 */
export async function oldFastifyApp({ store, secret }) {
  const app = Fastify();
  await app.register(fastifyCookie);
  await app.register(fastifySession, { secret, store, saveUninitialized: false, cookie: { secure: false, httpOnly: true, path: '/' } });
  app.post('/login', async (request) => {
    request.session.set('user', String(request.query.user));
    request.session.set('cart', ['book']);
    return { ok: true };
  });
  app.get('/me', async (request) => ({ userId: request.session.get('user') ?? null, cart: request.session.get('cart') ?? [] }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: `http://127.0.0.1:${app.server.address().port}`, close: () => app.close() };
}
