/**
 * Four service instances on one real Redis, and on one real PostgreSQL: the
 * guessing throttle keeps one budget for the fleet, the security-event feed
 * is the fleet's (CLI actions included), and an API key revoked anywhere is
 * refused everywhere at once.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';
import { ensureBuilt } from '../cli/built.js';
import { latchkey } from '../cli/process.js';
import { storeServers } from '../helpers/store-servers.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked field by field
type Json = any;

async function call(base: string, key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Json; retryAfter: string | null }> {
  const r = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text === '' ? null : JSON.parse(text), retryAfter: r.headers.get('retry-after') };
}

/** A made-up token, different for each `i`. */
const guess = (i: number): string => `${'G'.repeat(22)}.${String(i).padEnd(43, 'q')}`;

/** Guesses from `ip`, spread round-robin over `bases`, until one is answered 429; resolves how many were answered as tokens first. */
async function budget(bases: readonly string[], key: string, ip: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const r = await call(bases[i % bases.length] as string, key, 'POST', '/v1/sessions/validate', { token: guess(i), client: { ip } });
    if (r.status === 429) return i;
    expect(r.status).toBe(200);
  }
  throw new Error('never throttled');
}

/** One sign-in to the dashboard; resolves the status. */
async function signIn(base: string, password: string): Promise<number> {
  const r = await fetch(`${base}/admin/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'fleet-test' },
    body: new URLSearchParams({ username: 'admin', password }).toString(),
    redirect: 'manual',
  });
  await r.text();
  return r.status;
}

beforeAll(() => ensureBuilt(), 180_000);
const servers = storeServers();

describe.each(servers.urls)('four service instances on one %s', (_name, url) => {
  const services: Service[] = [];
  const bases: string[] = [];
  let store = '';
  let dataDir = '';
  let key = '';

  beforeAll(async () => {
    const u = url();
    if (u === null) return;
    store = u;
    dataDir = mkdtempSync(join(tmpdir(), 'latchkey-fleet-'));
    // One data folder: the instances of a fleet share their signing keys and secrets.
    for (let i = 0; i < 4; i++) {
      // A long API-key trust, so that only the announcement can make a revocation reach another instance in time.
      const s = await createService(loadConfig({ flags: { port: '0', logLevel: 'warn', store, dataDir, adminPassword: 'correct horse battery' }, env: {} }), { apiKeyCacheMs: 60_000 });
      services.push(s);
      bases.push(await s.listen());
    }
    key = (await (services[0] as Service).ctx.apiKeys.create('fleet')).key;
  }, 60_000);
  afterAll(async () => {
    for (const s of services) await s.close();
  });

  it('throttles a client guessing across four instances at the same total budget as on one', async (t) => {
    if (services.length === 0) return t.skip();
    const one = await budget([bases[0] as string], key, '203.0.113.10');
    const four = await budget(bases, key, '203.0.113.11');
    expect(one).toBeGreaterThan(0);
    expect(four).toBe(one);
    // From then on, every instance refuses the client before looking at its token, a real one included.
    const real = await call(bases[1] as string, key, 'POST', '/v1/sessions', { userId: 'guessed' });
    for (const base of bases) {
      const r = await call(base, key, 'POST', '/v1/sessions/validate', { token: real.body.token, client: { ip: '203.0.113.11' } });
      expect(r.status).toBe(429);
      expect(Number(r.retryAfter)).toBeGreaterThan(0);
    }
    // Another client keeps its own budget.
    expect((await call(bases[2] as string, key, 'POST', '/v1/sessions/validate', { token: real.body.token, client: { ip: '203.0.113.12' } })).body.valid).toBe(true);
  });

  it("brakes the dashboard's sign-in across four instances at the same total budget as on one", async (t) => {
    if (services.length === 0) return t.skip();
    /** Wrong passwords from one address (the services see 127.0.0.1), round-robin, until one is refused; how many were checked first. */
    const signInBudget = async (over: readonly string[]): Promise<number> => {
      for (let i = 0; i < 100; i++) {
        const r = await signIn(over[i % over.length] as string, `guess ${i}`);
        if (r === 429) return i;
        expect(r).toBe(401);
      }
      throw new Error('never braked');
    };
    const four = await signInBudget(bases);
    expect(four).toBeGreaterThan(0);
    // Every instance now refuses even the right password, the brake announced to all of them.
    for (const base of bases) {
      let status = 0;
      for (const until = Date.now() + 1000; Date.now() < until && status !== 429; ) status = await signIn(base, 'correct horse battery');
      expect(status).toBe(429);
    }
    // On one instance alone (a store of its own), the same number of wrong passwords is checked before the brake.
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-fleet-one-'));
    const alone = await createService(loadConfig({ flags: { port: '0', logLevel: 'warn', store: 'memory:', dataDir: dir, adminPassword: 'correct horse battery' }, env: {} }));
    try {
      expect(await signInBudget([await alone.listen()])).toBe(four);
    } finally {
      await alone.close();
    }
  });

  it("shows a revocation, an API-key revocation and the CLI's actions in every instance's feed", async (t) => {
    if (services.length === 0) return t.skip();
    const created = await call(bases[0] as string, key, 'POST', '/v1/sessions', { userId: 'feed-user' });
    const handle = created.body.session.handle as string;
    expect((await call(bases[1] as string, key, 'DELETE', `/v1/sessions/${handle}`)).status).toBe(204);

    const byCli = await call(bases[2] as string, key, 'POST', '/v1/sessions', { userId: 'cli-user' });
    const cliHandle = byCli.body.session.handle as string;
    const revokedByCli = await latchkey(['sessions', 'revoke', cliHandle, '--store', store], dataDir);
    expect(revokedByCli.code).toBe(0);

    const spare = await (services[3] as Service).ctx.apiKeys.create('spare');
    const keyByCli = await latchkey(['apikeys', 'revoke', spare.info.id, '--store', store], dataDir);
    expect(keyByCli.code).toBe(0);

    for (const base of bases) {
      const { status, body } = await call(base, key, 'GET', '/v1/events?limit=50');
      expect(status).toBe(200);
      const events = body.events as Array<{ kind: string; handle: string | null; detail: string; userId: string | null }>;
      expect(events).toContainEqual(expect.objectContaining({ kind: 'revoked', handle, userId: 'feed-user' }));
      expect(events).toContainEqual(expect.objectContaining({ kind: 'revoked', handle: cliHandle, userId: 'cli-user', detail: expect.stringContaining('CLI') }));
      expect(events).toContainEqual(expect.objectContaining({ kind: 'api-key-revoked', detail: expect.stringContaining(spare.info.id) }));
      // Never a key or a token.
      expect(JSON.stringify(events)).not.toContain(spare.key.slice(28));
      expect(JSON.stringify(events)).not.toContain(created.body.token.split('.')[1]);
    }
    // The dashboard reads the same shared log.
    const shown = await (services[3] as Service).ctx.feed.read(50);
    expect(shown.some((e) => e.kind === 'revoked' && e.handle === cliHandle)).toBe(true);
  });

  it('refuses an API key on every instance at once when it is revoked on one, or by the CLI', async (t) => {
    if (services.length === 0) return t.skip();
    for (const by of ['instance', 'CLI'] as const) {
      const made = await (services[0] as Service).ctx.apiKeys.create(`doomed by ${by}`);
      // Every instance has checked it once, and would trust it for a minute without the announcement.
      for (const base of bases) expect((await call(base, made.key, 'GET', `/v1/users/nobody/sessions`)).status).toBe(200);
      if (by === 'instance') await (services[1] as Service).ctx.apiKeys.revoke(made.info.id);
      else expect((await latchkey(['apikeys', 'revoke', made.info.id, '--store', store], dataDir)).code).toBe(0);
      const revokedAt = Date.now();
      for (const base of bases) {
        let status = 0;
        while ((status = (await call(base, made.key, 'GET', `/v1/users/nobody/sessions`)).status) === 200 && Date.now() - revokedAt < 3000) {
          await new Promise((r) => setTimeout(r, 10));
        }
        expect(status).toBe(401);
      }
      // Heard within moments of the revocation, not within the minute a checked key is trusted.
      expect(Date.now() - revokedAt).toBeLessThan(3000);
    }
  });
});
