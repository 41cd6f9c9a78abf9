/**
 * DBSC (Device Bound Session Credentials) through every adapter, on real
 * listening servers, driven by a browser-like client written with `jose`
 * (test/support/dbsc-client.ts): the sign-in offers registration, the HTTP
 * layer answers the registration and refresh endpoints, the key lands in
 * the session record, and from then on the session cookie alone signs no
 * one in. What an attacker holding copied cookies can and cannot do is
 * checked at each step, with the events it leaves.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BoundProofFailedEvent, DeviceBoundEvent } from '../../src/core/bound-events.js';
import { manualClock } from '../../src/core/clock.js';
import { DEVICE_BINDING_KEY } from '../../src/core/model.js';
import { createSessions } from '../../src/core/sessions.js';
import { memoryStore } from '../../src/stores/memory.js';
import { dbscClient, fakeChallenge, type DbscClient } from '../support/dbsc-client.js';
import { ADAPTERS, start, type Running } from './support/apps.js';

const SECRET = randomBytes(32);

describe.each(ADAPTERS)('DBSC through the %s adapter', (adapter) => {
  const clock = manualClock();
  const store = memoryStore({ clock });
  const sessions = createSessions({ store, clock, idleTimeout: '2h', absoluteTimeout: '12h', sweepInterval: false });
  const bound: DeviceBoundEvent[] = [];
  const refused: BoundProofFailedEvent[] = [];
  sessions.on('device-bound', (e) => bound.push(e));
  sessions.on('anomaly', (e) => {
    if (e.kind === 'bound-proof-failed') refused.push(e);
  });
  let server: Running;
  let url = '';

  beforeAll(async () => {
    server = await start(adapter, { sessions, trustProxy: ['127.0.0.1'], onError: () => {}, dbsc: { secret: SECRET, cookie: { ttl: '10m' } } });
    url = server.url;
  });
  afterAll(async () => {
    await server.close();
    await sessions.close();
    await store.close();
  });
  beforeEach(() => {
    bound.length = 0;
    refused.length = 0;
  });

  /** `/me` as the client sees it, with its jar or with `cookie` in its place. */
  async function me(client: DbscClient, cookie?: string) {
    const reply = await client.request(`${url}/me`, cookie === undefined ? {} : { headers: { cookie } });
    return { status: reply.status, body: JSON.parse(reply.text) as { userId: string | null; handle: string | null; invalid: string | null }, setCookies: reply.headers.getSetCookie() };
  }

  async function signedIn(user = 'alice', form: 'bare' | 'quoted' = 'bare'): Promise<DbscClient> {
    const client = await dbscClient('ES256', { form });
    const login = await client.request(`${url}/login?user=${user}`);
    expect(login.status).toBe(200);
    return client;
  }

  async function registered(user = 'alice', form: 'bare' | 'quoted' = 'bare'): Promise<DbscClient> {
    const client = await signedIn(user, form);
    expect((await client.register(url)).status).toBe(200);
    return client;
  }

  const sessionCookie = (client: DbscClient) => `__Host-session=${client.jar.get('__Host-session')}`;
  const bothCookies = (client: DbscClient) => `${sessionCookie(client)}; __Host-bound=${client.jar.get('__Host-bound')}`;

  it('offers registration at sign-in, and keeps the registered key in the session record, answering the instructions with the bound cookie and no-store', async () => {
    const client = await signedIn();
    expect(client.offer).toMatchObject({ algorithms: ['ES256', 'RS256'], path: '/auth/dbsc/register' });
    expect(client.offer?.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const reply = await client.register(url);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(reply.headers.getSetCookie().find((c) => c.startsWith('__Host-bound='))).toMatch(/^__Host-bound=[A-Za-z0-9_-]{39}; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    expect(client.instructions).toEqual({
      session_identifier: client.sessionId,
      refresh_url: '/auth/dbsc/refresh',
      scope: { include_site: false },
      credentials: [{ type: 'cookie', name: '__Host-bound', attributes: 'Path=/; Secure; HttpOnly; SameSite=Lax' }],
    });
    const handle = (await me(client)).body.handle!;
    const record = await store.get(handle);
    expect(record?.data[DEVICE_BINDING_KEY]).toMatchObject({ id: client.sessionId, alg: 'ES256', jkt: client.jkt, jwk: { kty: 'EC', crv: 'P-256', x: client.publicJwk.x, y: client.publicJwk.y } });
    expect(bound).toEqual([{ handle, userId: 'alice', protocol: 'dbsc', sessionIdentifier: client.sessionId, alg: 'ES256', jkt: client.jkt, at: clock.now() }]);
    expect((await sessions.list('alice')).find((d) => d.handle === handle)?.deviceBound).toBe(true);
  });

  it('gives a copied session cookie alone no access once the session is bound, without clearing it; the bound cookie holds until it expires', async () => {
    const client = await registered('bob');
    expect((await me(client)).body.userId).toBe('bob');
    const copied = await me(client, sessionCookie(client));
    expect(copied.body).toMatchObject({ userId: null, handle: null, invalid: 'bound-cookie-invalid' });
    expect(copied.setCookies).toEqual([]);
    expect((await me(client, `${sessionCookie(client)}; __Host-bound=${'A'.repeat(39)}`)).body.userId).toBeNull();
    clock.advance('10m');
    expect((await me(client)).body).toMatchObject({ userId: null, invalid: 'bound-cookie-invalid' });
  });

  it('keeps a session that never registers a plain cookie session', async () => {
    const client = await signedIn('carol');
    expect((await me(client)).body.userId).toBe('carol');
    const handle = (await me(client)).body.handle!;
    expect((await sessions.list('carol')).find((d) => d.handle === handle)?.deviceBound).toBe(false);
  });

  it('refreshes with the registered key: at once with the challenge sent ahead, through a 403 challenge without one, a new bound cookie value each time', async () => {
    const client = await registered('dave', 'quoted');
    const values = [client.jar.get('__Host-bound')];
    clock.advance('9m');
    const first = await client.refresh(url);
    expect(first.map((r) => r.status)).toEqual([200]);
    expect(first[0]!.headers.get('cache-control')).toBe('no-store');
    values.push(client.jar.get('__Host-bound'));
    client.cachedChallenge = null;
    const second = await client.refresh(url);
    expect(second.map((r) => r.status)).toEqual([403, 200]);
    expect(second[0]!.headers.get('secure-session-challenge')).toMatch(new RegExp(`^"[A-Za-z0-9_-]{43}";id="${client.sessionId}"$`));
    values.push(client.jar.get('__Host-bound'));
    expect(new Set(values).size).toBe(3);
    clock.advance('5m');
    expect((await me(client)).body.userId).toBe('dave');
    expect(refused).toEqual([]);
  });

  it('refuses a refresh proof of another key, and a second key even from someone holding both cookies, reporting each', async () => {
    const victim = await registered('erin');
    const handle = (await me(victim)).body.handle!;
    const thief = await dbscClient('ES256');
    thief.jar.set('__Host-session', victim.jar.get('__Host-session')!);
    // Both cookies copied: a second registration, with the thief's own key, is refused.
    const jwt = await thief.proof({ jti: fakeChallenge() }, { withKey: true });
    const second = await thief.request(`${url}/auth/dbsc/register`, { method: 'POST', headers: { cookie: bothCookies(victim), 'secure-session-response': jwt } });
    expect(second.status).toBe(403);
    expect(second.headers.getSetCookie()).toEqual([]);
    // A refresh signed by the thief's key over a live challenge of the session: 403 and a new challenge, no cookie.
    const forged = await thief.proof({ jti: victim.cachedChallenge });
    const refresh = await thief.request(`${url}/auth/dbsc/refresh`, {
      method: 'POST',
      headers: { cookie: sessionCookie(victim), 'sec-secure-session-id': victim.sessionId!, 'secure-session-response': forged },
    });
    expect(refresh.status).toBe(403);
    expect(refresh.headers.getSetCookie()).toEqual([]);
    expect(refused.map((e) => [e.reason, e.handle, e.userId, e.protocol])).toEqual([
      ['second-key', handle, 'erin', 'dbsc'],
      ['bad-signature', handle, 'erin', 'dbsc'],
    ]);
    expect(refused[0]!.ip).toBe('127.0.0.1');
    // The record still holds the victim's key only, and the victim still refreshes.
    expect((await store.get(handle))?.data[DEVICE_BINDING_KEY]).toMatchObject({ jkt: victim.jkt });
    expect((await victim.refresh(url)).at(-1)?.status).toBe(200);
  });

  it('takes each challenge once, and only for the session it was issued to', async () => {
    const a = await registered('frank');
    const b = await registered('grace');
    // A proof over b's challenge, signed by a's key, presented for a: refused, and b's challenge is spent.
    const foreign = await a.proof({ jti: b.cachedChallenge });
    const r = await a.request(`${url}/auth/dbsc/refresh`, { method: 'POST', headers: { 'sec-secure-session-id': a.sessionId!, 'secure-session-response': foreign } });
    expect(r.status).toBe(403);
    expect(refused.map((e) => e.reason)).toEqual(['foreign-challenge']);
    // A proof replayed after it was used: a new challenge, no cookie.
    const proof = await a.proof({ jti: a.cachedChallenge });
    const send = () => a.request(`${url}/auth/dbsc/refresh`, { method: 'POST', headers: { 'sec-secure-session-id': a.sessionId!, 'secure-session-response': proof } });
    expect((await send()).status).toBe(200);
    const replay = await send();
    expect(replay.status).toBe(403);
    expect(replay.headers.getSetCookie()).toEqual([]);
  });

  it('keeps the binding across rotation: the new session cookie needs the same bound cookie, and refreshes with the same key', async () => {
    const client = await registered('heidi');
    const before = client.jar.get('__Host-session');
    const rotated = await client.request(`${url}/rotate`);
    expect(rotated.status).toBe(200);
    expect(client.jar.get('__Host-session')).not.toBe(before);
    expect((await me(client)).body.userId).toBe('heidi');
    expect((await me(client, sessionCookie(client))).body.userId).toBeNull();
    const handle = (await me(client)).body.handle!;
    expect((await store.get(handle))?.data[DEVICE_BINDING_KEY]).toMatchObject({ id: client.sessionId, jkt: client.jkt });
    client.cachedChallenge = null;
    expect((await client.refresh(url)).map((r) => r.status)).toEqual([403, 200]);
    expect((await me(client)).body.userId).toBe('heidi');
  });

  it.each(['/logout', '/logout-everywhere', 'revoke'])('ends the DBSC session with the session (%s): the bound cookie is dropped and the refresh answers continue:false', async (how) => {
    const client = await registered(`ivan-${how.replace(/\W/g, '')}`);
    const id = client.sessionId;
    if (how === 'revoke') {
      expect(await sessions.revoke((await me(client)).body.handle!)).toBe(true);
    } else {
      const out = await client.request(`${url}${how}`);
      expect(out.status).toBe(200);
      expect(out.headers.getSetCookie().some((c) => /^__Host-bound=; Max-Age=0;/.test(c))).toBe(true);
      expect(client.jar.has('__Host-bound')).toBe(false);
    }
    const replies = await client.refresh(url);
    expect(replies.map((r) => r.status)).toEqual([200]);
    expect(JSON.parse(replies[0]!.text)).toEqual({ session_identifier: id, continue: false });
    expect(client.sessionId).toBeNull();
  });

  it('refuses a registration without a session, and answers registration and refresh only to POST', async () => {
    const client = await dbscClient('ES256');
    const jwt = await client.proof({ jti: fakeChallenge() }, { withKey: true });
    const r = await client.request(`${url}/auth/dbsc/register`, { method: 'POST', headers: { 'secure-session-response': jwt } });
    expect(r.status).toBe(401);
    expect(r.headers.get('cache-control')).toBe('no-store');
    // GET goes to the application (its 404 here), not to DBSC.
    expect((await client.request(`${url}/auth/dbsc/refresh`)).status).toBe(404);
  });
});
