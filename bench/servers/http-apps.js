/* global Response */
/**
 * The applications of the HTTP benchmark, one per variant, each answering the
 * same four routes the same way (see http-server.js). Every variant of one
 * framework does the same work but the session's: the bare ones are async
 * like the session handlers, so that the difference is the session, not the
 * promise.
 */
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';

let counter = 0;
const body = (user) => `hello ${user ?? 'visitor'}`;
const TEXT = 'text/plain; charset=utf-8';

/**
 * Builds the variant's server: a node:http `Server`, listening on nothing yet.
 *
 * @param {string} variant
 * @param {object} http latchkey's HTTP options (with the engine), for the latchkey variants
 * @returns {Promise<import('node:http').Server>}
 */
export async function buildServer(variant, http) {
  const [framework] = variant.split('-');
  if (framework === 'express') return createServer(await expressApp(variant, http));
  if (framework === 'node') return nodeServer(variant, http);
  if (framework === 'fastify') return fastifyServer(variant, http);
  if (framework === 'hono') return honoServer(variant, http);
  if (framework === 'fetch') return fetchServer(variant, http);
  if (framework === 'koa') return koaServer(variant, http);
  if (framework === 'nest') return nestServer(variant, http);
  throw new Error(`unknown variant ${variant}`);
}

async function expressApp(variant, http) {
  const { default: express } = await import('express');
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  if (variant === 'express-latchkey') {
    const { latchkey } = await import('latchkey/express');
    app.use(latchkey(http));
    app.post('/login', async (req, res) => {
      await req.session.login('bench-user');
      res.send('ok');
    });
    app.get(['/read', '/anon'], async (req, res) => {
      const session = await req.session.load();
      res.send(body(session.userId));
    });
    app.post('/write', (req, res) => {
      req.session.set('n', ++counter);
      res.send('ok');
    });
    return app;
  }
  if (variant === 'express-session') {
    const { default: expressSession } = await import('express-session');
    app.use(
      expressSession({
        secret: 'bench-secret-bench-secret-bench-secret',
        resave: false,
        saveUninitialized: false,
        cookie: { httpOnly: true, sameSite: 'lax', secure: false, maxAge: 12 * 3600 * 1000 },
      }),
    );
    app.post('/login', (req, res, next) => {
      req.session.regenerate((err) => {
        if (err) return next(err);
        req.session.userId = 'bench-user';
        res.send('ok');
      });
    });
    app.get(['/read', '/anon'], (req, res) => res.send(body(req.session.userId)));
    app.post('/write', (req, res) => {
      req.session.n = ++counter;
      res.send('ok');
    });
    return app;
  }
  // What one middleware costs in Express by itself, whatever it does.
  if (variant === 'express-noop') app.use((_req, _res, next) => next());
  app.post('/login', async (_req, res) => res.send('ok'));
  app.get(['/read', '/anon'], async (_req, res) => res.send(body(null)));
  app.post('/write', async (_req, res) => {
    ++counter;
    res.send('ok');
  });
  return app;
}

function send(res, text) {
  res.writeHead(200, { 'content-type': TEXT, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function nodeServer(variant, http) {
  if (variant === 'node-latchkey') {
    const { latchkey } = await import('latchkey/node');
    const withSession = latchkey(http);
    return createServer(
      withSession(async (req, res, session) => {
        if (req.url === '/login') {
          await session.login('bench-user');
          return send(res, 'ok');
        }
        if (req.url === '/write') {
          session.set('n', ++counter);
          return send(res, 'ok');
        }
        await session.load();
        send(res, body(session.userId));
      }),
    );
  }
  return createServer(async (req, res) => {
    if (req.url === '/write') ++counter;
    send(res, req.url === '/login' || req.url === '/write' ? 'ok' : body(null));
  });
}

async function fastifyServer(variant, http) {
  const { default: Fastify } = await import('fastify');
  let server;
  const app = Fastify({
    serverFactory: (handler) => (server = createServer(handler)),
  });
  if (variant === 'fastify-latchkey') {
    const { latchkey } = await import('latchkey/fastify');
    await app.register(latchkey, http);
    app.post('/login', async (request) => {
      await request.session.login('bench-user');
      return 'ok';
    });
    const read = async (request) => body((await request.session.load()).userId);
    app.get('/read', read);
    app.get('/anon', read);
    app.post('/write', async (request) => {
      request.session.set('n', ++counter);
      return 'ok';
    });
  } else if (variant === 'fastify-secure-session') {
    const { default: secureSession } = await import('@fastify/secure-session');
    await app.register(secureSession, { key: randomBytes(32), cookie: { path: '/', httpOnly: true, sameSite: 'lax', secure: false } });
    app.post('/login', async (request) => {
      request.session.set('userId', 'bench-user');
      return 'ok';
    });
    const read = async (request) => body(request.session.get('userId'));
    app.get('/read', read);
    app.get('/anon', read);
    app.post('/write', async (request) => {
      request.session.set('n', ++counter);
      return 'ok';
    });
  } else {
    app.post('/login', async () => 'ok');
    const read = async () => body(null);
    app.get('/read', read);
    app.get('/anon', read);
    app.post('/write', async () => {
      ++counter;
      return 'ok';
    });
  }
  await app.ready();
  return server;
}

async function honoServer(variant, http) {
  const { Hono } = await import('hono');
  const { getRequestListener } = await import('@hono/node-server');
  const app = new Hono();
  if (variant === 'hono-latchkey') {
    const { latchkey } = await import('latchkey/hono');
    app.use(latchkey(http));
    app.post('/login', async (c) => {
      await c.var.session.login('bench-user');
      return c.text('ok');
    });
    const read = async (c) => c.text(body((await c.var.session.load()).userId));
    app.get('/read', read);
    app.get('/anon', read);
    app.post('/write', async (c) => {
      c.var.session.set('n', ++counter);
      return c.text('ok');
    });
  } else {
    app.post('/login', async (c) => c.text('ok'));
    const read = async (c) => c.text(body(null));
    app.get('/read', read);
    app.get('/anon', read);
    app.post('/write', async (c) => {
      ++counter;
      return c.text('ok');
    });
  }
  return createServer(getRequestListener(app.fetch));
}

/** The Fetch adapter, served by @hono/node-server's Node bridge (as a bare Fetch handler is served the same way). */
async function fetchServer(variant, http) {
  const { getRequestListener } = await import('@hono/node-server');
  const text = (t) => new Response(t, { headers: { 'content-type': TEXT } });
  // The path without building a URL: the same cheap parse in both variants.
  const pathOf = (request) => {
    const u = request.url;
    return u.slice(u.indexOf('/', u.indexOf('//') + 2));
  };
  if (variant === 'fetch-latchkey') {
    const { latchkey } = await import('latchkey/fetch');
    const withSession = latchkey({ ...http, remoteAddress: (_request, env) => env?.incoming?.socket?.remoteAddress });
    const handler = withSession(async (request, session) => {
      const path = pathOf(request);
      if (path === '/login') {
        await session.login('bench-user');
        return text('ok');
      }
      if (path === '/write') {
        session.set('n', ++counter);
        return text('ok');
      }
      await session.load();
      return text(body(session.userId));
    });
    return createServer(getRequestListener(handler));
  }
  return createServer(
    getRequestListener(async (request) => {
      const path = pathOf(request);
      if (path === '/write') ++counter;
      return text(path === '/login' || path === '/write' ? 'ok' : body(null));
    }),
  );
}

/** Koa 3, routing on `ctx.path` in one middleware (the same cheap dispatch in both variants). */
async function koaServer(variant, http) {
  const { default: Koa } = await import('koa');
  const app = new Koa();
  if (variant === 'koa-latchkey') {
    const { latchkey } = await import('latchkey/koa');
    app.use(latchkey(http));
    app.use(async (ctx) => {
      if (ctx.path === '/login') {
        await ctx.session.login('bench-user');
        ctx.body = 'ok';
      } else if (ctx.path === '/write') {
        ctx.session.set('n', ++counter);
        ctx.body = 'ok';
      } else {
        ctx.body = body((await ctx.session.load()).userId);
      }
    });
  } else {
    app.use(async (ctx) => {
      if (ctx.path === '/write') ++counter;
      ctx.body = ctx.path === '/login' || ctx.path === '/write' ? 'ok' : body(null);
    });
  }
  return createServer(app.callback());
}

/**
 * NestJS on its Express platform: one controller, its decorators called as
 * functions (plain JavaScript); `@Session()` hands the latchkey variant its
 * session, `LatchkeyModule` puts it there.
 */
async function nestServer(variant, http) {
  await import('reflect-metadata');
  const { Controller, Get, Module, Post } = await import('@nestjs/common');
  const { NestFactory } = await import('@nestjs/core');
  const { ExpressAdapter } = await import('@nestjs/platform-express');
  const nest = variant === 'nest-latchkey' ? await import('latchkey/nest') : null;
  const Routes = class {
    async login(session) {
      await session?.login('bench-user');
      return 'ok';
    }
    async read(session) {
      return body(session === undefined ? null : (await session.load()).userId);
    }
    async anon(session) {
      return this.read(session);
    }
    async write(session) {
      if (session === undefined) ++counter;
      else session.set('n', ++counter);
      return 'ok';
    }
  };
  for (const [method, route] of [['login', Post('login')], ['read', Get('read')], ['anon', Get('anon')], ['write', Post('write')]]) {
    route(Routes.prototype, method, Object.getOwnPropertyDescriptor(Routes.prototype, method));
    if (nest !== null) nest.Session()(Routes.prototype, method, 0);
  }
  Controller()(Routes);
  const AppModule = class {};
  Module({ imports: nest === null ? [] : [nest.LatchkeyModule.forRoot(http)], controllers: [Routes] })(AppModule);
  const app = await NestFactory.create(AppModule, new ExpressAdapter(), { logger: false });
  const instance = app.getHttpAdapter().getInstance();
  instance.disable('x-powered-by');
  instance.disable('etag');
  await app.init();
  return app.getHttpServer();
}
