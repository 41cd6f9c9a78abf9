import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import bodyParser from '@koa/bodyparser';
import express from 'express';
import Fastify from 'fastify';
import formbody from '@fastify/formbody';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/sessions.js';
import { memoryStore } from '../../src/stores/memory.js';
import type { HttpSessionsOptions } from '../../src/http/http-sessions.js';
import { latchkey as fastifyLatchkey } from '../../src/adapters/fastify.js';
import { latchkey as expressLatchkey } from '../../src/adapters/express.js';
import { latchkey as koaLatchkey } from '../../src/adapters/koa.js';

interface Running {
  url: string;
  close(): Promise<void>;
}

/** Fastify with latchkey's own URL-encoded parser, or with @fastify/formbody registered before it. */
async function startFastify(options: HttpSessionsOptions, withFormbody: boolean): Promise<Running> {
  const app = Fastify();
  if (withFormbody) await app.register(formbody);
  await app.register(fastifyLatchkey, options);
  app.post('/login', async (request) => {
    await request.session.login('u1');
    return { token: request.session.token, csrf: request.session.csrfToken };
  });
  app.post('/me', async (request) => {
    const session = await request.session.load();
    return { userId: session.userId, carrier: session.carrier };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
}

/** Express with express.json() and express.urlencoded() before latchkey. */
async function startExpress(options: HttpSessionsOptions): Promise<Running> {
  const app = express();
  app.use(express.json());
  app.use(express.urlencoded({ extended: false }));
  app.use(expressLatchkey(options));
  app.post('/login', (req, res, next) => {
    req.session.login('u1').then(() => res.json({ token: req.session.token, csrf: req.session.csrfToken }), next);
  });
  app.post('/me', (req, res, next) => {
    req.session.load().then((s) => res.json({ userId: s.userId, carrier: s.carrier }), next);
  });
  const server = createServer(app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** Koa with @koa/bodyparser (JSON and forms) before latchkey. */
async function startKoa(options: HttpSessionsOptions): Promise<Running> {
  const app = new Koa();
  app.silent = true;
  app.use(bodyParser());
  app.use(koaLatchkey(options));
  app.use(async (ctx) => {
    if (ctx.path === '/login') {
      await ctx.session.login('u1');
      ctx.body = { token: ctx.session.token, csrf: ctx.session.csrfToken };
    } else {
      const session = await ctx.session.load();
      ctx.body = { userId: session.userId, carrier: session.carrier };
    }
  });
  const server = createServer(app.callback()).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

const FORM = 'application/x-www-form-urlencoded';

function post(url: string, contentType: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'sec-fetch-site': 'same-site', 'content-type': contentType, ...headers }, body });
}

describe.each([
  ['Fastify with its URL-encoded parser', (o: HttpSessionsOptions) => startFastify(o, false)],
  ['Fastify with @fastify/formbody', (o: HttpSessionsOptions) => startFastify(o, true)],
  ['Express with express.json() and express.urlencoded()', startExpress],
  ['Koa with @koa/bodyparser', startKoa],
])('form fields from the request body on %s', (_name, start) => {
  let formCarrier: Running;
  let cookies: Running;
  beforeAll(async () => {
    formCarrier = await start({ sessions: createSessions({ store: memoryStore(), sweepInterval: false }), carriers: ['form'], onError: () => {} });
    cookies = await start({ sessions: createSessions({ store: memoryStore(), sweepInterval: false }), onError: () => {} });
  });
  afterAll(async () => {
    await formCarrier.close();
    await cookies.close();
  });

  async function formToken(): Promise<string> {
    const login = await post(`${formCarrier.url}/login`, FORM, 'x=1');
    return ((await login.json()) as { token: string }).token;
  }

  it('reads the form carrier’s token from a URL-encoded body, with or without a charset', async () => {
    const token = await formToken();
    for (const type of [FORM, `${FORM}; charset=UTF-8`]) {
      const res = await post(`${formCarrier.url}/me`, type, new URLSearchParams({ x: '1', session: token }).toString());
      expect(await res.json()).toEqual({ userId: 'u1', carrier: 'form' });
    }
  });

  it('takes no token for the form carrier from a JSON body: it is not a form', async () => {
    const token = await formToken();
    const res = await post(`${formCarrier.url}/me`, 'application/json', JSON.stringify({ session: token }));
    expect(await res.json()).toEqual({ userId: null, carrier: null });
  });

  it('checks the CSRF field of a URL-encoded body, and takes none from a JSON body', async () => {
    const login = await post(`${cookies.url}/login`, FORM, 'x=1', { 'sec-fetch-site': 'same-origin' });
    const { csrf } = (await login.json()) as { csrf: string };
    const cookie = (login.headers.getSetCookie()[0] ?? '').split(';')[0] as string;
    const form = await post(`${cookies.url}/me`, FORM, new URLSearchParams({ _csrf: csrf }).toString(), { cookie });
    expect(form.status).toBe(200);
    expect(await form.json()).toEqual({ userId: 'u1', carrier: 'cookie' });
    const wrong = await post(`${cookies.url}/me`, FORM, new URLSearchParams({ _csrf: 'x'.repeat(43) }).toString(), { cookie });
    expect(wrong.status).toBe(403);
    const json = await post(`${cookies.url}/me`, 'application/json', JSON.stringify({ _csrf: csrf }), { cookie });
    expect(json.status).toBe(403);
    expect(((await json.json()) as { error: string }).error).toBe('csrf-token-missing');
    const header = await post(`${cookies.url}/me`, 'application/json', '{}', { cookie, 'x-csrf-token': csrf });
    expect(header.status).toBe(200);
  });
});
