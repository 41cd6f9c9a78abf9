/**
 * The application before and after the switch: the same routes on a real
 * Express server, first with express-session (as the application ran for
 * years), then with latchkey and a migrator; and the same on iron-session.
 */
import { createServer } from 'node:http';
import express, { type Request } from 'express';
import session, { type Store } from 'express-session';
import { getIronSession } from 'iron-session';
import { errorHandler, latchkey } from '../../../src/adapters/express.js';
import type { HttpSessionsOptions } from '../../../src/http/http-sessions.js';
import type { ExpressSessionData } from '../../../src/migrate/express-session.js';
import type { MappedSession } from '../../../src/migrate/handover.js';
import { listen, type Running } from '../../adapters/support/apps.js';

export type { Running } from '../../adapters/support/apps.js';

/** The express-session shape of these applications: passport's `user`, a cart, a visit counter. */
interface OldSession {
  passport?: { user?: string };
  cart?: string[];
  views?: number;
  plan?: string;
}

const old = (req: Request): OldSession => (req as unknown as { session: OldSession }).session;

/** The application on express-session, with `store` and `secret`. */
export function oldExpressApp(options: { store: Store; secret: string | string[]; name?: string }): Promise<Running> {
  const app = express();
  app.use(
    session({
      store: options.store,
      secret: options.secret,
      name: options.name ?? 'connect.sid',
      resave: false,
      saveUninitialized: false,
      cookie: { secure: false, httpOnly: true, path: '/' },
    }),
  );
  app.post('/login', (req, res) => {
    old(req).passport = { user: String(req.query.user) };
    if (typeof req.query.plan === 'string') old(req).plan = req.query.plan;
    res.json({ ok: true });
  });
  app.post('/cart', (req, res) => {
    const s = old(req);
    s.cart = [...(s.cart ?? []), String(req.query.item)];
    res.json({ cart: s.cart });
  });
  app.get('/visit', (req, res) => {
    const s = old(req);
    s.views = (s.views ?? 0) + 1;
    res.json({ views: s.views });
  });
  app.get('/me', (req, res) => {
    const s = old(req);
    res.json({ userId: s.passport?.user ?? null, cart: s.cart ?? [], views: s.views ?? null });
  });
  return listen(createServer(app));
}

/** What these applications' express-session sessions become: passport's user, everything else as data. */
export function mapOld(oldSession: ExpressSessionData): MappedSession {
  const { passport, ...rest } = oldSession;
  // express-session's own cookie settings are no session data.
  const data = Object.fromEntries(Object.entries(rest).filter(([key]) => key !== 'cookie'));
  const user = (passport as { user?: unknown } | undefined)?.user;
  return { userId: typeof user === 'string' ? user : null, data };
}

/** The same application on latchkey (plain HTTP: `development`), with the given options (`sessions`, `migrate`...). */
export function latchkeyExpressApp(options: HttpSessionsOptions): Promise<Running> {
  const app = express();
  app.use(latchkey({ development: true, cookie: { secure: false }, ...options }));
  const view = async (req: Request) => {
    const s = await req.session.load();
    return { userId: s.userId, handle: s.handle, data: s.info?.data ?? null, authTime: s.info?.authTime ?? null, fresh: s.isFresh('5m') };
  };
  app.all('/me', (req, res, next) => {
    view(req).then((v) => res.json(v), next);
  });
  app.post('/cart', (req, res, next) => {
    (async () => {
      const s = await req.session.load();
      s.set('cart', [...((s.get('cart') as string[] | undefined) ?? []), String(req.query.item)]);
      res.json({ cart: s.get('cart') });
    })().catch(next);
  });
  app.post('/logout', (req, res, next) => {
    req.session.logout().then(() => res.json({ ok: true }), next);
  });
  app.use(errorHandler());
  return listen(createServer(app));
}

/** The iron-session shape of these applications: the user's id and a cart, or a visit counter for a visitor. */
interface OldIronSession {
  userId?: string;
  cart?: string[];
  views?: number;
}

/** The application on iron-session (a plain node:http server), with iron-session's `password` (a string or its `{ id: password }` map). */
export function oldIronApp(options: { password: string | Record<number, string>; cookieName: string }): Promise<Running> {
  const server = createServer((req, res) => {
    (async () => {
      const s = await getIronSession<OldIronSession>(req, res, { password: options.password, cookieName: options.cookieName, cookieOptions: { secure: false } });
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'POST' && url.pathname === '/login') {
        s.userId = url.searchParams.get('user') ?? '';
        s.cart = ['book'];
        await s.save();
      } else if (url.pathname === '/visit') {
        s.views = (s.views ?? 0) + 1;
        await s.save();
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ userId: s.userId ?? null, cart: s.cart ?? [], views: s.views ?? null }));
    })().catch(() => {
      res.statusCode = 500;
      res.end('{}');
    });
  });
  return listen(server);
}

/** What these applications' iron-session sessions become: the user, everything else as data. */
export function mapIron({ userId, ...data }: Readonly<Record<string, unknown>>): MappedSession {
  return { userId: typeof userId === 'string' && userId !== '' ? userId : null, data };
}
