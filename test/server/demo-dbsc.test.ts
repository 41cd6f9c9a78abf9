/**
 * The demo site with DBSC on, through the real service (Fastify, the
 * latchkey plugin in the demo's scope): a sign-in offers registration at
 * the demo's paths, a browser-like `jose` client registers and refreshes,
 * its devices page says "device-bound", the service's security feed holds
 * the `device-bound` event, and the demo cookie alone is sent to sign in.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';
import { dbscClient, parseRegistration, type DbscClient } from '../support/dbsc-client.js';

const COOKIE = '__Host-demo';
const BOUND = '__Host-demo-bound';

describe('the demo site with DBSC', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-demo-dbsc-'));
  let service: Service;
  let base = '';

  beforeAll(async () => {
    const config = loadConfig({ flags: { port: '0', store: 'memory:', dataDir, adminPassword: 'correct horse battery', logLevel: 'silent' }, env: {} });
    service = await createService(config);
    base = await service.listen();
  });
  afterAll(async () => {
    await service.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Signs in through the demo's form, as a browser would, and hands the cookie and the offer to a DBSC client. */
  async function signIn(user: string): Promise<DbscClient> {
    const res = await fetch(`${base}/demo/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      body: new URLSearchParams({ user, password: 'demo' }),
    });
    expect(res.status).toBe(303);
    const client = await dbscClient('ES256');
    const line = res.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`))!;
    client.jar.set(COOKIE, line.slice(COOKIE.length + 1, line.indexOf(';')));
    const offered = res.headers.get('secure-session-registration');
    expect(offered).not.toBeNull();
    client.offer = parseRegistration(offered!)[0]!;
    return client;
  }

  it('offers registration at sign-in, registers, and shows the session as device-bound', async () => {
    const client = await signIn('alice');
    expect(client.offer).toMatchObject({ algorithms: ['ES256', 'RS256'], path: '/demo/dbsc/register' });
    const reply = await client.register(base);
    expect(reply.status).toBe(200);
    expect(client.instructions).toMatchObject({ refresh_url: '/demo/dbsc/refresh', credentials: [{ type: 'cookie', name: BOUND }] });
    expect(client.jar.has(BOUND)).toBe(true);
    const home = await client.request(`${base}/demo`);
    expect(home.status).toBe(200);
    expect(home.text).toContain('data-testid="device-bound-badge"');
    expect(service.ctx.feed.recent().some((e) => e.kind === 'device-bound' && e.userId === 'alice')).toBe(true);
  });

  it('sends the demo cookie alone, once bound, to the sign-in page; with the bound cookie, refreshed through a challenge, it signs in', async () => {
    const client = await signIn('bob');
    expect((await client.register(base)).status).toBe(200);
    const alone = await client.request(`${base}/demo`, { headers: { cookie: `${COOKIE}=${client.jar.get(COOKIE)}` } });
    expect(alone.status).toBe(303);
    expect(alone.headers.get('location')).toBe('/demo/login');
    client.cachedChallenge = null;
    expect((await client.refresh(base)).map((r) => r.status)).toEqual([403, 200]);
    expect((await client.request(`${base}/demo`)).status).toBe(200);
  });
});
