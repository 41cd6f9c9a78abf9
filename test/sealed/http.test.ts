/**
 * Sealed sessions through real HTTP requests: a node:http server that reads
 * the Cookie header and writes Set-Cookie headers, driven by fetch with a
 * small cookie jar, as a browser would.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, serialize } from 'cookie';
import { createSealedSessions, type CookieWrite, type SealedSessions } from '../../src/sealed/index.js';
import { memoryStore } from '../../src/stores/memory.js';

const K1 = 'k1-0123456789abcdef0123456789abcdef';

function app(sealed: SealedSessions): Server {
  return createServer((req, res) => {
    void (async () => {
      const jar = parse(req.headers.cookie ?? '');
      const opened = await sealed.open((name) => jar[name]);
      const writes: CookieWrite[] = [];
      let session = opened.ok ? opened.session : null;
      let changed = opened.ok && opened.reseal !== null;
      if (!opened.ok && opened.chunks > 0) writes.push(...sealed.clear(opened.chunks));
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/login') {
        session = await sealed.login(session, url.searchParams.get('user') ?? 'u1');
        changed = true;
      } else if (url.pathname === '/write' && session !== null) {
        session = sealed.update(session, { set: { note: url.searchParams.get('note') ?? '' } });
        changed = true;
      } else if (url.pathname === '/logout' && session !== null) {
        await sealed.revoke(session);
        writes.push(...sealed.clear(opened.chunks));
        session = null;
      } else if (url.pathname === '/everywhere' && session?.userId != null) {
        session = await sealed.revokeUser(session.userId, { except: session });
        changed = true;
      }
      if (changed && session !== null) writes.push(...(await sealed.seal(session, { previousChunks: opened.chunks })));
      res.setHeader(
        'set-cookie',
        writes.map((w) => serialize(w.name, w.value, { maxAge: w.maxAge, httpOnly: true, path: '/', sameSite: 'lax' })),
      );
      res.end(JSON.stringify({ user: session?.userId ?? null, note: session?.data.note ?? null, reason: opened.ok ? null : opened.reason }));
    })().catch(() => {
      res.statusCode = 503;
      res.end();
    });
  });
}

/** A browser: keeps cookies across requests. */
function browser(base: string) {
  const jar = new Map<string, string>();
  return {
    jar,
    async get(path: string): Promise<{ user: string | null; note: string | null; reason: string | null }> {
      const res = await fetch(base + path, { headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
      for (const line of res.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const eq = (pair as string).indexOf('=');
        const name = (pair as string).slice(0, eq);
        const value = (pair as string).slice(eq + 1);
        if (/max-age=0/i.test(line)) jar.delete(name);
        else jar.set(name, value);
      }
      return (await res.json()) as { user: string | null; note: string | null; reason: string | null };
    },
  };
}

let server: Server | null = null;
afterEach(() => {
  server?.close();
  server = null;
});

async function start(sealed: SealedSessions): Promise<string> {
  server = app(sealed);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('sealed sessions over HTTP', () => {
  it('signs in, keeps data across requests, and spans several cookies when the data grows', async () => {
    const base = await start(createSealedSessions({ secrets: [K1], cookieName: 'sid', maxCookieBytes: 1000, maxTotalBytes: 6000, maxChunks: 6, revocable: false }));
    const b = browser(base);
    expect(await b.get('/')).toEqual({ user: null, note: null, reason: 'missing' });
    expect((await b.get('/login?user=alice')).user).toBe('alice');
    expect(await b.get('/')).toEqual({ user: 'alice', note: null, reason: null });
    const note = 'n'.repeat(2500);
    await b.get(`/write?note=${note}`);
    expect([...b.jar.keys()].length).toBeGreaterThan(1);
    expect((await b.get('/')).note).toBe(note);
    await b.get('/write?note=short');
    expect([...b.jar.keys()]).toEqual(['sid']);
    expect((await b.get('/')).note).toBe('short');
  });

  it('logs out at once, and a saved copy of the cookie no longer opens', async () => {
    const base = await start(createSealedSessions({ secrets: [K1], cookieName: 'sid', store: memoryStore() }));
    const b = browser(base);
    await b.get('/login?user=bob');
    const stolen = new Map(b.jar);
    await b.get('/logout');
    expect(b.jar.size).toBe(0);
    const thief = browser(base);
    for (const [k, v] of stolen) thief.jar.set(k, v);
    expect(await thief.get('/')).toEqual({ user: null, note: null, reason: 'revoked' });
    expect(thief.jar.size).toBe(0);
  });

  it('logs a user out everywhere but the device that asked', async () => {
    const base = await start(createSealedSessions({ secrets: [K1], cookieName: 'sid', store: memoryStore() }));
    const laptop = browser(base);
    const phone = browser(base);
    await laptop.get('/login?user=carol');
    await phone.get('/login?user=carol');
    await laptop.get('/everywhere');
    expect((await laptop.get('/')).user).toBe('carol');
    expect((await phone.get('/')).reason).toBe('revoked');
  });

  it('refuses a tampered cookie and deletes it', async () => {
    const base = await start(createSealedSessions({ secrets: [K1], cookieName: 'sid', revocable: false }));
    const b = browser(base);
    await b.get('/login');
    const value = b.jar.get('sid') as string;
    b.jar.set('sid', value.slice(0, 40) + (value[40] === 'A' ? 'B' : 'A') + value.slice(41));
    expect(await b.get('/')).toEqual({ user: null, note: null, reason: 'invalid' });
    expect(b.jar.has('sid')).toBe(false);
  });
});
