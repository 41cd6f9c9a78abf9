/**
 * One tiny application, written once against the request-scoped session and
 * mounted in every adapter, each on a real listening server.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express5 from 'express';
import express4 from 'express4';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createAdaptorServer } from '@hono/node-server';
import Koa from 'koa';
import type { HttpSessionsOptions } from '../../../src/http/http-sessions.js';
import type { RequestSession } from '../../../src/http/request-session.js';
import { latchkey as expressLatchkey, errorHandler } from '../../../src/adapters/express.js';
import { latchkey as fastifyLatchkey } from '../../../src/adapters/fastify.js';
import { latchkey as honoLatchkey, type LatchkeyEnv } from '../../../src/adapters/hono.js';
import { latchkey as fetchLatchkey } from '../../../src/adapters/fetch.js';
import { latchkey as nodeLatchkey } from '../../../src/adapters/node.js';
import { latchkey as koaLatchkey } from '../../../src/adapters/koa.js';
import { startNest } from './nest-apps.js';

export type AdapterName = 'express5' | 'express4' | 'fastify' | 'hono' | 'fetch' | 'node' | 'koa' | 'nest-express' | 'nest-fastify';
export const ADAPTERS: AdapterName[] = ['express5', 'express4', 'fastify', 'hono', 'fetch', 'node', 'koa', 'nest-express', 'nest-fastify'];

export interface Result {
  status: number;
  body: unknown;
  /** Headers the handler sets with its framework's usual API. */
  headers?: Record<string, string>;
}

function view(session: RequestSession): Record<string, unknown> {
  return {
    handle: session.handle,
    userId: session.userId,
    authLevel: session.authLevel,
    data: session.info?.data ?? {},
    csrf: session.csrfToken,
    invalid: session.invalidReason,
    carrier: session.carrier,
    token: session.carrier === 'cookie' ? undefined : session.token,
  };
}

/** Requests held in a route until the test lets them go on (`/held`), by gate id. */
const gates = new Map<string, { arrive(): void; released: Promise<void> }>();

/**
 * A gate for `/held?gate=<id>`: `arrived` resolves once the request has
 * loaded its session and waits; `release()` lets it go on.
 */
export function holdGate(id: string): { arrived: Promise<void>; release(): void } {
  let arrive = (): void => {};
  let release = (): void => {};
  const arrived = new Promise<void>((resolve) => (arrive = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  gates.set(id, { arrive, released });
  return { arrived, release };
}

/** Sessions of answered `/late` requests, by id: a later request changes them (`/late-change`). */
const answered = new Map<string, RequestSession>();

/** The application: the same routes for every adapter. */
export async function app(session: RequestSession, path: string, query: URLSearchParams): Promise<Result> {
  switch (path) {
    case '/health':
      return { status: 200, body: { ok: true } };
    case '/client':
      // The client address the HTTP layer resolved (through trustProxy and the forwarding header).
      return { status: 200, body: { ip: session.client.ip ?? null } };
    case '/me':
    case '/form':
      await session.load();
      return { status: 200, body: view(session) };
    case '/login':
      // `level`: the authentication level as the application passes it (a number, else 1).
      await session.login(query.get('user') ?? 'alice', { authLevel: query.has('level') ? Number(query.get('level')) : 1 });
      // A careless handler: a response carrying a new session cookie must not be cached whatever it says.
      return { status: 200, body: view(session), headers: { 'cache-control': 'private, max-age=60' } };
    case '/logout':
      await session.logout();
      return { status: 200, body: { ok: true } };
    case '/logout-everywhere':
      return { status: 200, body: { revoked: await session.logoutEverywhere() } };
    case '/set':
      session.set(query.get('key') ?? 'k', query.get('value'));
      return { status: 200, body: { ok: true } };
    case '/rotate':
      await session.rotate({ reauthenticated: true, ...(query.has('level') ? { authLevel: Number(query.get('level')) } : {}) });
      return { status: 200, body: view(session) };
    case '/sensitive':
      await session.load();
      session.requireFresh('5m');
      return { status: 200, body: view(session) };
    case '/held': {
      // A slow request: it loads the session, waits for the test, then writes.
      await session.load();
      const gate = gates.get(query.get('gate') ?? '');
      if (gate === undefined) return { status: 404, body: { error: 'no-gate' } };
      gate.arrive();
      await gate.released;
      session.set(query.get('key') ?? 'k', query.get('value'));
      return { status: 200, body: { ok: true } };
    }
    case '/unset-many': {
      // Removes `count` keys (k0, k1, ...) and sets `after`: one patch with a long unset list.
      await session.load();
      for (let i = 0; i < Number(query.get('count') ?? 0); i++) session.unset(`k${i}`);
      session.set('after', true);
      return { status: 200, body: { ok: true } };
    }
    case '/set-big':
      // A value the session cannot hold: over maxDataBytes, or over the sealed cookie budget.
      session.set('big', 'x'.repeat(Number(query.get('bytes') ?? 0)));
      return { status: 200, body: { ok: true } };
    case '/visit': {
      await session.load();
      session.set('visits', Number(session.get('visits') ?? 0) + 1);
      // Read when the adapter serialises the answer: on node:http, after writeHead(), while the commit runs.
      return { status: 200, body: { get visits() { return session.get('visits'); } } };
    }
    case '/late':
      // Answers now; `/late-change` changes this request's session once its response has gone out.
      await session.load();
      if (query.get('dirty') === '1') session.set('early', true);
      answered.set(query.get('id') ?? '', session);
      return { status: 200, body: { ok: true } };
    case '/late-change': {
      const late = answered.get(query.get('id') ?? '');
      if (late === undefined) return { status: 404, body: { error: 'no-such-request' } };
      try {
        late.set('late', true);
        return { status: 200, body: { refused: null } };
      } catch (err) {
        return { status: 200, body: { refused: (err as { code?: unknown }).code ?? String(err) } };
      }
    }
    default:
      return { status: 404, body: { error: 'not-found' } };
  }
}

const ROUTES = ['/health', '/client', '/me', '/form', '/login', '/logout', '/logout-everywhere', '/set', '/rotate', '/sensitive', '/held'];
/** Routes of the end-of-request scenarios (a save that fails, reads during the commit, changes after the answer). */
const FINISH_ROUTES = ['/set-big', '/unset-many', '/visit', '/late', '/late-change'];

export function split(url: string): { path: string; query: URLSearchParams } {
  const u = new URL(url, 'http://x');
  return { path: u.pathname, query: u.searchParams };
}

export interface Running {
  url: string;
  close(): Promise<void>;
}

export async function listen(server: Server): Promise<Running> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Starts the application on a real server through the named adapter. */
export async function start(adapter: AdapterName, options: HttpSessionsOptions): Promise<Running> {
  switch (adapter) {
    case 'express5':
    case 'express4': {
      const factory = (adapter === 'express5' ? express5 : express4) as unknown as typeof express5;
      const a = factory();
      a.use(factory.urlencoded({ extended: false }));
      a.use(expressLatchkey(options));
      for (const route of [...ROUTES, ...FINISH_ROUTES]) {
        a.all(route, (req, res, next) => {
          // Express 4 does not catch rejected promises: pass them on explicitly.
          app(req.session, req.path, split(req.url).query).then((r) => res.set(r.headers ?? {}).status(r.status).json(r.body), next);
        });
      }
      a.use(errorHandler());
      return listen(createServer(a));
    }
    case 'fastify': {
      const f = Fastify();
      await f.register(fastifyLatchkey, options);
      f.all('/*', async (request, reply) => {
        const { path, query } = split(request.url);
        const r = await app(request.session, path, query);
        return reply.code(r.status).headers(r.headers ?? {}).send(r.body);
      });
      await f.listen({ port: 0, host: '127.0.0.1' });
      const { port } = f.server.address() as AddressInfo;
      return { url: `http://127.0.0.1:${port}`, close: () => f.close() };
    }
    case 'hono': {
      const h = new Hono<LatchkeyEnv>();
      h.use(honoLatchkey(options));
      h.all('*', async (c) => {
        const { path, query } = split(c.req.url);
        const r = await app(c.var.session, path, query);
        return c.json(r.body, r.status as 200, r.headers);
      });
      return listen(createAdaptorServer({ fetch: h.fetch }) as Server);
    }
    case 'fetch': {
      const withSession = fetchLatchkey({
        ...options,
        remoteAddress: (_req: Request, env: { incoming: { socket: { remoteAddress?: string } } }) => env.incoming.socket.remoteAddress,
      } as Parameters<typeof fetchLatchkey>[0]);
      const handler = withSession(async (request, session) => {
        const { path, query } = split(request.url);
        const r = await app(session, path, query);
        return Response.json(r.body, { status: r.status, headers: r.headers });
      });
      return listen(createAdaptorServer({ fetch: handler as (req: Request) => Promise<Response> }) as Server);
    }
    case 'node': {
      const withSession = nodeLatchkey(options);
      return listen(
        createServer(
          withSession(async (req, res, session) => {
            const { path, query } = split(req.url ?? '/');
            const r = await app(session, path, query);
            for (const [name, value] of Object.entries(r.headers ?? {})) res.setHeader(name, value);
            res.writeHead(r.status, { 'content-type': 'application/json' });
            // Serialised after writeHead(), as examples/node does: reads then must still see this request's writes.
            res.end(JSON.stringify(r.body));
          }),
        ),
      );
    }
    case 'koa': {
      const k = new Koa();
      // No body parser: latchkey reads a form's CSRF field from the stream itself (koa.test.ts covers @koa/bodyparser).
      k.use(koaLatchkey(options));
      k.use(async (ctx) => {
        const { path, query } = split(ctx.url);
        const r = await app(ctx.session, path, query);
        ctx.status = r.status;
        for (const [name, value] of Object.entries(r.headers ?? {})) ctx.set(name, value);
        // Serialised by Koa once the chain has run: reads then must still see this request's writes.
        ctx.body = r.body;
      });
      return listen(createServer(k.callback()));
    }
    case 'nest-express':
    case 'nest-fastify':
      return startNest(adapter, options);
  }
}
