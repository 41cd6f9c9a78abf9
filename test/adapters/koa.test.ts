/**
 * What is particular to Koa: its body parser, its own error answer (which
 * removes every header set before it), middleware that look at the answer
 * after `next()`, and routes that write the response themselves.
 */
import { createServer } from 'node:http';
import bodyParser from '@koa/bodyparser';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/sessions.js';
import { memoryStore } from '../../src/stores/memory.js';
import { latchkey } from '../../src/adapters/koa.js';
import { listen, type Running } from './support/apps.js';
import { call, cookieHeader, cookieValue } from './support/client.js';

let server: Running | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function start(build: (app: Koa) => void): Promise<string> {
  const app = new Koa();
  app.silent = true;
  build(app);
  server = await listen(createServer(app.callback()));
  return server.url;
}

const sessions = createSessions({ store: memoryStore(), sweepInterval: false });

describe.each(['before', 'after'] as const)('Koa with @koa/bodyparser registered %s latchkey', (order) => {
  it('reads the CSRF form field and still hands the parsed form to the route', async () => {
    const url = await start((app) => {
      if (order === 'before') app.use(bodyParser());
      app.use(latchkey({ sessions }));
      if (order === 'after') app.use(bodyParser());
      app.use(async (ctx) => {
        if (ctx.path === '/login') {
          await ctx.session.login('u1');
          ctx.body = { csrf: ctx.session.csrfToken };
        } else {
          ctx.body = { title: (ctx.request.body as Record<string, string>).title };
        }
      });
    });
    const login = await call(url, '/login', { method: 'POST' });
    const cookie = cookieHeader(cookieValue(login.setCookies) as string);
    const sameSite = { 'sec-fetch-site': 'same-site' };
    const ok = await call(url, '/post', { form: { _csrf: login.body.csrf as string, title: 'hello' }, cookie, headers: sameSite });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ title: 'hello' });
    const forged = await call(url, '/post', { form: { title: 'forged' }, cookie, headers: sameSite });
    expect(forged.status).toBe(403);
    expect(forged.body).toMatchObject({ error: 'csrf-token-missing' });
  });
});

describe('the Koa adapter', () => {
  it("answers latchkey's errors through ctx, so that the middleware around it sees the status", async () => {
    const seen: number[] = [];
    const url = await start((app) => {
      app.use(async (ctx, next) => {
        await next();
        seen.push(ctx.status);
      });
      app.use(latchkey({ sessions }));
      app.use(async (ctx) => {
        (await ctx.session.load()).requireUser();
        ctx.body = 'secret';
      });
    });
    const r = await call(url, '/account');
    expect(r.status).toBe(401);
    expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(r.body).toEqual({ error: 'unauthenticated', message: expect.any(String) });
    const refused = await call(url, '/account', { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' }, cookie: '__Host-session=x' });
    expect(refused.status).toBe(403);
    expect(seen).toEqual([401, 403]);
  });

  it("keeps the session's cookie on Koa's own error answer, which removes every header set before it", async () => {
    const url = await start((app) => {
      app.use(latchkey({ sessions }));
      app.use(async (ctx) => {
        await ctx.session.login('teapot');
        ctx.set('x-before', 'removed by Koa');
        ctx.throw(418, 'signed in, then refused');
      });
    });
    const r = await call(url, '/login', { method: 'POST' });
    expect(r.status).toBe(418);
    expect(r.text).toBe('signed in, then refused');
    expect(r.headers.get('x-before')).toBeNull();
    const token = cookieValue(r.setCookies);
    expect(token).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(await sessions.get((token as string).slice(0, 22))).toMatchObject({ userId: 'teapot' });
  });

  it('commits before the first write of a route that writes the response itself (ctx.respond = false)', async () => {
    const url = await start((app) => {
      app.use(latchkey({ sessions }));
      app.use(async (ctx) => {
        ctx.respond = false;
        await ctx.session.login('raw');
        ctx.res.writeHead(200, { 'content-type': 'text/plain' });
        ctx.res.end('written by the route');
      });
    });
    const r = await call(url, '/login', { method: 'POST' });
    expect(r.text).toBe('written by the route');
    expect(cookieValue(r.setCookies)).toMatch(/^[A-Za-z0-9_-]{22}\./);
  });
});
