/**
 * `latchkey serve` started the way platforms and container images start a
 * web process: with `PORT` (and `HOST`) in the environment. latchkey's own
 * `LATCHKEY_PORT`/`LATCHKEY_HOST` and the flags win over them; a `HOST` that
 * is a machine's name (tcsh exports one) never decides where it listens.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, latchkey, serve } from './process.js';
import { builtScratch } from '../helpers/built-scratch.js';

const scratch = builtScratch('latchkey-platform-');
const common = ['--store', 'memory:', '--no-demo', '--admin-password', 'correct horse battery'];

async function healthz(base: string): Promise<unknown> {
  const res = await fetch(`${base}/healthz`);
  return { status: res.status, body: await res.json() };
}

describe('latchkey serve on a platform', () => {
  it('listens on PORT when neither --port nor LATCHKEY_PORT is given', async () => {
    const port = await freePort();
    const running = await serve([...common, '--data-dir', join(scratch.dir, 'a')], scratch.dir, { PORT: String(port) });
    try {
      expect(running.base).toBe(`http://127.0.0.1:${port}`);
      expect(await healthz(running.base)).toEqual({ status: 200, body: { status: 'ok' } });
    } finally {
      expect(await running.stop()).toBe(0);
    }
  });

  it('prefers LATCHKEY_PORT to PORT, and --port to both', async () => {
    const [platform, own, flag] = [await freePort(), await freePort(), await freePort()];
    const byVariable = await serve([...common, '--data-dir', join(scratch.dir, 'b')], scratch.dir, { PORT: String(platform), LATCHKEY_PORT: String(own) });
    try {
      expect(byVariable.base).toBe(`http://127.0.0.1:${own}`);
      expect((await healthz(byVariable.base)) as object).toMatchObject({ status: 200 });
    } finally {
      await byVariable.stop();
    }
    const byFlag = await serve([...common, '--data-dir', join(scratch.dir, 'b'), '--port', String(flag)], scratch.dir, { PORT: String(platform), LATCHKEY_PORT: String(own) });
    try {
      expect(byFlag.base).toBe(`http://127.0.0.1:${flag}`);
    } finally {
      await byFlag.stop();
    }
  });

  it('listens on the address in HOST, and LATCHKEY_HOST wins over it', async () => {
    // Every 127.x.y.z address is this machine's loopback on Linux.
    const port = await freePort();
    const running = await serve([...common, '--data-dir', join(scratch.dir, 'c'), '--port', String(port)], scratch.dir, { HOST: '127.0.0.2' });
    try {
      expect(running.base).toBe(`http://127.0.0.2:${port}`);
      expect((await healthz(running.base)) as object).toMatchObject({ status: 200 });
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    } finally {
      await running.stop();
    }
    const own = await serve([...common, '--data-dir', join(scratch.dir, 'c'), '--port', '0'], scratch.dir, { HOST: '127.0.0.2', LATCHKEY_HOST: '127.0.0.3' });
    try {
      expect(own.base).toMatch(/^http:\/\/127\.0\.0\.3:\d+$/);
    } finally {
      await own.stop();
    }
  });

  it("ignores a HOST that holds the machine's name, says so once, and listens on 127.0.0.1", async () => {
    const running = await serve([...common, '--data-dir', join(scratch.dir, 'd'), '--port', '0'], scratch.dir, { HOST: 'build-box-3' });
    try {
      expect(running.base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(running.stderr()).toBe(
        'latchkey: HOST "build-box-3" is not an IP address (some shells set it to the machine\'s name): ignored; use --host or LATCHKEY_HOST\n',
      );
    } finally {
      await running.stop();
    }
  });

  it('refuses a PORT that is not a port number with exit code 2, naming PORT', async () => {
    const out = await latchkey(['serve', ...common, '--data-dir', join(scratch.dir, 'e')], scratch.dir, { PORT: 'http' });
    expect(out.code).toBe(2);
    expect(out.stderr).toBe('latchkey: invalid configuration: PORT "http": must be a port number (0-65535)\n');
  });
});
