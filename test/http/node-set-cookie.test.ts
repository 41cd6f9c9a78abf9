import { once } from 'node:events';
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express5 from 'express';
import express4 from 'express4';
import { describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/sessions.js';
import { memoryStore } from '../../src/stores/memory.js';
import { latchkey as nodeLatchkey } from '../../src/adapters/node.js';
import { latchkey as expressLatchkey } from '../../src/adapters/express.js';

const SESSION_COOKIE = /^__Host-session=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}; Path=\//;

async function withServer(listener: RequestListener, fn: (url: string) => Promise<void>): Promise<void> {
  const server = createServer(listener);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

/** The cookies of a response, by name (`name=value; attributes`), and the session cookie apart. */
function cookiesOf(res: Response): { session: string[]; others: string[] } {
  const all = res.headers.getSetCookie();
  return { session: all.filter((c) => c.startsWith('__Host-session=')), others: all.filter((c) => !c.startsWith('__Host-session=')) };
}

/** A node:http app whose handler writes a session change, then answers with `respond`. */
function nodeApp(respond: (res: ServerResponse) => void): RequestListener {
  const sessions = createSessions({ store: memoryStore(), sweepInterval: false });
  return nodeLatchkey({ sessions })((_req, res, session) => {
    session.set('theme', 'dark');
    respond(res);
  });
}

describe("the session cookie beside the application's own cookies on node:http", () => {
  it("keeps latchkey's session cookie when the application passes its own Set-Cookie to writeHead()", async () => {
    const app = nodeApp((res) => res.writeHead(201, 'Made', { 'Set-Cookie': 'app=1; Path=/', 'content-type': 'text/plain' }).end('ok'));
    await withServer(app, async (url) => {
      const res = await fetch(url);
      expect(res.status).toBe(201);
      expect(res.statusText).toBe('Made');
      expect(res.headers.get('content-type')).toBe('text/plain');
      expect(await res.text()).toBe('ok');
      const { session, others } = cookiesOf(res);
      expect(others).toEqual(['app=1; Path=/']);
      expect(session).toHaveLength(1);
      expect(session[0]).toMatch(SESSION_COOKIE);
    });
  });

  it("keeps every cookie of a writeHead() given raw header pairs, and latchkey's", async () => {
    const app = nodeApp((res) => res.writeHead(200, ['Set-Cookie', 'a=1; Path=/', 'Set-Cookie', 'b=2; Path=/', 'Content-Type', 'text/plain']).end('ok'));
    await withServer(app, async (url) => {
      const res = await fetch(url);
      const { session, others } = cookiesOf(res);
      expect(others).toEqual(['a=1; Path=/', 'b=2; Path=/']);
      expect(session[0]).toMatch(SESSION_COOKIE);
      expect(res.headers.get('content-type')).toBe('text/plain');
    });
  });

  it("keeps the application's cookies set with setHeader() before the response, beside latchkey's", async () => {
    const app = nodeApp((res) => {
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
      res.end('ok');
    });
    await withServer(app, async (url) => {
      const { session, others } = cookiesOf(await fetch(url));
      expect(others).toEqual(['a=1; Path=/', 'b=2; Path=/']);
      expect(session[0]).toMatch(SESSION_COOKIE);
    });
  });

  it("lets writeHead()'s Set-Cookie replace the application's earlier one, as node:http does, and still adds latchkey's", async () => {
    const app = nodeApp((res) => {
      res.setHeader('set-cookie', 'early=1; Path=/');
      res.writeHead(200, { 'set-cookie': ['late=2; Path=/'] }).end('ok');
    });
    await withServer(app, async (url) => {
      const { session, others } = cookiesOf(await fetch(url));
      expect(others).toEqual(['late=2; Path=/']);
      expect(session[0]).toMatch(SESSION_COOKIE);
    });
  });

  it('keeps a response that sets the session cookie out of caches even when writeHead() asks for caching', async () => {
    const app = nodeApp((res) => res.writeHead(200, { 'cache-control': 'public, max-age=600' }).end('ok'));
    await withServer(app, async (url) => {
      const res = await fetch(url);
      expect(cookiesOf(res).session[0]).toMatch(SESSION_COOKIE);
      expect(res.headers.get('cache-control')).toBe('no-store');
    });
  });

  it('still refuses a writeHead() with invalid headers at the call, as node:http does', async () => {
    let thrown: unknown = null;
    const app = nodeApp((res) => {
      try {
        res.writeHead(200, { 'bad header': 'x' });
      } catch (err) {
        thrown = err;
      }
      res.end('after');
    });
    await withServer(app, async (url) => {
      const res = await fetch(url);
      expect(await res.text()).toBe('after');
      expect(cookiesOf(res).session[0]).toMatch(SESSION_COOKIE);
    });
    expect((thrown as NodeJS.ErrnoException | null)?.code).toBe('ERR_INVALID_HTTP_TOKEN');
  });
});

describe.each([
  ['Express 5', express5],
  ['Express 4', express4 as unknown as typeof express5],
])("the session cookie beside the application's own cookies on %s", (_name, express) => {
  function expressApp(respond: (res: ServerResponse & { cookie(name: string, value: string): unknown }) => void): RequestListener {
    const sessions = createSessions({ store: memoryStore(), sweepInterval: false });
    const app = express();
    app.use(expressLatchkey({ sessions }));
    app.get('/', (req, res) => {
      req.session.set('theme', 'dark');
      respond(res);
    });
    return app as unknown as (req: IncomingMessage, res: ServerResponse) => void;
  }

  it("keeps latchkey's session cookie when a route passes its own Set-Cookie to writeHead()", async () => {
    await withServer(
      expressApp((res) => res.writeHead(200, { 'set-cookie': 'app=1; Path=/' }).end('ok')),
      async (url) => {
        const { session, others } = cookiesOf(await fetch(url));
        expect(others).toEqual(['app=1; Path=/']);
        expect(session[0]).toMatch(SESSION_COOKIE);
      },
    );
  });

  it("keeps a cookie set with res.cookie() beside latchkey's", async () => {
    await withServer(
      expressApp((res) => {
        res.cookie('app', '1');
        res.end('ok');
      }),
      async (url) => {
        const { session, others } = cookiesOf(await fetch(url));
        expect(others).toEqual(['app=1; Path=/']);
        expect(session[0]).toMatch(SESSION_COOKIE);
      },
    );
  });
});
