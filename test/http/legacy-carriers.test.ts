import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/sessions.js';
import { ConfigError } from '../../src/core/errors.js';
import { memoryStore } from '../../src/stores/memory.js';
import { createHttpSessions, type HttpSessionsOptions } from '../../src/http/http-sessions.js';
import { latchkey } from '../../src/adapters/node.js';

async function serve(options: HttpSessionsOptions): Promise<{ url: string; server: Server }> {
  const server = createServer(
    latchkey(options)(async (req, res, session) => {
      await session.load();
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/login') await session.login('u1');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ userId: session.userId, token: session.token, csrf: session.csrfToken }));
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('legacy carriers (URL parameter and hidden form field)', () => {
  const sessions = createSessions({ store: memoryStore(), sweepInterval: false });
  let url = '';
  let server: Server;
  beforeAll(async () => {
    ({ url, server } = await serve({ sessions, carriers: ['url', 'form'], onError: () => {} }));
  });
  afterAll(() => {
    server.close();
  });

  it('hands the new token to the application instead of a cookie, with no-referrer and no-store', async () => {
    const res = await fetch(`${url}/login`, { method: 'POST' });
    const body = (await res.json()) as { token: string; userId: string };
    expect(body.userId).toBe('u1');
    expect(body.token).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('reads the token from the URL parameter and from the form field', async () => {
    const { token } = (await (await fetch(`${url}/login`, { method: 'POST' })).json()) as { token: string };
    const viaUrl = await fetch(`${url}/page?session=${token}`);
    expect(((await viaUrl.json()) as { userId: string }).userId).toBe('u1');
    expect(viaUrl.headers.get('referrer-policy')).toBe('no-referrer');
    const viaForm = await fetch(`${url}/page`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ session: token }).toString(),
    });
    expect(((await viaForm.json()) as { userId: string }).userId).toBe('u1');
    expect(viaForm.headers.get('cache-control')).toBe('no-store');
  });
});

describe('the double-submit cookie for SPAs', () => {
  it('publishes the CSRF token in a script-readable cookie next to the session cookie', async () => {
    const sessions = createSessions({ store: memoryStore(), sweepInterval: false });
    const { url, server } = await serve({ sessions, csrf: { cookie: true } });
    try {
      const res = await fetch(`${url}/login`, { method: 'POST', headers: { 'sec-fetch-site': 'same-origin' } });
      const { csrf } = (await res.json()) as { csrf: string };
      const cookies = res.headers.getSetCookie();
      expect(cookies).toHaveLength(2);
      expect(cookies[1]).toBe(`__Host-csrf=${csrf}; Path=/; Secure; SameSite=Lax`);
    } finally {
      server.close();
    }
  });
});

describe('HTTP configuration', () => {
  const sessions = createSessions({ store: memoryStore(), sweepInterval: false });
  it.each<[string, Partial<HttpSessionsOptions>]>([
    ['an engine that is not one', { sessions: {} as never }],
    ['Secure off without the development flag', { cookie: { secure: false } }],
    ['SameSite=None without Secure', { cookie: { sameSite: 'none', secure: false, name: 'sid' }, development: true }],
    ['a __Host- cookie with a Domain', { cookie: { name: '__Host-sid', domain: 'example.com' } }],
    ['an unprefixed cookie name', { cookie: { name: 'sid' } }],
    ['an unknown carrier', { carriers: ['query' as never] }],
    ['a malformed trusted proxy', { trustProxy: ['10.0.0.0/99'] }],
  ])('refuses %s at construction', (_label, opts) => {
    expect(() => createHttpSessions({ sessions, ...opts })).toThrow(ConfigError);
  });
});
