// The remote backend (`remote: createClient(...)`) through a real listening
// session service and a real listening server of every adapter (node:http,
// Fetch, Hono, Express 4 and 5, Fastify, Koa, Nest on both platforms), side
// by side with the engine in this process: the same flows must set the same
// cookies and answer the same errors. Failures of the service and the
// option's checks: remote-backend-failures.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LatchkeyClient } from '../../src/client/index.js';
import type { Sessions } from '../../src/core/sessions.js';
import type { HttpSessionsOptions } from '../../src/http/http-sessions.js';
import { ADAPTERS, holdGate, type AdapterName } from '../adapters/support/apps.js';
import { call, cookieHeader, cookieValue, type Call, type Reply } from '../adapters/support/client.js';
import { freshIp, freshUser, shape, startRemote, withServers as withServersOf, type RemoteContext } from './support/remote-service.js';

const TOKEN = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/;

let ctx: RemoteContext;
let latchkey: LatchkeyClient;
let engine: Sessions;

beforeAll(async () => {
  ctx = await startRemote('remote-backend-test');
  ({ latchkey, engine } = ctx);
});

afterAll(async () => {
  await ctx?.close();
});

const withServers = <T>(adapter: AdapterName, extra: Partial<HttpSessionsOptions>, run: (remote: string, local: string) => Promise<T>): Promise<T> =>
  withServersOf(ctx, adapter, extra, run);

describe.each<AdapterName>(ADAPTERS)('the remote backend on the %s adapter', (adapter) => {
  it('signs in, reads, writes, rotates and signs out through the service with the cookies and headers the engine sets', async () => {
    await withServers(adapter, {}, async (remote, local) => {
      const flow = async (url: string): Promise<{ replies: Reply[]; tokens: string[] }> => {
        const ip = freshIp();
        const user = freshUser();
        const req = (path: string, c: Call = {}): Promise<Reply> => call(url, path, { ip, headers: { 'user-agent': 'Remote/1.0' }, ...c });
        const replies: Reply[] = [];
        const tokens: string[] = [];
        // An anonymous write creates a session; sign-in rotates it, keeping its data.
        replies.push(await req('/set?key=cart&value=sku-1', { method: 'POST' }));
        tokens.push(cookieValue(replies[0]!.setCookies) as string);
        replies.push(await req(`/login?user=${user}`, { method: 'POST', cookie: cookieHeader(tokens[0]!) }));
        tokens.push(cookieValue(replies[1]!.setCookies) as string);
        replies.push(await req('/me', { cookie: cookieHeader(tokens[1]!) }));
        replies.push(await req('/me', { cookie: cookieHeader(tokens[0]!) }));
        replies.push(await req('/rotate', { method: 'POST', cookie: cookieHeader(tokens[1]!), headers: { 'x-csrf-token': String(replies[2]!.body.csrf), 'user-agent': 'Remote/1.0' } }));
        tokens.push(cookieValue(replies[4]!.setCookies) as string);
        replies.push(await req('/logout', { method: 'POST', cookie: cookieHeader(tokens[2]!), headers: { 'x-csrf-token': String(replies[4]!.body.csrf), 'user-agent': 'Remote/1.0' } }));
        replies.push(await req('/me', { cookie: cookieHeader(tokens[2]!) }));
        return { replies, tokens };
      };
      const [r, l] = [await flow(remote), await flow(local)];
      for (const t of r.tokens) expect(t).toMatch(TOKEN);
      expect(new Set(r.tokens).size).toBe(3);
      // The same statuses, Set-Cookie lines (but the tokens), caching and Clear-Site-Data answers as the engine's.
      const seen = (f: { replies: Reply[] }) =>
        f.replies.map((x) => ({ status: x.status, cookies: x.setCookies.map(shape), cache: x.headers.get('cache-control'), clear: x.headers.get('clear-site-data') }));
      expect(seen(r)).toEqual(seen(l));
      const [, login, me, stale, rotated, , after] = r.replies;
      expect(login!.body).toMatchObject({ userId: expect.stringMatching(/^remote-/), authLevel: 1, data: { cart: 'sku-1' } });
      expect(me!.body).toMatchObject({ userId: login!.body.userId, handle: login!.body.handle, data: { cart: 'sku-1' }, invalid: null });
      // The anonymous token died at sign-in (fixation defence); the signed-in one at rotation; the last at sign-out.
      expect(stale!.body).toMatchObject({ userId: null, invalid: 'revoked' });
      expect(rotated!.body).toMatchObject({ userId: login!.body.userId, data: { cart: 'sku-1' } });
      expect(after!.body).toMatchObject({ userId: null, invalid: 'revoked' });
      for (const t of r.tokens) expect(await latchkey.validateSession(t)).toEqual({ valid: false, reason: 'revoked' });
    });
  });

  it("signs out everywhere: every session of the user ends at the service, and the count is the service's", async () => {
    await withServers(adapter, {}, async (remote) => {
      const ip = freshIp();
      const user = freshUser();
      const a = cookieValue((await call(remote, `/login?user=${user}`, { method: 'POST', ip })).setCookies) as string;
      const b = cookieValue((await call(remote, `/login?user=${user}`, { method: 'POST', ip })).setCookies) as string;
      const me = await call(remote, '/me', { ip, cookie: cookieHeader(a) });
      const out = await call(remote, '/logout-everywhere', { method: 'POST', ip, cookie: cookieHeader(a), headers: { 'x-csrf-token': String(me.body.csrf) } });
      expect(out.body).toEqual({ revoked: 2 });
      expect(await latchkey.listUserSessions(user)).toEqual([]);
      expect((await call(remote, '/me', { ip, cookie: cookieHeader(b) })).body).toMatchObject({ userId: null, invalid: 'revoked' });
    });
  });

  it('never adopts a planted token, refuses a malformed one without a call, and clears both cookies', async () => {
    await withServers(adapter, {}, async (remote, local) => {
      const ip = freshIp();
      const planted = `${'A'.repeat(22)}.${'B'.repeat(43)}`;
      const plantedReplies = [await call(remote, '/me', { ip, cookie: cookieHeader(planted) }), await call(local, '/me', { ip, cookie: cookieHeader(planted) })];
      expect(plantedReplies[0]!.body).toMatchObject({ handle: null, invalid: 'unknown' });
      expect(plantedReplies[0]!.setCookies).toEqual(plantedReplies[1]!.setCookies);
      const login = await call(remote, '/login?user=planted', { method: 'POST', ip, cookie: cookieHeader(planted) });
      expect(cookieValue(login.setCookies)).not.toBe(planted);
      expect(cookieValue(login.setCookies)).toMatch(TOKEN);
      const garbage = await call(remote, '/me', { ip, cookie: cookieHeader('not-a-token') });
      expect(garbage.body).toMatchObject({ handle: null, invalid: 'malformed' });
    });
  });

  it("checks CSRF with the session token's derived token, as the engine does: a form POST passes with it and is refused without it", async () => {
    await withServers(adapter, {}, async (remote) => {
      const ip = freshIp();
      const token = cookieValue((await call(remote, '/login?user=former', { method: 'POST', ip })).setCookies) as string;
      const me = await call(remote, '/me', { ip, cookie: cookieHeader(token) });
      const without = await call(remote, '/form', { ip, cookie: cookieHeader(token), form: { x: '1' }, headers: { 'sec-fetch-site': 'same-site' } });
      expect({ status: without.status, error: without.body.error }).toEqual({ status: 403, error: 'csrf-token-missing' });
      const withToken = await call(remote, '/form', { ip, cookie: cookieHeader(token), form: { _csrf: String(me.body.csrf) }, headers: { 'sec-fetch-site': 'same-site' } });
      expect(withToken.status).toBe(200);
      const crossSite = await call(remote, '/set?key=a&value=b', { method: 'POST', ip, cookie: cookieHeader(token), headers: { 'sec-fetch-site': 'cross-site' } });
      expect({ status: crossSite.status, error: crossSite.body.error }).toEqual({ status: 403, error: 'csrf-cross-site' });
    });
  });

  it("sends the client's IP (through the trusted proxy) and user agent to the service", async () => {
    await withServers(adapter, {}, async (remote) => {
      const user = freshUser();
      await call(remote, `/login?user=${user}`, { method: 'POST', ip: '203.0.113.77', headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0' } });
      const [device] = await latchkey.listUserSessions(user);
      expect(device).toMatchObject({ ip: '203.0.113.77', device: { browser: 'Firefox', os: 'Linux' } });
    });
  });

  it('refuses a session revoked at the service on its next request, and a step-up rotation makes it fresh', async () => {
    await withServers(adapter, {}, async (remote) => {
      const ip = freshIp();
      const login = await call(remote, '/login?user=stepper', { method: 'POST', ip });
      const token = cookieValue(login.setCookies) as string;
      expect((await call(remote, '/sensitive', { ip, cookie: cookieHeader(token) })).status).toBe(200);
      expect(await latchkey.revokeSession(String(login.body.handle))).toBe(true);
      const after = await call(remote, '/me', { ip, cookie: cookieHeader(token) });
      expect(after.body).toMatchObject({ userId: null, invalid: 'revoked' });
      expect(after.setCookies.map(shape)).toEqual(['__Host-session=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax']);
    });
  });

  it('forgets a session revoked at the service while a request writing to it was in flight, clearing its cookie as the engine does', async () => {
    await withServers(adapter, {}, async (remote, local) => {
      const run = async (url: string, revoke: (handle: string) => Promise<unknown>, gateId: string): Promise<Reply> => {
        const ip = freshIp();
        const login = await call(url, '/login?user=inflight', { method: 'POST', ip });
        const token = cookieValue(login.setCookies) as string;
        const gate = holdGate(gateId);
        const held = call(url, `/held?gate=${gateId}&key=late&value=1`, { method: 'POST', ip, cookie: cookieHeader(token), headers: { 'x-csrf-token': String(login.body.csrf) } });
        await gate.arrived;
        await revoke(String(login.body.handle));
        gate.release();
        return held;
      };
      const r = await run(remote, (h) => latchkey.revokeSession(h), `remote-${adapter}`);
      const l = await run(local, (h) => engine.revoke(h), `local-${adapter}`);
      expect({ status: r.status, cookies: r.setCookies.map(shape) }).toEqual({ status: l.status, cookies: l.setCookies.map(shape) });
      expect(r.setCookies.map(shape)).toEqual(['__Host-session=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax']);
    });
  });

  it("takes the authentication levels the engine takes at sign-in and step-up, and refuses the engine's bad ones with the engine's answer, never a 503", async () => {
    const reported: unknown[] = [];
    await withServers(adapter, { onError: (e) => reported.push(e) }, async (remote, local) => {
      const ip = freshIp();
      const user = freshUser();
      const both = async (path: string, token?: [string, string]): Promise<Reply[]> =>
        Promise.all([remote, local].map((url, i) => call(url, path, { method: 'POST', ip, ...(token === undefined ? {} : { cookie: cookieHeader(token[i]!) }) })));
      // Over the service's former bound of 1000, up to the largest safe integer: taken as the engine takes them.
      const signedIn = await both(`/login?user=${user}&level=5000`);
      const [r, l] = signedIn as [Reply, Reply];
      expect({ status: r.status, authLevel: r.body.authLevel, cookies: r.setCookies.map(shape) }).toEqual({ status: l.status, authLevel: l.body.authLevel, cookies: l.setCookies.map(shape) });
      expect(r.body.authLevel).toBe(5000);
      const tokens = signedIn.map((reply) => cookieValue(reply.setCookies) as string) as [string, string];
      const csrf = await Promise.all([remote, local].map(async (url, i) => String((await call(url, '/me', { ip, cookie: cookieHeader(tokens[i]!) })).body.csrf)));
      const stepUp = await Promise.all(
        [remote, local].map((url, i) => call(url, `/rotate?level=${Number.MAX_SAFE_INTEGER}`, { method: 'POST', ip, cookie: cookieHeader(tokens[i]!), headers: { 'x-csrf-token': csrf[i]! } })),
      );
      expect({ status: stepUp[0]!.status, authLevel: stepUp[0]!.body.authLevel }).toEqual({ status: stepUp[1]!.status, authLevel: stepUp[1]!.body.authLevel });
      expect(stepUp[0]!.body.authLevel).toBe(Number.MAX_SAFE_INTEGER);
      // Not a level at all (fractional, negative, past the safe integers): the engine's typed error and status.
      for (const level of ['1.5', '-1', '9007199254740993']) {
        const [bad, good] = (await both(`/login?user=${user}&level=${level}`)) as [Reply, Reply];
        expect({ status: bad.status, body: bad.body, cookies: bad.setCookies }).toEqual({ status: good.status, body: good.body, cookies: good.setCookies });
        expect(bad.status).not.toBe(503);
      }
      expect(reported.filter((e) => (e as { code?: string }).code === 'ERR_SERVICE')).toEqual([]);
    });
  });

  it('removes more than a thousand keys in one request as the engine does', async () => {
    await withServers(adapter, {}, async (remote, local) => {
      const ip = freshIp();
      const replies = await Promise.all(
        [remote, local].map(async (url) => {
          const login = await call(url, '/login?user=tidy', { method: 'POST', ip });
          const cookie = cookieHeader(cookieValue(login.setCookies) as string);
          const r = await call(url, '/unset-many?count=1500', { method: 'POST', ip, cookie, headers: { 'x-csrf-token': String(login.body.csrf) } });
          return { status: r.status, body: r.body, data: (await call(url, '/me', { ip, cookie })).body.data };
        }),
      );
      expect(replies[0]).toEqual(replies[1]);
      expect(replies[0]).toEqual({ status: 200, body: { ok: true }, data: { after: true } });
    });
  });

  it('answers data the service refuses with 500 session-not-saved, as the engine does, and nothing is written', async () => {
    await withServers(adapter, {}, async (remote, local) => {
      const ip = freshIp();
      const token = cookieValue((await call(remote, '/login?user=big', { method: 'POST', ip })).setCookies) as string;
      const localToken = cookieValue((await call(local, '/login?user=big', { method: 'POST', ip })).setCookies) as string;
      const csrf = String((await call(remote, '/me', { ip, cookie: cookieHeader(token) })).body.csrf);
      const localCsrf = String((await call(local, '/me', { ip, cookie: cookieHeader(localToken) })).body.csrf);
      // Over the engine's 64 KiB maxDataBytes (a 400 of the service), and over its 128 KiB body limit (a 413).
      for (const bytes of [70_000, 200_000]) {
        const r = await call(remote, `/set-big?bytes=${bytes}`, { method: 'POST', ip, cookie: cookieHeader(token), headers: { 'x-csrf-token': csrf } });
        const l = await call(local, `/set-big?bytes=${bytes}`, { method: 'POST', ip, cookie: cookieHeader(localToken), headers: { 'x-csrf-token': localCsrf } });
        expect({ status: r.status, body: r.body }).toEqual({ status: l.status, body: l.body });
        expect({ status: r.status, error: r.body.error }).toEqual({ status: 500, error: 'session-not-saved' });
      }
      expect((await call(remote, '/me', { ip, cookie: cookieHeader(token) })).body).toMatchObject({ data: {} });
    });
  });
});
