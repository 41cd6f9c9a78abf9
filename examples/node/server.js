// latchkey with plain node:http on the embedded SQLite store: sign in, a page
// showing the session and your devices, sign out, sign out everywhere.
// Run: npm start (or npm run build && PORT=3000 node examples/node/server.js).
// Sessions live in ./.latchkey/demo.db (LATCHKEY_DB to change it), so they survive a restart.
import { createServer } from 'node:http';
import { URLSearchParams } from 'node:url';
import { createSessions } from 'latchkey';
import { sqliteStore } from 'latchkey/stores/sqlite';
import { latchkey } from 'latchkey/node';
import { homePage, localOptions, port } from '../shared/page.js';

const store = sqliteStore({ path: process.env.LATCHKEY_DB ?? './.latchkey/demo.db' });
const sessions = createSessions({
  store,
  idleTimeout: '30m',
  absoluteTimeout: '12h',
});
const withSession = latchkey({ sessions, ...localOptions() });

async function readForm(req) {
  // latchkey leaves the fields on req.body when it had to read the form for its CSRF check.
  if (req.body) return req.body;
  let text = '';
  for await (const chunk of req) text += chunk;
  return Object.fromEntries(new URLSearchParams(text));
}

function redirectHome(res) {
  res.writeHead(303, { location: '/' }).end();
}

const server = createServer(
  withSession(async (req, res, session) => {
    const { pathname } = new URL(req.url, 'http://localhost');
    if (req.method === 'GET' && pathname === '/') {
      await session.load();
      if (session.isAuthenticated) session.set('visits', Number(session.get('visits') ?? 0) + 1);
      const devices = session.isAuthenticated ? await sessions.list(session.userId) : [];
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(homePage(session, devices));
    } else if (req.method === 'POST' && pathname === '/login') {
      const form = await readForm(req);
      // Check the password here; latchkey only manages the session.
      await session.login(String(form.username ?? 'guest'), { authLevel: 1 });
      redirectHome(res);
    } else if (req.method === 'POST' && pathname === '/logout') {
      await session.logout();
      redirectHome(res);
    } else if (req.method === 'POST' && pathname === '/logout-everywhere') {
      await session.logoutEverywhere();
      redirectHome(res);
    } else {
      res.writeHead(404).end('not found');
    }
  }),
);
server.listen(port, '127.0.0.1', () => {
  console.log(`latchkey demo (node:http, SQLite store) listening on http://127.0.0.1:${port}`);
  console.log('open it in a browser, sign in with any name; Ctrl+C to stop');
});
// The engine first, then the store it runs on (the engine never closes a store it is handed).
process.on('SIGINT', () => server.close(() => sessions.close().then(() => store.close()).then(() => process.exit(0))));
