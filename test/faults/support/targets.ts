/**
 * What the outage tests load and judge: the session service's `/v1` API, and
 * an application on the library (one node:http server with the session
 * engine's cache on, one with token mode's guard), each seeded with a live
 * session, a revoked one, a live token family and an ended one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSessions, type Sessions } from '../../../src/core/sessions.js';
import type { Store } from '../../../src/core/store.js';
import { createTokenTransport } from '../../../src/http/tokens.js';
import { loadConfig } from '../../../src/server/config.js';
import { createService, type Service } from '../../../src/server/service.js';
import { createKeySet } from '../../../src/tokens/keys.js';
import { createTokens, type Tokens } from '../../../src/tokens/tokens.js';
import { start, type AdapterName, type Running } from '../../adapters/support/apps.js';
import { startTokens } from '../../adapters/support/token-apps.js';
import { AUDIENCE, ISSUER, REFRESH_SECRET } from '../../tokens/helpers.js';
import { jsonOf, type Judgement, type Op } from './load.js';

const T = 8000;
const unavailable = (status: number, body: Record<string, unknown> | null): boolean =>
  status === 503 && ((body?.error as { code?: unknown } | undefined)?.code === 'store-unavailable' || body?.error === 'store-unavailable');
const judge = (status: number, body: Record<string, unknown> | null, right: boolean, what: string): Judgement =>
  right ? 'ok' : unavailable(status, body) ? 'unavailable' : { wrong: `${what}: ${status} ${JSON.stringify(body).slice(0, 200)}` };

/** The service, in process, on `storeUrl`. */
export interface ServiceTarget {
  readonly ops: Op[];
  close(): Promise<void>;
}

/**
 * Starts the service and seeds it. API keys are trusted for a minute
 * (`apiKeyCacheMs`), so that requests reach past the key check into each
 * route's own store calls and caches; token mode's revocation cache keeps a
 * live verdict 10 s (its default).
 */
export async function serviceTarget(storeUrl: string): Promise<ServiceTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-faults-'));
  const config = loadConfig({ flags: { port: '0', store: storeUrl, dataDir: dir, adminPassword: 'faults-admin-password', logLevel: 'silent' }, env: {} });
  const service: Service = await createService(config, { apiKeyCacheMs: 60_000 });
  const base = await service.listen();
  const key = (await service.ctx.apiKeys.create('faults')).key;
  const call = async (method: string, path: string, json?: unknown): Promise<{ status: number; body: Record<string, unknown> | null }> => {
    const res = await fetch(new URL(path, base), {
      method,
      headers: { authorization: `Bearer ${key}`, ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: json !== undefined ? JSON.stringify(json) : undefined,
      signal: AbortSignal.timeout(T),
    });
    return { status: res.status, body: await jsonOf(res) };
  };
  const user = `faults-${Date.now()}`;
  const live = (await call('POST', '/v1/sessions', { userId: user })).body as { token: string; session: { handle: string } };
  const revoked = (await call('POST', '/v1/sessions', { userId: user })).body as { token: string; session: { handle: string } };
  await call('DELETE', `/v1/sessions/${revoked.session.handle}`);
  const family = (await call('POST', '/v1/tokens', { userId: user })).body as { accessToken: string; refreshToken: string };
  const ended = (await call('POST', '/v1/tokens', { userId: user })).body as { accessToken: string; refreshToken: string };
  await call('POST', '/v1/tokens/revoke', { refreshToken: ended.refreshToken });
  // Verified once before the outage: the revocation cache holds a live and an ended verdict.
  await call('POST', '/v1/tokens/introspect', { token: family.accessToken });
  await call('POST', '/v1/tokens/introspect', { token: ended.accessToken });

  const ops: Op[] = [
    {
      name: 'validate a live session',
      async run() {
        const r = await call('POST', '/v1/sessions/validate', { token: live.token });
        return { status: r.status, judgement: judge(r.status, r.body, r.status === 200 && r.body?.valid === true, 'a live session refused') };
      },
    },
    {
      name: 'validate a revoked session',
      async run() {
        const r = await call('POST', '/v1/sessions/validate', { token: revoked.token });
        return { status: r.status, judgement: judge(r.status, r.body, r.status === 200 && r.body?.valid === false, 'a revoked session not refused') };
      },
    },
    {
      name: 'create a session',
      async run() {
        const r = await call('POST', '/v1/sessions', { userId: `${user}-new` });
        return { status: r.status, judgement: judge(r.status, r.body, r.status === 201, 'create') };
      },
    },
    {
      name: 'patch a live session',
      async run() {
        const r = await call('PATCH', `/v1/sessions/${live.session.handle}/data`, { set: { at: Date.now() } });
        return { status: r.status, judgement: judge(r.status, r.body, r.status === 200, 'patch of a live session') };
      },
    },
    {
      name: "list the user's sessions",
      async run() {
        const r = await call('GET', `/v1/users/${user}/sessions`);
        const handles = ((r.body?.sessions as Array<{ handle: string }> | undefined) ?? []).map((s) => s.handle);
        const right = r.status === 200 && handles.includes(live.session.handle) && !handles.includes(revoked.session.handle);
        return { status: r.status, judgement: judge(r.status, r.body, right, 'list') };
      },
    },
    {
      name: 'introspect a live access token',
      cached: 'live',
      async run() {
        const r = await call('POST', '/v1/tokens/introspect', { token: family.accessToken });
        return { status: r.status, judgement: judge(r.status, r.body, r.status === 200 && r.body?.active === true, 'a live access token inactive') };
      },
    },
    {
      name: 'introspect an ended access token',
      cached: 'ended',
      async run() {
        const r = await call('POST', '/v1/tokens/introspect', { token: ended.accessToken });
        return { status: r.status, judgement: judge(r.status, r.body, r.status === 200 && r.body?.active === false, 'an ended access token active') };
      },
    },
    {
      name: 'refresh an ended family',
      async run() {
        const r = await call('POST', '/v1/tokens/refresh', { refreshToken: ended.refreshToken });
        return { status: r.status, judgement: judge(r.status, r.body, r.status === 401, 'an ended family refreshed') };
      },
    },
  ];
  return {
    ops,
    async close() {
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The library application: two instances over their own store objects, as two processes would be. */
export interface LibraryTarget {
  readonly ops: Op[];
  /** After recovery: a session validated (so cached) by instance 1, revoked through instance 2; resolves how long instance 1 still accepted it, in ms. */
  crossInstanceRevocation(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Instance 1 serves the load: `adapter` with the engine's cache (`staleness`)
 * and token mode's guard (revocation staleness the same). Instance 2 shares
 * the store (a store object of its own, `openStore()`), for revocations made
 * elsewhere.
 */
export async function libraryTarget(adapter: AdapterName, openStore: () => Store, staleness: string): Promise<LibraryTarget> {
  const stores = [openStore(), openStore()];
  const engines: Sessions[] = [];
  const tokenModes: Tokens[] = [];
  const keys = await createKeySet();
  for (const store of stores) {
    const sessions = createSessions({ store, sweepInterval: false, cache: { staleness } });
    const tokenEngine = createSessions({ store, sweepInterval: false, idleTimeout: '14d', absoluteTimeout: '30d' });
    engines.push(sessions, tokenEngine);
    tokenModes.push(createTokens({ sessions: tokenEngine, keys, issuer: ISSUER, audience: AUDIENCE, refreshSecret: REFRESH_SECRET, revocation: { staleness } }));
  }
  const [sessions1, , sessions2] = engines as [Sessions, Sessions, Sessions, Sessions];
  const [tokens1, tokens2] = tokenModes as [Tokens, Tokens];
  const reported: unknown[] = [];
  const running: Running[] = [
    await start(adapter, { sessions: sessions1, carriers: ['cookie', 'bearer'], onError: (e) => void reported.push(e) }),
    await startTokens(adapter, createTokenTransport({ tokens: tokens1, onError: (e) => void reported.push(e) }), tokens1),
  ];
  const [app, api] = running as [Running, Running];
  const get = async (base: string, path: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; body: Record<string, unknown> | null }> => {
    const res = await fetch(base + path, { method, headers: { 'sec-fetch-site': 'same-origin', ...headers }, signal: AbortSignal.timeout(T) });
    return { status: res.status, body: await jsonOf(res) };
  };
  const user = `faults-${Date.now()}`;
  const live = await sessions1.create({ userId: user });
  const revoked = await sessions1.create({ userId: user });
  await sessions2.revoke(revoked.session.handle);
  const family = await tokens1.issue({ userId: user });
  const ended = await tokens1.issue({ userId: user });
  await tokens2.revoke(ended.refreshToken);
  // Verified once before the outage, on instance 1: cached.
  await get(app.url, '/me', { authorization: `Bearer ${live.token}` });
  await get(api.url, '/api/me', { authorization: `Bearer ${family.accessToken}` });
  await get(api.url, '/api/me', { authorization: `Bearer ${ended.accessToken}` });

  const ops: Op[] = [
    {
      name: 'a live session',
      cached: 'live',
      async run() {
        const r = await get(app.url, '/me', { authorization: `Bearer ${live.token}` });
        return { status: r.status, judgement: judge(r.status, r.body, r.status === 200 && r.body?.userId === user, 'a live session signed out') };
      },
    },
    {
      name: 'a revoked session',
      async run() {
        const r = await get(app.url, '/me', { authorization: `Bearer ${revoked.token}` });
        return { status: r.status, judgement: judge(r.status, r.body, r.status === 200 && r.body?.userId === null, 'a revoked session signed in') };
      },
    },
    {
      name: 'a write to a live session',
      async run() {
        const r = await get(app.url, `/set?key=at&value=${Date.now()}`, { authorization: `Bearer ${live.token}` }, 'POST');
        return { status: r.status, judgement: judge(r.status, r.body, r.status === 200, 'a write to a live session') };
      },
    },
    {
      name: 'a sign-in',
      async run() {
        const r = await get(app.url, `/login?user=${user}-new`, {}, 'POST');
        return { status: r.status, judgement: judge(r.status, r.body, r.status === 200, 'a sign-in') };
      },
    },
    {
      name: 'a live access token',
      cached: 'live',
      async run() {
        const r = await get(api.url, '/api/me', { authorization: `Bearer ${family.accessToken}` });
        return { status: r.status, judgement: judge(r.status, r.body, r.status === 200, 'a live access token refused') };
      },
    },
    {
      name: 'an ended access token',
      cached: 'ended',
      async run() {
        const r = await get(api.url, '/api/me', { authorization: `Bearer ${ended.accessToken}` });
        return { status: r.status, judgement: judge(r.status, r.body, r.status === 401, 'an ended access token accepted') };
      },
    },
  ];
  return {
    ops,
    async crossInstanceRevocation() {
      const other = await sessions1.create({ userId: user });
      const cookie = { authorization: `Bearer ${other.token}` };
      if ((await get(app.url, '/me', cookie)).body?.userId !== user) throw new Error('the new session does not validate on instance 1');
      await sessions2.revoke(other.session.handle);
      const revokedAt = Date.now();
      while ((await get(app.url, '/me', cookie)).body?.userId === user) await new Promise((r) => setTimeout(r, 10));
      return Date.now() - revokedAt;
    },
    async close() {
      await Promise.all(running.map((r) => r.close()));
      for (const e of engines) await e.close();
      for (const s of stores) await s.close();
    },
  };
}
