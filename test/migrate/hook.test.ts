/**
 * The `migrate` option of the shared HTTP layer: every adapter hands old
 * sessions over without code of its own, a request without an old cookie
 * never reaches a migrator, an unsafe request is handed over only where
 * latchkey would accept it, and bad configurations are refused at once.
 * The old sessions are express-session's, in its MemoryStore, signed with
 * the cookie-signature package as express-session signs them.
 */
import { randomBytes } from 'node:crypto';
import { sign } from 'cookie-signature';
import session from 'express-session';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { createSessions } from '../../src/core/sessions.js';
import { createHttpSessions } from '../../src/http/http-sessions.js';
import type { SessionMigrator } from '../../src/http/migration.js';
import { createMigrator, expressSession } from '../../src/migrate/index.js';
import { createSealedSessions } from '../../src/sealed/sealed-sessions.js';
import { memoryStore } from '../../src/stores/memory.js';
import { ADAPTERS, start, type Running } from '../adapters/support/apps.js';
import { call, cookieValue } from '../adapters/support/client.js';
import { mapOld } from './support/apps.js';

const SECRET = 'the old express-session secret';
const HANDOVER_KEY = randomBytes(32);
const oldStore = new session.MemoryStore();
const store = memoryStore();
const sessions = createSessions({ store });
const counts = { claims: 0 };
const migrator = expressSession({ store: oldStore, secret: SECRET, handoverKey: HANDOVER_KEY, map: mapOld });
const counted: SessionMigrator = {
  cookieNames: migrator.cookieNames,
  claim(request, context) {
    counts.claims++;
    return migrator.claim(request, context);
  },
};
const options = { sessions, development: true, cookie: { secure: false }, migrate: [counted] };
const servers: Running[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await sessions.close();
  await store.close();
});

/** An express-session session in the old store; resolves its cookie as a browser sends it. */
async function oldSession(data: Record<string, unknown>): Promise<{ sid: string; cookie: string }> {
  const sid = randomBytes(18).toString('base64url');
  await new Promise<void>((resolve, reject) => oldStore.set(sid, { cookie: { path: '/', httpOnly: true, originalMaxAge: null }, ...data }, (err) => (err ? reject(err) : resolve())));
  return { sid, cookie: `connect.sid=${encodeURIComponent(`s:${sign(sid, SECRET)}`)}` };
}

const exists = (sid: string): Promise<boolean> => new Promise((resolve) => oldStore.get(sid, (_err, s) => resolve(s != null)));

describe.each(ADAPTERS)('the migrate option through %s', (adapter) => {
  it('hands a signed-in express-session session over on the first request', async () => {
    const server = await start(adapter, options);
    servers.push(server);
    const { sid, cookie } = await oldSession({ passport: { user: `user-${adapter}` }, theme: 'dark' });
    const r = await call(server.url, '/me', { cookie });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ userId: `user-${adapter}`, data: { theme: 'dark' }, carrier: null });
    const token = cookieValue(r.setCookies, 'session');
    expect(token).toMatch(/^[\w-]{22}\.[\w-]{43}$/);
    expect(r.setCookies.find((l) => l.startsWith('connect.sid='))).toMatch(/Max-Age=0/i);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(await exists(sid)).toBe(false);
    const after = await call(server.url, '/me', { cookie: `session=${token}` });
    expect(after.body).toMatchObject({ userId: `user-${adapter}`, handle: r.body.handle, carrier: 'cookie' });
  });
});

describe('the migrate option and record kinds', () => {
  it("hands over into the engine's own kind, whose tokens that engine alone honours", async () => {
    const app = createSessions({ store, kind: 'app' });
    const server = await start('hono', { ...options, sessions: app });
    servers.push(server);
    try {
      const { cookie } = await oldSession({ passport: { user: 'kim' } });
      const r = await call(server.url, '/me', { cookie });
      expect(r.body).toMatchObject({ userId: 'kim' });
      const token = cookieValue(r.setCookies, 'session') as string;
      expect((await app.list('kim')).map((s) => s.kind)).toEqual(['app']);
      expect((await app.validate(token)).ok).toBe(true);
      expect(await sessions.validate(token)).toMatchObject({ ok: false, reason: 'unknown' });
    } finally {
      await app.close();
    }
  });
});

describe('the migrate option and CSRF', () => {
  it('hands over a same-origin unsafe request, refuses a cross-site one and leaves one that would need a CSRF token alone', async () => {
    const server = await start('express5', options);
    servers.push(server);
    const { sid, cookie } = await oldSession({ passport: { user: 'grace' } });

    const crossSite = await call(server.url, '/me', { method: 'POST', cookie, headers: { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' } });
    expect(crossSite.status).toBe(403);
    expect(crossSite.body.error).toBe('csrf-cross-site');
    expect(await exists(sid)).toBe(true);

    // An old browser sending neither Fetch Metadata nor Origin: latchkey would ask for a token that no page of the new session ever showed.
    const noToken = await call(server.url, '/me', { method: 'POST', cookie, headers: { 'no-fetch-metadata': '1' } });
    expect(noToken.status).toBe(200);
    expect(noToken.body).toMatchObject({ userId: null, handle: null });
    expect(noToken.setCookies).toEqual([]);
    expect(await exists(sid)).toBe(true);

    const sameOrigin = await call(server.url, '/me', { method: 'POST', cookie });
    expect(sameOrigin.body).toMatchObject({ userId: 'grace' });
    expect(sameOrigin.body.csrf).toEqual(expect.any(String));
    expect(await exists(sid)).toBe(false);
  });
});

describe('the cost of the migrate option', () => {
  it('never reaches a migrator for a request without an old cookie or with a latchkey credential', async () => {
    const server = await start('node', options);
    servers.push(server);
    counts.claims = 0;
    await call(server.url, '/me');
    await call(server.url, '/me', { cookie: 'theme=dark; connect.side=1; xconnect.sid=2' });
    const login = await call(server.url, '/login?user=henry', { method: 'POST' });
    const token = cookieValue(login.setCookies, 'session') as string;
    const { sid, cookie } = await oldSession({ passport: { user: 'ivy' } });
    const both = await call(server.url, '/me', { cookie: `session=${token}; ${cookie}` });
    expect(both.body.userId).toBe('henry');
    expect(counts.claims).toBe(0);
    expect(await exists(sid)).toBe(true);
    await call(server.url, '/me', { cookie });
    expect(counts.claims).toBe(1);
  });
});

describe('configuration of the migrate option', () => {
  it('is refused, with what to do, where it cannot keep its promise', () => {
    const sealed = createSealedSessions({ secrets: randomBytes(32), store });
    expect(() => createHttpSessions({ sealed, migrate: [migrator] })).toThrow(/migrate needs stateful sessions/);
    expect(() => createHttpSessions({ sessions, carriers: ['bearer'], migrate: [migrator] })).toThrow(/add 'cookie' to carriers/);
    expect(() => createHttpSessions({ sessions, migrate: [{ cookieNames: ['x'] } as unknown as SessionMigrator] })).toThrow(/migrate\[0\] must be a migrator/);
    expect(() => createHttpSessions({ sessions, migrate: migrator as unknown as SessionMigrator[] })).toThrow(/migrate must be an array/);
    expect(() => createHttpSessions({ sessions, cookie: { name: 'connect.sid' }, development: true, migrate: [migrator] })).toThrow(/latchkey's own session cookie/);
    expect(() => createHttpSessions({ sessions, migrate: [migrator, migrator] })).toThrow(/read by two migrators/);
  });

  it('refuses a weak hand-over key, a long grace window, unknown keys and a store express-session could not have used', () => {
    const base = { store: oldStore, secret: SECRET, handoverKey: HANDOVER_KEY, map: mapOld };
    expect(() => expressSession({ ...base, handoverKey: 'short' })).toThrow(ConfigError);
    expect(() => expressSession({ ...base, handoverKey: 'short' })).toThrow(/handoverKey\[0\] is 5 bytes/);
    expect(() => expressSession({ ...base, graceWindow: '2m' })).toThrow(/at most 1 minute/);
    expect(() => expressSession({ ...base, secrets: SECRET } as never)).toThrow(/secrets/);
    expect(() => expressSession({ ...base, store: {} as never })).toThrow(/store must be the express-session store/);
    expect(() => expressSession({ ...base, secret: [] })).toThrow(/secret must be express-session's secret/);
    expect(() => createMigrator({ source: { name: 'x', cookies: [], verify: () => null, read: async () => null }, map: mapOld, handoverKey: HANDOVER_KEY })).toThrow(/at least one cookie/);
    const kept = { name: 'x', cookies: [{ name: 'x' }], verify: () => null, read: async () => null };
    expect(() => createMigrator({ source: { ...kept, remove: async () => {}, remember: '1d' }, map: mapOld, handoverKey: HANDOVER_KEY })).toThrow(/remember is for a source without remove/);
    expect(() => createMigrator({ source: { ...kept, remember: 'soon' }, map: mapOld, handoverKey: HANDOVER_KEY })).toThrow(/source.remember must be a duration/);
  });
});
