/* global Response */
// latchkey with plain Fetch API handlers (Request in, Response out), as in
// Next.js route handlers, Bun.serve or Deno.serve. Node has no Fetch server of
// its own, so @hono/node-server bridges it here; on Bun use
// `Bun.serve({ fetch: handler })` and `remoteAddress: (req, server) => server.requestIP(req)?.address`.
// Run: npm run build && PORT=3000 node examples/fetch/server.js
import { createAdaptorServer } from '@hono/node-server';
import { createSessions } from 'latchkey';
import { memoryStore } from 'latchkey/stores/memory';
import { latchkey } from 'latchkey/fetch';
import { homePage, localOptions, port } from '../shared/page.js';

const sessions = createSessions({ store: memoryStore(), idleTimeout: '30m', absoluteTimeout: '12h' });
const withSession = latchkey({
  sessions,
  ...localOptions(),
  remoteAddress: (_request, env) => env?.incoming?.socket?.remoteAddress,
});

const home = () => new Response(null, { status: 303, headers: { location: '/' } });

const handler = withSession(async (request, session) => {
  const { pathname } = new URL(request.url);
  if (request.method === 'GET' && pathname === '/') {
    await session.load();
    if (session.isAuthenticated) session.set('visits', Number(session.get('visits') ?? 0) + 1);
    const devices = session.isAuthenticated ? await sessions.list(session.userId) : [];
    return new Response(homePage(session, devices), { headers: { 'content-type': 'text/html; charset=utf-8' } });
  }
  if (request.method === 'POST' && pathname === '/login') {
    const form = await request.formData();
    // Check the password here; latchkey only manages the session.
    await session.login(String(form.get('username') ?? 'guest'), { authLevel: 1 });
    return home();
  }
  if (request.method === 'POST' && pathname === '/logout') {
    await session.logout();
    return home();
  }
  if (request.method === 'POST' && pathname === '/logout-everywhere') {
    await session.logoutEverywhere();
    return home();
  }
  return new Response('not found', { status: 404 });
});

createAdaptorServer({ fetch: handler }).listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}`));
