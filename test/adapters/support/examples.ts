/**
 * Starting an example app (examples/<name>) as a process of its own and
 * walking through it as a browser would: shared by the examples test (from
 * this repository's build) and the package test (from the installed tarball).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { expect } from 'vitest';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** A running example: its URL, and how to stop it. */
export interface RunningExample {
  url: string;
  stop(): void;
}

/** Runs `script` with Node in `cwd` on a free port, and resolves once it says it is listening. */
export async function startExample(script: string, cwd: string, env: NodeJS.ProcessEnv = {}): Promise<RunningExample> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [script], {
    cwd,
    env: { ...process.env, PORT: String(port), NODE_ENV: 'development', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('listening on')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`${script} exited with ${code}: ${output}`)));
    });
  } catch (err) {
    child.kill();
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

/**
 * Signs in, shows the session (and its visit counter), is refused a
 * cross-site post, signs out everywhere; with `guarded`, also checks that
 * this route answers 401 to a visitor and the user's name once signed in.
 */
export async function walkExample(url: string, guarded?: string): Promise<void> {
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
  if (guarded !== undefined) {
    const refused = await fetch(url + guarded);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'unauthenticated' });
  }

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
  if (guarded !== undefined) expect(await (await fetch(url + guarded, { headers: { cookie } })).json()).toEqual({ user: 'ann' });

  const crossSite = await fetch(url + '/logout-everywhere', { method: 'POST', headers: { cookie, 'sec-fetch-site': 'cross-site' } });
  expect(crossSite.status).toBe(403);

  const out = await post('/logout-everywhere', cookie, { _csrf: csrf });
  expect(out.status).toBe(303);
  expect(out.headers.getSetCookie()[0]).toMatch(/^session=; Max-Age=0;/);
  expect(out.headers.get('clear-site-data')).toBe('"cache"');
  expect(await (await fetch(url + '/', { headers: { cookie } })).text()).toContain('Sign in');
}
