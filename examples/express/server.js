// latchkey in Express: sign in, a page showing the session, sign out, sign out everywhere.
// Run: npm run build && PORT=3000 node examples/express/server.js
import express from 'express';
import { createSessions } from 'latchkey';
import { memoryStore } from 'latchkey/stores/memory';
import { latchkey, errorHandler } from 'latchkey/express';
import { homePage, localOptions, port } from '../shared/page.js';

const sessions = createSessions({ store: memoryStore(), idleTimeout: '30m', absoluteTimeout: '12h' });
const app = express();
app.use(express.urlencoded({ extended: false }));
app.use(latchkey({ sessions, ...localOptions() }));

app.get('/', async (req, res) => {
  const session = await req.session.load();
  if (session.isAuthenticated) session.set('visits', Number(session.get('visits') ?? 0) + 1);
  const devices = session.isAuthenticated ? await sessions.list(session.userId) : [];
  res.type('html').send(homePage(session, devices));
});

app.post('/login', async (req, res) => {
  // Check the password here; latchkey only manages the session.
  await req.session.login(String(req.body.username ?? 'guest'), { authLevel: 1 });
  res.redirect(303, '/');
});

app.post('/logout', async (req, res) => {
  await req.session.logout();
  res.redirect(303, '/');
});

app.post('/logout-everywhere', async (req, res) => {
  await req.session.logoutEverywhere();
  res.redirect(303, '/');
});

app.use(errorHandler());
app.listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}`));
