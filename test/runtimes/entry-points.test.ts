/**
 * Every runtime-neutral entry point at work on each runtime's real binary,
 * beyond what the conformance app drives (test/runtimes/conformance.test.ts):
 * test/runtimes/entry-points-app.js loads latchkey, latchkey/client,
 * latchkey/fetch, latchkey/hono, latchkey/http, latchkey/sealed,
 * latchkey/stores/memory and latchkey/tokens at module scope, serves a Hono
 * app on latchkey/hono, calls a real `latchkey serve` service (run here, on
 * Node) through latchkey/client, and parses proxy headers with
 * latchkey/http. On workerd it runs without nodejs_compat. Every answer is
 * checked against Node: the export lists against the modules as Node loads
 * them, the sessions the client made against the service's own view.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type LatchkeyClient } from '../../src/client/index.js';
import { parseForwarded, parseXForwardedFor } from '../../src/http/index.js';
import { loadConfig } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';
import { Browser, tamper } from './browser.js';
import { cleanUpWorkerBundle, requireRuntime, root, runtimeVersion, startApp, type RunningApp, type RuntimeName, type WorkerdOptions } from './harness.js';

/** The entry points as Node loads them (the same modules, Node's primitives). */
const NODE_MODULES: Record<string, () => Promise<Record<string, unknown>>> = {
  latchkey: () => import('../../src/index.js'),
  'latchkey/client': () => import('../../src/client/index.js'),
  'latchkey/fetch': () => import('../../src/adapters/fetch.js'),
  'latchkey/hono': () => import('../../src/adapters/hono.js'),
  'latchkey/http': () => import('../../src/http/index.js'),
  'latchkey/sealed': () => import('../../src/sealed/index.js'),
  'latchkey/stores/memory': () => import('../../src/stores/memory.js'),
  'latchkey/tokens': () => import('../../src/tokens/index.js'),
};

/** Proxy headers as clients and proxies send them: IPv4, IPv6 with and without ports, obfuscated and unknown nodes, junk. */
const FORWARDED = [
  { xff: '203.0.113.9, 10.0.0.1', forwarded: 'for=192.0.2.60;proto=http;by=203.0.113.43' },
  { xff: '2001:db8::1, [2001:db8::2]:8080, 198.51.100.7:443', forwarded: 'for="[2001:db8:cafe::17]:4711", for=unknown' },
  { xff: '::ffff:192.0.2.1, fe80::1%eth0, 1.2.3', forwarded: 'for=_hidden, for="_SEVKISEK"; proto=https, FOR=198.51.100.17' },
  { xff: 'not an address, , 300.1.1.1', forwarded: 'for=;proto=' },
];

let service: Service;
let serviceUrl: string;
let apiKey: string;
let dataDir: string;
let onNode: LatchkeyClient;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'latchkey-entry-points-'));
  const config = loadConfig({ flags: { port: '0', store: 'memory:', dataDir, adminPassword: 'correct horse battery', logLevel: 'silent' }, env: {} });
  service = await createService(config);
  serviceUrl = await service.listen();
  apiKey = (await service.ctx.apiKeys.create('entry-points-test')).key;
  onNode = createClient({ baseUrl: serviceUrl, apiKey });
});

afterAll(async () => {
  cleanUpWorkerBundle();
  await service?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function entryPointSuite(runtime: RuntimeName, label: string, options: WorkerdOptions = {}, suffix = ''): void {
  const bin = requireRuntime(runtime);
  describe.skipIf(bin === null)(`on ${label} ${runtimeVersion(runtime)}${suffix}`, () => {
    let app: RunningApp;
    beforeAll(async () => {
      const env = { LATCHKEY_SERVICE_URL: serviceUrl, LATCHKEY_API_KEY: apiKey };
      const files = runtime === 'workerd' ? { worker: join(root, 'test', 'runtimes', 'entry-points-worker.js') } : { server: join(root, 'test', 'runtimes', 'entry-points-server.js') };
      app = await startApp(runtime, bin as string, 'stateful', { ...options, ...files, env });
    });
    afterAll(async () => {
      // Nothing went wrong on the side either (an uncaught error, a runtime warning).
      const output = app?.output() ?? '';
      await app?.stop();
      expect(output).not.toMatch(/error|uncaught|warn/i);
    });

    const post = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
      const res = await fetch(app.url + path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      expect(res.status, app.output()).toBe(200);
      return (await res.json()) as Record<string, unknown>;
    };

    it('every entry point loads: latchkey, latchkey/client, latchkey/fetch, latchkey/hono, latchkey/http, latchkey/sealed, latchkey/stores/memory and latchkey/tokens, each with every export it has on Node', async () => {
      const res = await fetch(`${app.url}/exports`);
      expect(res.status, app.output()).toBe(200);
      const there = (await res.json()) as Record<string, string[]>;
      const here: Record<string, string[]> = {};
      for (const [name, load] of Object.entries(NODE_MODULES)) here[name] = Object.keys(await load()).sort();
      expect(there).toEqual(here);
    });

    it('latchkey/hono: sign-in sets a cookie, 200 with it and 401 without, a write persists, a tampered cookie is refused, sign-out ends it', async () => {
      const browser = new Browser(app.url);
      expect((await browser.get('/hono/me')).status).toBe(401);
      const login = await browser.post('/hono/login', { username: 'ann' });
      expect(login.status, app.output()).toBe(303);
      expect(login.headers.getSetCookie()).toEqual([expect.stringMatching(/^__Host-[\w-]+=[\w.-]{40,}; .*HttpOnly; Secure; SameSite=Lax$/)]);
      const [name] = [...browser.cookies.keys()] as [string];

      expect(await (await browser.get('/hono/me')).json()).toEqual({ user: 'ann', visits: 0 });
      expect((await browser.get('/hono/me', '')).status).toBe(401);
      expect(await (await browser.post('/hono/visit')).json()).toEqual({ visits: 1 });
      expect(await (await browser.post('/hono/visit')).json()).toEqual({ visits: 2 });
      expect(await (await browser.get('/hono/me')).json()).toEqual({ user: 'ann', visits: 2 });

      expect((await browser.get('/hono/me', `${name}=${tamper(browser.cookies.get(name) as string)}`)).status).toBe(401);
      const copy = browser.header();
      expect((await browser.post('/hono/logout')).status).toBe(303);
      expect(browser.cookies.size).toBe(0);
      expect((await browser.get('/hono/me', copy)).status).toBe(401);
    });

    it('latchkey/client: creates and validates a session on the session service, which Node then sees, and revokes it there', async () => {
      const userId = `ann-${runtime}-${Math.random().toString(36).slice(2, 8)}`;
      const made = (await post('/client/session', { userId, runtime })) as { token: string; handle: string; valid: boolean; userId: string };
      expect([made.valid, made.userId]).toEqual([true, userId]);
      // The service holds what the runtime made: Node's client validates the token and reads its data.
      const seen = await onNode.validateSession(made.token);
      expect(seen.valid && [seen.session.handle, seen.session.userId, seen.session.data]).toEqual([made.handle, userId, { runtime }]);

      expect(await post('/client/revoke', { handle: made.handle })).toEqual({ revoked: true });
      const after = await onNode.validateSession(made.token);
      expect(after.valid).toBe(false);
    });

    it('latchkey/http: reads X-Forwarded-For and Forwarded (IPv4, IPv6, ports, obfuscated nodes, junk) as on Node', async () => {
      for (const headers of FORWARDED) {
        expect(await post('/http/forwarded', headers)).toEqual({ xff: parseXForwardedFor(headers.xff), forwarded: parseForwarded(headers.forwarded) });
      }
      // And reads something: addresses come out, junk as null.
      expect(parseXForwardedFor(FORWARDED[1]?.xff as string)).toEqual(['2001:db8::1', '2001:db8::2', '198.51.100.7']);
    });
  });
}

describe('every runtime-neutral entry point', () => {
  entryPointSuite('node22', 'Node.js');
  entryPointSuite('bun', 'Bun');
  entryPointSuite('deno', 'Deno');
  entryPointSuite('workerd', 'workerd', { nodeCompat: false }, ' without nodejs_compat');
});
