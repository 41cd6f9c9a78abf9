// latchkey in Fastify: sign in, a page showing the session, sign out, sign out everywhere.
// Run: npm run build && PORT=3000 node examples/fastify/server.js
import Fastify from 'fastify';
import { createSessions } from 'latchkey';
import { memoryStore } from 'latchkey/stores/memory';
import { latchkey } from 'latchkey/fastify';
import { homePage, localOptions, port } from '../shared/page.js';

const sessions = createSessions({ store: memoryStore(), idleTimeout: '30m', absoluteTimeout: '12h' });
const app = Fastify();
await app.register(latchkey, { sessions, ...localOptions() });

app.get('/', async (request, reply) => {
  const session = await request.session.load();
  if (session.isAuthenticated) session.set('visits', Number(session.get('visits') ?? 0) + 1);
  const devices = session.isAuthenticated ? await sessions.list(session.userId) : [];
  return reply.type('text/html').send(homePage(session, devices));
});

app.post('/login', async (request, reply) => {
  // Check the password here; latchkey only manages the session.
  await request.session.login(String(request.body?.username ?? 'guest'), { authLevel: 1 });
  return reply.redirect('/', 303);
});

app.post('/logout', async (request, reply) => {
  await request.session.logout();
  return reply.redirect('/', 303);
});

app.post('/logout-everywhere', async (request, reply) => {
  await request.session.logoutEverywhere();
  return reply.redirect('/', 303);
});

await app.listen({ port, host: '127.0.0.1' });
console.log(`listening on http://127.0.0.1:${port}`);
