import { once } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/sessions.js';
import { memoryStore } from '../../src/stores/memory.js';
import { InvalidDataError } from '../../src/core/errors.js';
import { HeadersSentError } from '../../src/http/errors.js';
import { latchkey, tokenGuard } from '../../src/adapters/node.js';
import { manualClock } from '../../src/core/clock.js';
import { createTokenTransport } from '../../src/http/tokens.js';
import { setup } from '../tokens/helpers.js';
import { testStore } from '../adapters/support/store.js';

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

describe('committing before a node:http response', () => {
  it('holds a streamed response until the commit, keeping every chunk in order', async () => {
    const sessions = createSessions({ store: memoryStore(), sweepInterval: false });
    const handler = latchkey({ sessions })((_req, res, session) => {
      session.set('theme', 'dark');
      res.setHeader('content-type', 'text/plain');
      res.write('a');
      res.write('b');
      res.end('c');
    });
    await withServer(handler, async (url) => {
      const res = await fetch(url);
      expect(await res.text()).toBe('abc');
      expect(res.headers.get('content-type')).toBe('text/plain');
      expect(res.headers.getSetCookie()[0]).toMatch(/^__Host-session=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}; Path=\//);
    });
  });

  it('turns the response into a 503 when the commit fails before anything was sent', async () => {
    const store = testStore(memoryStore());
    const sessions = createSessions({ store, sweepInterval: false });
    const handler = latchkey({ sessions })((_req, res, session) => {
      session.set('k', 1);
      store.down = true;
      res.writeHead(200, { 'content-type': 'text/html' }).end('<p>saved</p>');
    });
    await withServer(handler, async (url) => {
      const res = await fetch(url);
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await res.json()).toEqual({ error: 'store-unavailable', message: 'session store unavailable; retry later' });
      expect(res.headers.getSetCookie()).toEqual([]);
    });
  });

  it('holds flushHeaders() too (it goes through writeHead), so that the session cookie goes out with the first headers', async () => {
    const sessions = createSessions({ store: memoryStore(), sweepInterval: false });
    const handler = latchkey({ sessions })((_req, res, session) => {
      session.set('theme', 'dark');
      res.setHeader('content-type', 'text/plain');
      res.flushHeaders();
      setTimeout(() => res.end('streamed'), 10);
    });
    await withServer(handler, async (url) => {
      const res = await fetch(url);
      expect(await res.text()).toBe('streamed');
      expect(res.headers.getSetCookie()[0]).toMatch(/^__Host-session=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}; Path=\/;/);
    });
  });

  it("answers 500 session-not-saved for data the session cannot hold, drops the handler's writes (later ones too) and reports the cause", async () => {
    const reported: unknown[] = [];
    const sessions = createSessions({ store: memoryStore(), sweepInterval: false, maxDataBytes: 100 });
    const handler = latchkey({ sessions, onError: (e) => reported.push(e) })((_req, res, session) => {
      session.set('big', 'x'.repeat(200));
      res.writeHead(200, { 'content-type': 'text/html', 'x-handler': 'yes' }).end('<p>saved</p>');
      // A careless handler writing again after its answer: nowhere, and no crash of the process.
      setTimeout(() => {
        res.write('late');
        res.end();
      }, 20);
    });
    await withServer(handler, async (url) => {
      const res = await fetch(url);
      expect(res.status).toBe(500);
      expect(res.headers.get('x-handler')).toBeNull();
      expect(await res.json()).toEqual({ error: 'session-not-saved', message: 'the session could not be saved' });
      expect(res.headers.getSetCookie()).toEqual([]);
      await new Promise((r) => setTimeout(r, 50));
      expect(reported).toHaveLength(1);
      expect(reported[0]).toBeInstanceOf(InvalidDataError);
    });
  });

  it('refuses a sign-in that finishes after the response started, and reports a cookie a late load() could not clear', async () => {
    const reported: unknown[] = [];
    const refused: unknown[] = [];
    const sessions = createSessions({ store: memoryStore(), sweepInterval: false });
    const handler = latchkey({ sessions, onError: (e) => reported.push(e) })(async (req, res, session) => {
      if (req.url === '/login') {
        // Not awaited: the answer starts while the sign-in is under way.
        const signingIn = session.login('u1').catch((err: unknown) => void refused.push(err));
        res.end('answered');
        await signingIn;
        return;
      }
      res.end('answered');
      await session.load();
    });
    await withServer(handler, async (url) => {
      expect(await (await fetch(`${url}/login`, { method: 'POST' })).text()).toBe('answered');
      await new Promise((r) => setTimeout(r, 20));
      expect(refused).toHaveLength(1);
      expect(refused[0]).toBeInstanceOf(HeadersSentError);
      expect((refused[0] as HeadersSentError).code).toBe('ERR_HEADERS_SENT');
      expect((refused[0] as HeadersSentError).operation).toBe('login()');

      const res = await fetch(url, { headers: { cookie: `__Host-session=${'A'.repeat(22)}.${'B'.repeat(43)}` } });
      expect(await res.text()).toBe('answered');
      expect(res.headers.getSetCookie()).toEqual([]);
      await new Promise((r) => setTimeout(r, 20));
      expect(reported).toHaveLength(1);
      expect(reported[0]).toBeInstanceOf(HeadersSentError);
      expect((reported[0] as HeadersSentError).operation).toBe('load()');
    });
  });

  it('answers a handler error it does not know with a bare 500 and reports it', async () => {
    const reported: unknown[] = [];
    const sessions = createSessions({ store: memoryStore(), sweepInterval: false });
    const handler = latchkey({ sessions, onError: (e) => reported.push(e) })(async () => {
      throw new Error('secret-free failure');
    });
    await withServer(handler, async (url) => {
      const res = await fetch(url);
      expect(res.status).toBe(500);
      expect(await res.text()).toBe('Internal Server Error');
      expect(reported).toHaveLength(1);
    });
  });
});

describe('token mode on node:http', () => {
  it("reports a guarded handler's unknown error to the transport's onError, not the console", async () => {
    const { tokens } = await setup({ clock: manualClock(Date.now()) });
    const reported: unknown[] = [];
    const transport = createTokenTransport({ tokens, onError: (e) => reported.push(e) });
    const handler = tokenGuard(transport)(async () => {
      throw new Error('secret-free failure');
    });
    const pair = await tokens.issue({ userId: 'u1' });
    await withServer(handler, async (url) => {
      const res = await fetch(url, { headers: { authorization: `Bearer ${pair.accessToken}` } });
      expect(res.status).toBe(500);
      expect(reported).toHaveLength(1);
      expect(String(reported[0])).toContain('secret-free failure');
    });
    expect(() => createTokenTransport({ tokens, onError: 'log' as never })).toThrow(/onError must be a function/);
  });
});
