/**
 * One token-mode application (a guarded API, sign-in with and without the
 * transport's DPoP-aware `issueTokens()`, refresh and logout),
 * written once per adapter with its token exports, each on a real listening
 * server.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express5, { type RequestHandler } from 'express';
import express4 from 'express4';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createAdaptorServer } from '@hono/node-server';
import Koa, { type Middleware } from 'koa';
import type { TokenTransport } from '../../../src/http/tokens.js';
import type { Tokens } from '../../../src/tokens/tokens.js';
import * as ex from '../../../src/adapters/express.js';
import * as fa from '../../../src/adapters/fastify.js';
import * as ho from '../../../src/adapters/hono.js';
import * as fe from '../../../src/adapters/fetch.js';
import * as no from '../../../src/adapters/node.js';
import * as ko from '../../../src/adapters/koa.js';
import { listen, type AdapterName, type Running } from './apps.js';
import { startNestTokens } from './nest-apps.js';

/** Where the logout endpoint lives: under the refresh cookie's path, so that browsers send it the cookie. */
export const LOGOUT = '/auth/refresh/logout';

const user = (url: string): string => new URL(url, 'http://x').searchParams.get('user') ?? 'alice';

/** Starts the token application on a real server through the named adapter. */
export async function startTokens(adapter: AdapterName, transport: TokenTransport, tokens: Tokens): Promise<Running> {
  switch (adapter) {
    case 'express5':
    case 'express4': {
      const factory = (adapter === 'express5' ? express5 : express4) as unknown as typeof express5;
      const a = factory();
      // Express 4 gets body parsers (the fields come from req.body); Express 5 none (latchkey reads the stream).
      if (adapter === 'express4') a.use(factory.json(), factory.urlencoded({ extended: false }));
      const claims: RequestHandler = (req, res) => void res.json({ claims: req.token });
      a.get('/api/me', ex.tokenGuard(transport), claims);
      a.post('/api/me', ex.tokenGuard(transport), claims);
      a.get('/api/live', ex.tokenGuard(transport, { checkSession: true }), claims);
      a.get('/api/admin', ex.tokenGuard(transport, { scope: 'admin' }), claims);
      a.post('/auth/login', (req, res, next) => {
        tokens.issue({ userId: user(req.url) }).then((pair) => ex.sendTokens(res, transport, pair), next);
      });
      a.post('/auth/dpop-login', (req, res, next) => {
        ex.issueTokens(req, res, transport, { userId: user(req.url) }).catch(next);
      });
      a.post('/auth/refresh', ex.tokenRefresh(transport));
      a.post(LOGOUT, ex.tokenLogout(transport));
      a.use(ex.errorHandler());
      return listen(createServer(a));
    }
    case 'fastify': {
      const f = Fastify();
      // What @fastify/formbody (or the latchkey plugin) provides.
      f.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(body as string)));
      });
      const claims = async (request: { token: unknown }) => ({ claims: request.token });
      f.get('/api/me', { preHandler: fa.tokenGuard(transport) }, claims);
      f.post('/api/me', { preHandler: fa.tokenGuard(transport) }, claims);
      f.get('/api/live', { preHandler: fa.tokenGuard(transport, { checkSession: true }) }, claims);
      f.get('/api/admin', { preHandler: fa.tokenGuard(transport, { scope: 'admin' }) }, claims);
      f.post('/auth/login', async (request, reply) => fa.sendTokens(reply, transport, await tokens.issue({ userId: user(request.url) })));
      f.post('/auth/dpop-login', async (request, reply) => fa.issueTokens(request, reply, transport, { userId: user(request.url) }));
      f.post('/auth/refresh', fa.tokenRefresh(transport));
      f.post(LOGOUT, fa.tokenLogout(transport));
      await f.listen({ port: 0, host: '127.0.0.1' });
      const { port } = f.server.address() as AddressInfo;
      return { url: `http://127.0.0.1:${port}`, close: () => f.close() };
    }
    case 'hono': {
      const h = new Hono<ho.TokenEnv>();
      h.get('/api/me', ho.tokenGuard(transport), (c) => c.json({ claims: c.var.token }));
      h.post('/api/me', ho.tokenGuard(transport), (c) => c.json({ claims: c.var.token }));
      h.get('/api/live', ho.tokenGuard(transport, { checkSession: true }), (c) => c.json({ claims: c.var.token }));
      h.get('/api/admin', ho.tokenGuard(transport, { scope: 'admin' }), (c) => c.json({ claims: c.var.token }));
      h.post('/auth/login', async (c) => ho.sendTokens(transport, await tokens.issue({ userId: user(c.req.url) })));
      h.post('/auth/dpop-login', (c) => ho.issueTokens(c, transport, { userId: user(c.req.url) }));
      h.post('/auth/refresh', ho.tokenRefresh(transport));
      h.post(LOGOUT, ho.tokenLogout(transport));
      return listen(createAdaptorServer({ fetch: h.fetch }) as Server);
    }
    case 'fetch': {
      const claims = (_request: Request, token: unknown) => Response.json({ claims: token });
      const me = fe.tokenGuard(transport)(claims);
      const live = fe.tokenGuard(transport, { checkSession: true })(claims);
      const admin = fe.tokenGuard(transport, { scope: 'admin' })(claims);
      const refresh = fe.tokenRefresh(transport, {
        remoteAddress: ((_req: Request, env: { incoming: { socket: { remoteAddress?: string } } }) => env.incoming.socket.remoteAddress) as never,
      });
      const logout = fe.tokenLogout(transport);
      const route = async (request: Request, env: unknown): Promise<Response> => {
        const path = new URL(request.url).pathname;
        if (path === '/api/me') return me(request);
        if (path === '/api/live') return live(request);
        if (path === '/api/admin') return admin(request);
        if (path === '/auth/login') return fe.sendTokens(transport, await tokens.issue({ userId: user(request.url) }));
        if (path === '/auth/dpop-login') return fe.issueTokens(request, transport, { userId: user(request.url) });
        if (path === '/auth/refresh') return refresh(request, env);
        if (path === LOGOUT) return logout(request);
        return new Response('not found', { status: 404 });
      };
      return listen(createAdaptorServer({ fetch: route }) as Server);
    }
    case 'node': {
      const claims = (_req: IncomingMessage, res: ServerResponse, token: unknown): void => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ claims: token }));
      };
      const me = no.tokenGuard(transport)(claims);
      const live = no.tokenGuard(transport, { checkSession: true })(claims);
      const admin = no.tokenGuard(transport, { scope: 'admin' })(claims);
      const refresh = no.tokenRefresh(transport);
      const logout = no.tokenLogout(transport);
      return listen(
        createServer((req, res) => {
          const path = new URL(req.url ?? '/', 'http://x').pathname;
          if (path === '/api/me') return me(req, res);
          if (path === '/api/live') return live(req, res);
          if (path === '/api/admin') return admin(req, res);
          if (path === '/auth/refresh') return refresh(req, res);
          if (path === '/auth/dpop-login') return void no.issueTokens(req, res, transport, { userId: user(req.url ?? '/') });
          if (path === LOGOUT) return logout(req, res);
          if (path === '/auth/login') {
            tokens.issue({ userId: user(req.url ?? '/') }).then((pair) => no.sendTokens(res, transport, pair));
            return;
          }
          res.statusCode = 404;
          res.end();
        }),
      );
    }
    case 'koa': {
      // No router, no body parser: each route is a middleware chain of its own, the refresh body read by latchkey.
      const claims: Middleware = (ctx) => void (ctx.body = { claims: ctx.token });
      const chain = (...mw: Middleware[]): Middleware => (ctx, next) => {
        const run = (i: number): Promise<void> => (i === mw.length ? next() : Promise.resolve(mw[i]!(ctx, () => run(i + 1))));
        return run(0);
      };
      const routes: Record<string, Middleware> = {
        'GET /api/me': chain(ko.tokenGuard(transport), claims),
        'POST /api/me': chain(ko.tokenGuard(transport), claims),
        'GET /api/live': chain(ko.tokenGuard(transport, { checkSession: true }), claims),
        'GET /api/admin': chain(ko.tokenGuard(transport, { scope: 'admin' }), claims),
        'POST /auth/login': async (ctx) => ko.sendTokens(ctx, transport, await tokens.issue({ userId: user(ctx.url) })),
        'POST /auth/dpop-login': (ctx) => ko.issueTokens(ctx, transport, { userId: user(ctx.url) }),
        'POST /auth/refresh': ko.tokenRefresh(transport),
        [`POST ${LOGOUT}`]: ko.tokenLogout(transport),
      };
      const k = new Koa();
      k.use((ctx, next) => routes[`${ctx.method} ${ctx.path}`]?.(ctx, next) ?? next());
      return listen(createServer(k.callback()));
    }
    case 'nest-express':
    case 'nest-fastify':
      return startNestTokens(adapter, transport, tokens, LOGOUT);
  }
}
