import { once } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/sessions.js';
import { memoryStore } from '../../src/stores/memory.js';
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
