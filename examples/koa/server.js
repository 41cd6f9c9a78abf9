// latchkey in Koa 3: sign in, a page showing the session, sign out, sign out everywhere.
// Run: npm run build && PORT=3000 node examples/koa/server.js
import Koa from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import { createSessions } from 'latchkey';
import { memoryStore } from 'latchkey/stores/memory';
import { latchkey } from 'latchkey/koa';
import { homePage, localOptions, port } from '../shared/page.js';

const sessions = createSessions({ store: memoryStore(), idleTimeout: '30m', absoluteTimeout: '12h' });
const app = new Koa();
const router = new Router();
// Before latchkey: its CSRF check reads the form's _csrf field from ctx.request.body.
app.use(bodyParser());
app.use(latchkey({ sessions, ...localOptions() }));

/** A 303 to the home page, so that a reload does not post again. */
function home(ctx) {
  ctx.status = 303;
  ctx.redirect('/');
}

router.get('/', async (ctx) => {
  const session = await ctx.session.load();
  if (session.isAuthenticated) session.set('visits', Number(session.get('visits') ?? 0) + 1);
  const devices = session.isAuthenticated ? await sessions.list(session.userId) : [];
  ctx.type = 'html';
  ctx.body = homePage(session, devices);
});

router.post('/login', async (ctx) => {
  // Check the password here; latchkey only manages the session.
  await ctx.session.login(String(ctx.request.body?.username ?? 'guest'), { authLevel: 1 });
  home(ctx);
});

router.post('/logout', async (ctx) => {
  await ctx.session.logout();
  home(ctx);
});

router.post('/logout-everywhere', async (ctx) => {
  await ctx.session.logoutEverywhere();
  home(ctx);
});

app.use(router.routes()).use(router.allowedMethods());
app.listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}`));
