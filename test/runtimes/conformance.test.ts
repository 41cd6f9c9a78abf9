/**
 * The runtime matrix: one small app on the Fetch adapter
 * (examples/shared/fetch-app.js, served by examples/bun, examples/deno,
 * examples/workers and a node:http bridge on Node) run on each real runtime
 * binary and driven over HTTP. One test per runtime × mode; the README's
 * runtime matrix cites them by name. Every cell walks the same scenario:
 * sign-in sets a cookie, a protected route answers 200 with it and 401
 * without, a write persists across requests, a tampered cookie and a
 * cross-site post are refused, and sign-out ends the session (a copy of the
 * old cookie is refused too).
 *
 * The apps are constructed at module scope; on workerd that scope refuses
 * timers and random numbers, so every workerd cell also proves that
 * constructing latchkey does neither.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { createService } from '../../src/server/service.js';
import { Browser, crossSitePost, tamper } from './browser.js';
import { cleanUpWorkerBundle, requireRuntime, root, runtimeVersion, startApp, type Mode, type RunningApp, type RuntimeName, type WorkerdOptions } from './harness.js';

afterAll(() => cleanUpWorkerBundle());

/** Stateful and sealed sessions: the session cookie. */
async function cookieSessionScenario(app: RunningApp): Promise<void> {
  const browser = new Browser(app.url);
  expect((await browser.get('/me')).status).toBe(401);

  // Sign-in sets one HttpOnly, Secure session cookie.
  const login = await browser.post('/login', { username: 'ann' });
  expect(login.status).toBe(303);
  const set = login.headers.getSetCookie();
  expect(set).toHaveLength(1);
  expect(set[0]).toMatch(/^__Host-[\w-]+=[\w.-]{40,}; .*HttpOnly; Secure; SameSite=Lax$/);
  const [name, value] = [...browser.cookies][0] as [string, string];

  // The protected route: 200 with the cookie, 401 without.
  const me = await browser.get('/me');
  expect(me.status).toBe(200);
  expect(await me.json()).toEqual({ user: 'ann', notes: [] });
  expect((await browser.get('/me', '')).status).toBe(401);

  // Writes persist across requests (in the store, or re-sealed into the cookie).
  expect(await (await browser.post('/notes', { note: 'first' })).json()).toEqual({ notes: ['first'] });
  expect(await (await browser.post('/notes', { note: 'second' })).json()).toEqual({ notes: ['first', 'second'] });
  expect(await (await browser.get('/me')).json()).toEqual({ user: 'ann', notes: ['first', 'second'] });

  // A browser that sends neither Fetch Metadata nor Origin: the write needs the page's CSRF token, read from the form body.
  const page = await (await browser.get('/')).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
  expect(csrf).toMatch(/^[\w-]{43}$/);
  expect((await browser.legacyPost('/notes', { note: 'third' })).status).toBe(403);
  expect(await (await browser.legacyPost('/notes', { note: 'third', _csrf: csrf })).json()).toEqual({ notes: ['first', 'second', 'third'] });

  // A tampered cookie is refused; so is a write posted from another site (CSRF).
  expect((await browser.get('/me', `${name}=${tamper(browser.cookies.get(name) ?? value)}`)).status).toBe(401);
  expect((await crossSitePost(app.url, '/notes', browser.header())).status).toBe(403);
  expect(await (await browser.get('/me')).json()).toEqual({ user: 'ann', notes: ['first', 'second', 'third'] });

  // Sign-out clears the cookie and ends the session: a copy of the cookie kept from before is refused.
  const copy = browser.header();
  const out = await browser.post('/logout');
  expect(out.status).toBe(303);
  expect(out.headers.getSetCookie().join('\n')).toMatch(new RegExp(`^${name}=; Max-Age=0`, 'm'));
  expect(browser.cookies.size).toBe(0);
  expect((await browser.get('/me')).status).toBe(401);
  expect((await browser.get('/me', copy)).status).toBe(401);
}

/** Token mode with the cookie carrier: access and refresh cookies. */
async function tokenScenario(app: RunningApp): Promise<void> {
  const browser = new Browser(app.url);
  expect((await browser.get('/me')).status).toBe(401);

  const login = await browser.post('/login', { username: 'ann' });
  expect(login.status).toBe(200);
  const set = login.headers.getSetCookie();
  expect(set).toHaveLength(2);
  for (const line of set) expect(line).toMatch(/; HttpOnly; Secure; SameSite=Strict/);
  const names = [...browser.cookies.keys()];
  const access = names.find((n) => n.includes('access')) as string;
  const refresh = names.find((n) => n.includes('refresh')) as string;
  expect([access, refresh].every((n) => n !== undefined)).toBe(true);

  const me = await browser.get('/me');
  expect(me.status).toBe(200);
  expect(await me.json()).toEqual({ user: 'ann' });
  expect((await browser.get('/me', '')).status).toBe(401);

  // The write: refresh rotates the pair, and the rotation is kept in the store.
  const before = browser.cookies.get(refresh);
  const rotated = await browser.post('/auth/refresh');
  expect(rotated.status).toBe(200);
  expect(browser.cookies.get(refresh)).not.toBe(before);
  expect((await browser.get('/me')).status).toBe(200);

  expect((await browser.get('/me', `${access}=${tamper(browser.cookies.get(access) as string)}`)).status).toBe(401);
  // Cookies posted from another site: no refresh, no sign-in (CSRF).
  expect((await crossSitePost(app.url, '/auth/refresh', browser.header())).status).toBe(403);
  expect((await crossSitePost(app.url, '/login', '')).status).toBe(403);

  // Sign-out revokes the family: the kept access and refresh cookies are refused.
  const copy = browser.header();
  const out = await browser.post('/logout');
  expect(out.status).toBe(200);
  expect(browser.cookies.size).toBe(0);
  expect((await browser.get('/me', copy)).status).toBe(401);
  expect((await browser.post('/auth/refresh', {}, copy)).status).toBe(401);
}

const SCENARIOS: Record<Mode, { title: string; run: (app: RunningApp) => Promise<void> }> = {
  stateful: {
    title: 'stateful sessions (memory store): sign-in sets a cookie, 200 with it and 401 without, a write persists, a tampered cookie and a cross-site post are refused, sign-out ends it',
    run: cookieSessionScenario,
  },
  sealed: {
    title: 'sealed sessions: sign-in sets a cookie, 200 with it and 401 without, a write persists, a tampered cookie and a cross-site post are refused, sign-out ends it',
    run: cookieSessionScenario,
  },
  remote: {
    title:
      'stateful sessions through the session service (latchkey/client, a real latchkey serve): sign-in sets a cookie, 200 with it and 401 without, a write persists, a tampered cookie and a cross-site post are refused, sign-out ends it',
    run: cookieSessionScenario,
  },
  tokens: {
    title: 'token mode (cookie carrier): sign-in sets the cookies, 200 with them and 401 without, refresh rotates, a tampered token and cross-site posts are refused, sign-out ends it',
    run: tokenScenario,
  },
};

/**
 * Node 22 announces node:sqlite once with an ExperimentalWarning on stderr
 * (Node 24 no longer does); that line, and only it, is not a fault of the app.
 */
const NODE22_SQLITE_WARNING = /^\(node:\d+\) ExperimentalWarning: SQLite is an experimental feature and might change at any time\n\(Use `node --trace-warnings \.\.\.` to show where the warning was created\)\n/m;

/** The rows the stateful app left in its SQLite file, read with better-sqlite3 (another driver: one file format). */
function sqliteRows(path: string): Array<{ user_id: string | null; status: string; data: string }> {
  const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string, o: { readonly: boolean }) => {
    prepare(sql: string): { all(): Array<{ user_id: string | null; status: string; data: string }> };
    close(): void;
  };
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(`SELECT user_id, status, data FROM latchkey_sessions WHERE user_id = 'ann'`).all();
  } finally {
    db.close();
  }
}

/** Stateful sessions on the runtime's own SQLite, in a file of a fresh folder; the file is then read with better-sqlite3. */
function sqliteCell(runtime: RuntimeName, bin: string | null, driver: string): void {
  it(`stateful sessions on its own SQLite (${driver}): the same scenario, and the file it leaves is read by better-sqlite3: the session revoked, its data gone`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-runtime-sqlite-'));
    const path = join(dir, 'sessions.db');
    const app = await startApp(runtime, bin as string, 'stateful', { sqlite: path });
    try {
      await cookieSessionScenario(app);
      expect(app.output()).toContain(`SQLite on ${driver},`);
      expect(app.output().replace(NODE22_SQLITE_WARNING, '')).not.toMatch(/error|uncaught|warn/i);
    } catch (err) {
      (err as Error).message += `\n--- ${runtime} output ---\n${app.output()}`;
      throw err;
    } finally {
      await app.stop();
    }
    try {
      const rows = sqliteRows(path);
      // Signed in (a session of ann's), signed out (revoked, its data, the notes, wiped): none of hers is active.
      expect(rows.some((r) => r.status === 'revoked' && r.data === '{}')).toBe(true);
      expect(rows.filter((r) => r.status === 'active')).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

function runtimeSuite(runtime: RuntimeName, label: string, options: WorkerdOptions = {}, suffix = '', sqlite?: string): void {
  const bin = requireRuntime(runtime);
  describe.skipIf(bin === null)(`on ${label} ${runtimeVersion(runtime)}${suffix}`, () => {
    for (const mode of ['stateful', 'sealed', 'tokens'] as const) {
      it(SCENARIOS[mode].title, async () => {
        const app = await startApp(runtime, bin as string, mode, options);
        try {
          await SCENARIOS[mode].run(app);
          // Nothing went wrong on the side either (an uncaught error in a timer, a runtime warning).
          expect(app.output()).not.toMatch(/error|uncaught|warn/i);
        } catch (err) {
          (err as Error).message += `\n--- ${runtime} output ---\n${app.output()}`;
          throw err;
        } finally {
          await app.stop();
        }
      });
    }
    if (sqlite !== undefined) sqliteCell(runtime, bin, sqlite);
  });
}

/**
 * The remote backend's cell: the app with `remote: createClient(...)`
 * against a real listening session service, which the worker reaches over
 * HTTP (its outbound requests may reach 127.0.0.1).
 */
function remoteCell(runtime: RuntimeName, label: string, options: WorkerdOptions, suffix: string): void {
  const bin = requireRuntime(runtime);
  describe.skipIf(bin === null)(`on ${label} ${runtimeVersion(runtime)}${suffix}`, () => {
    it(SCENARIOS.remote.title, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-runtime-remote-'));
      const config = loadConfig({ flags: { port: '0', store: 'memory:', dataDir, adminPassword: 'correct horse battery', logLevel: 'silent' }, env: {} });
      const service = await createService(config);
      let app: RunningApp | null = null;
      try {
        const baseUrl = await service.listen();
        const apiKey = (await service.ctx.apiKeys.create('runtime-remote')).key;
        const seen: string[] = [];
        service.ctx.sessions.on('created', (e) => seen.push(`created ${e.userId}`));
        service.ctx.sessions.on('revoked', (e) => seen.push(`revoked ${e.userId}`));
        app = await startApp(runtime, bin as string, 'remote', { ...options, env: { LATCHKEY_URL: baseUrl, LATCHKEY_API_KEY: apiKey } });
        await SCENARIOS.remote.run(app);
        // The service kept the session and ended it: signed in there, signed out there, nothing of ann's live.
        expect(seen).toEqual(['created ann', 'revoked ann']);
        expect(await service.ctx.sessions.list('ann')).toEqual([]);
        expect(app.output()).not.toMatch(/error|uncaught|warn/i);
        expect(app.output()).not.toContain(apiKey);
      } catch (err) {
        (err as Error).message += `\n--- ${runtime} output ---\n${app?.output() ?? ''}`;
        throw err;
      } finally {
        await app?.stop();
        await service.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}

describe('runtime conformance', () => {
  runtimeSuite('node22', 'Node.js', {}, '', 'node:sqlite');
  runtimeSuite('bun', 'Bun', {}, '', 'bun:sqlite');
  runtimeSuite('deno', 'Deno', {}, '', 'node:sqlite');
  runtimeSuite('workerd', 'workerd', { nodeCompat: false }, ' without nodejs_compat');
  runtimeSuite('workerd', 'workerd', { nodeCompat: true }, ' with nodejs_compat');
  remoteCell('workerd', 'workerd', { nodeCompat: false }, ' without nodejs_compat');

  it("is what the README's runtime matrix cites, at the pinned versions", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const cited = [
      ...(['stateful sessions', 'sealed sessions', 'token mode'] as const).flatMap((mode) => [
        `on Node.js ${runtimeVersion('node22')} › ${mode}`,
        `on Bun ${runtimeVersion('bun')} › ${mode}`,
        `on Deno ${runtimeVersion('deno')} › ${mode}`,
        `on workerd ${runtimeVersion('workerd')} without nodejs_compat › ${mode}`,
        `on workerd ${runtimeVersion('workerd')} with nodejs_compat › ${mode}`,
      ]),
      `on Node.js ${runtimeVersion('node22')} › stateful sessions on its own SQLite (node:sqlite)`,
      `on Bun ${runtimeVersion('bun')} › stateful sessions on its own SQLite (bun:sqlite)`,
      `on Deno ${runtimeVersion('deno')} › stateful sessions on its own SQLite (node:sqlite)`,
      `Node.js ${runtimeVersion('node24')}`,
      `on workerd ${runtimeVersion('workerd')} without nodejs_compat › stateful sessions through the session service`,
      // The entry-points column: test/runtimes/entry-points.test.ts, under the same describe names.
      ...[`on Node.js ${runtimeVersion('node22')}`, `on Bun ${runtimeVersion('bun')}`, `on Deno ${runtimeVersion('deno')}`, `on workerd ${runtimeVersion('workerd')} without nodejs_compat`].map(
        (on) => `${on} › every entry point loads · latchkey/hono · latchkey/client · latchkey/http`,
      ),
    ];
    for (const name of cited) expect(readme).toContain(name);
  });
});
