// latchkey in Hono: sign in, a page showing the session, sign out, sign out everywhere.
// Served here by @hono/node-server; the same app runs on Bun or Deno.
// Run: npm run build && PORT=3000 node examples/hono/server.js
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { createSessions } from 'latchkey';
import { memoryStore } from 'latchkey/stores/memory';
import { latchkey } from 'latchkey/hono';
import { homePage, localOptions, port } from '../shared/page.js';

const sessions = createSessions({ store: memoryStore(), idleTimeout: '30m', absoluteTimeout: '12h' });
const app = new Hono();
app.use(latchkey({ sessions, ...localOptions() }));

app.get('/', async (c) => {
  const session = await c.var.session.load();
  if (session.isAuthenticated) session.set('visits', Number(session.get('visits') ?? 0) + 1);
  const devices = session.isAuthenticated ? await sessions.list(session.userId) : [];
  return c.html(homePage(session, devices));
});

app.post('/login', async (c) => {
  const form = await c.req.parseBody();
  // Check the password here; latchkey only manages the session.
  await c.var.session.login(String(form.username ?? 'guest'), { authLevel: 1 });
  return c.redirect('/', 303);
});

app.post('/logout', async (c) => {
  await c.var.session.logout();
  return c.redirect('/', 303);
});

app.post('/logout-everywhere', async (c) => {
  await c.var.session.logoutEverywhere();
  return c.redirect('/', 303);
});

serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => console.log(`listening on http://127.0.0.1:${port}`));
