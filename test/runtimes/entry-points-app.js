/* global Response */
// Every runtime-neutral entry point at work, for the entry points the
// conformance app (examples/shared/fetch-app.js) does not drive: a Hono app on
// latchkey/hono, latchkey/client calling a session service, latchkey/http's
// proxy-header parsing (IP parsing without node:net), and a list of what each
// entry point exports. Served on Node, Bun and Deno by entry-points-server.js
// and on workerd by entry-points-worker.js; test/runtimes/entry-points.test.ts
// drives it and checks every answer against Node's.
//
//   GET  /exports              { [entry point]: its export names, sorted }
//   POST /hono/login           sign in (form field `username`) → 303 to /hono/me
//   GET  /hono/me              { user, visits }; 401 when signed out
//   POST /hono/visit           counts a visit in the session's data → { visits }
//   POST /hono/logout          sign out → 303
//   POST /client/session       { userId } → the service's new session, validated: { token, handle, valid, userId }
//   POST /client/revoke        { handle } → { revoked }
//   POST /http/forwarded       { xff, forwarded } → the hops parseXForwardedFor and parseForwarded read
//
// Everything is constructed at module scope (workerd allows no timer, random
// number or I/O there); the client reads the service's URL and API key from
// the options of createEntryPointsApp.
import { Hono } from 'hono';
import * as core from 'latchkey';
import * as client from 'latchkey/client';
import * as fetchAdapter from 'latchkey/fetch';
import * as hono from 'latchkey/hono';
import * as http from 'latchkey/http';
import * as sealed from 'latchkey/sealed';
import * as memory from 'latchkey/stores/memory';
import * as tokens from 'latchkey/tokens';

/** The runtime-neutral entry points, by name. */
const ENTRIES = {
  latchkey: core,
  'latchkey/client': client,
  'latchkey/fetch': fetchAdapter,
  'latchkey/hono': hono,
  'latchkey/http': http,
  'latchkey/sealed': sealed,
  'latchkey/stores/memory': memory,
  'latchkey/tokens': tokens,
};

/**
 * The app's Fetch handler.
 *
 * @param {{ serviceUrl?: string, apiKey?: string, remoteAddress?: (c: unknown) => string | undefined }} options
 * @returns {(request: Request, ...rest: unknown[]) => Promise<Response>}
 */
export function createEntryPointsApp({ serviceUrl, apiKey, remoteAddress }) {
  const sessions = core.createSessions({ store: memory.memoryStore(), idleTimeout: '30m', absoluteTimeout: '12h' });
  const app = new Hono().basePath('/hono');
  app.use(hono.latchkey({ sessions, ...(remoteAddress === undefined ? {} : { remoteAddress }) }));
  app.post('/login', async (c) => {
    const form = await c.req.parseBody();
    await c.var.session.login(typeof form.username === 'string' ? form.username : 'guest');
    return c.redirect('/hono/me', 303);
  });
  app.get('/me', async (c) => {
    const session = await c.var.session.load();
    session.requireUser();
    return c.json({ user: session.userId, visits: session.get('visits') ?? 0 });
  });
  app.post('/visit', async (c) => {
    const session = await c.var.session.load();
    session.requireUser();
    const visits = Number(session.get('visits') ?? 0) + 1;
    session.set('visits', visits);
    return c.json({ visits });
  });
  app.post('/logout', async (c) => {
    await c.var.session.logout();
    return c.redirect('/hono/me', 303);
  });

  const service = serviceUrl === undefined || apiKey === undefined ? null : client.createClient({ baseUrl: serviceUrl, apiKey });

  return async (request, ...rest) => {
    const { pathname } = new URL(request.url);
    if (pathname.startsWith('/hono/')) return app.fetch(request, ...rest);
    const route = `${request.method} ${pathname}`;
    if (route === 'GET /exports') {
      return Response.json(Object.fromEntries(Object.entries(ENTRIES).map(([name, m]) => [name, Object.keys(m).sort()])));
    }
    if (route === 'POST /http/forwarded') {
      const body = await request.json();
      return Response.json({ xff: http.parseXForwardedFor(body.xff), forwarded: http.parseForwarded(body.forwarded) });
    }
    if (service !== null && route === 'POST /client/session') {
      const body = await request.json();
      const created = await service.createSession({ userId: body.userId, data: { runtime: body.runtime } });
      const checked = await service.validateSession(created.token);
      return Response.json({ token: created.token, handle: created.session.handle, valid: checked.valid, userId: checked.valid ? checked.session.userId : null });
    }
    if (service !== null && route === 'POST /client/revoke') {
      const body = await request.json();
      return Response.json({ revoked: await service.revokeSession(body.handle) });
    }
    return Response.json({ error: 'not-found' }, { status: 404 });
  };
}
