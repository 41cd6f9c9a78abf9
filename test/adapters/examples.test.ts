/**
 * Starts every example app once, from the built package, and walks through
 * it like a browser would, so that the examples cannot rot.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

let child: ChildProcess | null = null;
afterEach(() => {
  child?.kill();
  child = null;
});

async function startExample(name: string): Promise<string> {
  const port = await freePort();
  child = spawn(process.execPath, [join(root, 'examples', name, 'server.js')], {
    cwd: root,
    env: { ...process.env, PORT: String(port), NODE_ENV: 'development', LATCHKEY_DB: join(tmpdir(), `latchkey-example-${process.pid}-${name}.db`) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child?.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('listening on')) resolve();
    });
    child?.on('exit', (code) => reject(new Error(`example ${name} exited with ${code}: ${err}`)));
  });
  return `http://127.0.0.1:${port}`;
}

describe('the examples', () => {
  beforeAll(() => {
    // The examples import the built package ('latchkey/express', ...): build it if it is missing or stale.
    const built = join(root, 'dist', 'adapters', 'express.js');
    const stale = !existsSync(built) || statSync(built).mtimeMs < Math.max(newestMtime(join(root, 'src', 'http')), newestMtime(join(root, 'src', 'adapters')));
    if (stale) execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root });
  }, 120_000);

  it.each(['express', 'fastify', 'hono', 'fetch', 'node'])('the %s example signs in, shows the session and signs out everywhere', async (name) => {
    const url = await startExample(name);
    const post = (path: string, cookie: string | null, form: Record<string, string>) =>
      fetch(url + path, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin', ...(cookie ? { cookie } : {}) },
        body: new URLSearchParams(form).toString(),
      });

    const visitor = await fetch(url + '/');
    expect(visitor.status).toBe(200);
    expect(await visitor.text()).toContain('Sign in');
    expect(visitor.headers.getSetCookie()).toEqual([]);

    const login = await post('/login', null, { username: 'ann' });
    expect(login.status).toBe(303);
    const set = login.headers.getSetCookie()[0] ?? '';
    expect(set).toMatch(/^session=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
    const cookie = set.slice(0, set.indexOf(';'));

    const page = await (await fetch(url + '/', { headers: { cookie } })).text();
    expect(page).toContain('Signed in as ann');
    expect(page).toContain('(this device)');
    // The page counts visits: each one sees its own write (node:http renders after writeHead()).
    expect(page).toContain('visits 1.');
    expect(await (await fetch(url + '/', { headers: { cookie } })).text()).toContain('visits 2.');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const crossSite = await fetch(url + '/logout-everywhere', { method: 'POST', headers: { cookie, 'sec-fetch-site': 'cross-site' } });
    expect(crossSite.status).toBe(403);

    const out = await post('/logout-everywhere', cookie, { _csrf: csrf });
    expect(out.status).toBe(303);
    expect(out.headers.getSetCookie()[0]).toMatch(/^session=; Max-Age=0;/);
    expect(out.headers.get('clear-site-data')).toBe('"cache"');
    expect(await (await fetch(url + '/', { headers: { cookie } })).text()).toContain('Sign in');
  });
});
