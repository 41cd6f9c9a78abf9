/**
 * DBSC end to end in Debian's headless Chromium through a real adapter:
 * latchkey's node:http adapter with the `dbsc` option, over HTTPS, the
 * engine on a memory store. Nothing DBSC-specific is written in the
 * application: it signs in, reads its session and signs out. Chromium
 * registers a key at sign-in (the session record then holds it), refreshes
 * through the 403 challenge once the bound cookie runs out, a copied
 * cookie jar is worth only the bound cookie's minutes, and sign-out ends
 * Chromium's DBSC session.
 *
 * When Chromium cannot be driven the suite says SKIPPED with the reason
 * (and fails in CI), as test/e2e/dbsc.test.ts does.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpsRequest, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latchkey } from '../../src/adapters/node.js';
import type { BoundProofFailedEvent, DeviceBoundEvent } from '../../src/core/bound-events.js';
import { DEVICE_BINDING_KEY } from '../../src/core/model.js';
import { createSessions } from '../../src/core/sessions.js';
import { memoryStore } from '../../src/stores/memory.js';
import { chromiumPath } from './chromium.js';
import { launchDbscChromium, makeCertificate, until, watchDbsc, type DbscEvents, type TestCertificate } from './dbsc-harness.js';

const BOUND_TTL_MS = 4_000;
const CHALLENGE_TTL_MS = 1_000;
const REGISTER = '/auth/dbsc/register';
const REFRESH = '/auth/dbsc/refresh';

const hasOpenssl = existsSync('/usr/bin/openssl');
const suite = chromiumPath === null || !hasOpenssl ? describe.skip : describe;

function cannot(step: string, why: string): never {
  const message = `SKIPPED: DBSC in Chromium through the node:http adapter — ${step}: ${why}`;
  if (process.env.CI) throw new Error(message);
  console.warn(message);
  throw new SkipSignal(message);
}
class SkipSignal extends Error {}

/** One request as the server answered it. */
interface Logged {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly status: number;
}

suite('DBSC in headless Chromium through the node:http adapter', () => {
  let dir = '';
  let certificate: TestCertificate;
  let server: Server;
  let origin = '';
  let context: BrowserContext | undefined;
  let page: Page;
  let events: DbscEvents;
  let skipped: string | null = null;
  const log: Logged[] = [];
  const store = memoryStore();
  const sessions = createSessions({ store, sweepInterval: false });
  const bound: DeviceBoundEvent[] = [];
  const refused: BoundProofFailedEvent[] = [];
  sessions.on('device-bound', (e) => bound.push(e));
  sessions.on('anomaly', (e) => {
    if (e.kind === 'bound-proof-failed') refused.push(e);
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-dbsc-adapter-'));
    certificate = makeCertificate(dir);
    const withSession = latchkey({
      sessions,
      onError: () => {},
      dbsc: { secret: randomBytes(32), cookie: { ttl: BOUND_TTL_MS }, challengeTtl: CHALLENGE_TTL_MS, scope: { exclude: ['/favicon.ico'] } },
    });
    // The application: nothing about DBSC in it.
    const app = withSession(async (req, res, session) => {
      const path = new URL(req.url ?? '/', 'https://localhost').pathname;
      await session.load();
      if (path === '/login') await session.login('alice');
      if (path === '/logout') await session.logout();
      if (path === '/me') {
        res.writeHead(session.isAuthenticated ? 200 : 401, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify({ user: session.userId, invalid: session.invalidReason }));
        return;
      }
      res.writeHead(path === '/favicon.ico' ? 404 : 200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(`<!doctype html><title>${path}</title><p>${session.userId ?? 'signed out'}</p>`);
    });
    server = createServer({ key: certificate.key, cert: certificate.cert }, (req, res) => {
      res.on('finish', () => log.push({ at: Date.now(), method: req.method ?? '', path: new URL(req.url ?? '/', 'https://localhost').pathname, status: res.statusCode }));
      app(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    origin = `https://localhost:${typeof address === 'object' && address !== null ? address.port : 0}`;
    context = await launchDbscChromium(chromiumPath as string, join(dir, 'profile'), certificate.spki);
    page = context.pages()[0] ?? (await context.newPage());
    events = await watchDbsc(context, page);
  }, 60_000);

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    if (server !== undefined) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await sessions.close();
    await store.close();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  function step(name: string, fn: () => Promise<void>, timeout = 30_000) {
    it(name, async (ctx) => {
      if (skipped !== null) return ctx.skip(skipped);
      try {
        await fn();
      } catch (err) {
        if (err instanceof SkipSignal) {
          skipped = err.message;
          return ctx.skip(err.message);
        }
        throw err;
      }
    }, timeout);
  }

  const at = (path: string) => log.filter((e) => e.path === path);
  const settle = (quietMs = 400) => until(() => Date.now() - (log.at(-1)?.at ?? 0) > quietMs, 5_000);
  const me = () => page.evaluate(async () => {
    const res = await fetch('/me', { credentials: 'same-origin' });
    return { status: res.status, body: (await res.json()) as { user: string | null } };
  });

  step('signs in, and Chromium registers a key that the session record keeps', async () => {
    await page.goto(`${origin}/`);
    await page.goto(`${origin}/login`);
    const registered = await until(() => at(REGISTER).length > 0, 10_000);
    if (!registered) cannot('registration', 'Chromium never POSTed to the registration endpoint within 10 s of the sign-in');
    expect(at(REGISTER).map((e) => e.status)).toEqual([200]);
    expect(bound).toHaveLength(1);
    expect(bound[0]).toMatchObject({ userId: 'alice', protocol: 'dbsc', alg: 'ES256' });
    const record = await store.get(bound[0]!.handle);
    expect(record?.data[DEVICE_BINDING_KEY]).toMatchObject({ id: bound[0]!.sessionIdentifier, alg: 'ES256', jkt: bound[0]!.jkt, jwk: { kty: 'EC', crv: 'P-256' } });
    const created = await until(() => events.occurred.some((e) => e.sessionId === bound[0]!.sessionIdentifier && e.creationEventDetails !== undefined), 5_000);
    expect(created).toBe(true);
    expect(await me()).toEqual({ status: 200, body: { user: 'alice', invalid: null } });
  });

  step('refreshes through the 403 challenge once the bound cookie ran out, and stays signed in', async () => {
    await settle();
    const seen = at(REFRESH).length;
    await new Promise((resolve) => setTimeout(resolve, BOUND_TTL_MS + CHALLENGE_TTL_MS + 1_000));
    const answer = await me();
    const exchange = at(REFRESH).slice(seen);
    if (exchange.length === 0) cannot('refresh', 'Chromium sent no refresh for an expired bound cookie');
    expect(answer).toEqual({ status: 200, body: { user: 'alice', invalid: null } });
    expect(exchange.slice(0, 2).map((e) => e.status)).toEqual([403, 200]);
    expect(refused).toEqual([]);
  });

  step('gives a copied cookie jar only the bound cookie’s minutes', async () => {
    const jar = await context!.cookies(origin);
    const session = jar.find((c) => c.name === '__Host-session')!;
    const boundCookie = jar.find((c) => c.name === '__Host-bound')!;
    const port = new URL(origin).port;
    const get = (cookie: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port, path: '/me', servername: 'localhost', ca: certificate.cert, headers: { cookie, host: `localhost:${port}` } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await get(`__Host-session=${session.value}`)).toBe(401);
    expect(await get(`__Host-session=${session.value}; __Host-bound=${boundCookie.value}`)).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, BOUND_TTL_MS + 200));
    expect(await get(`__Host-session=${session.value}; __Host-bound=${boundCookie.value}`)).toBe(401);
  });

  step('ends Chromium’s DBSC session at sign-out', async () => {
    await settle();
    await page.goto(`${origin}/logout`);
    await page.goto(`${origin}/`);
    const deleted = await until(() => events.occurred.some((e) => (e.terminationEventDetails as { deletionReason?: string } | undefined)?.deletionReason === 'ServerRequested'), 10_000);
    if (!deleted) cannot('termination', 'Chromium reported no server-requested termination after sign-out');
    await settle();
    const count = at(REFRESH).length;
    await page.goto(`${origin}/`);
    await settle();
    expect(at(REFRESH).length).toBe(count);
    expect((await context!.cookies(origin)).find((c) => c.name === '__Host-bound')).toBeUndefined();
  });
});
