/**
 * The `latchkey` command run in-process through `run(argv, io)`: every verb
 * and its help, the exit codes, the store and data-folder resolution, and
 * that no error output carries a secret or a stack trace.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { report, run } from '../../src/cli/run.js';
import { loadServiceFactory } from '../../src/cli/serve.js';
import { manualClock } from '../../src/core/clock.js';
import { createSessions } from '../../src/core/sessions.js';
import { CONFIG_OPTIONS, envName, flagName } from '../../src/server/config.js';
import { apiKeys } from '../../src/core/api-keys.js';
import { sqliteStore } from '../../src/stores/sqlite.js';
import { createKeySet } from '../../src/tokens/keys.js';
import { fileKeyStorage } from '../../src/tokens/file-key-storage.js';

const KEY_SHAPE = /^lk_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$/;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  /** Non-empty lines of standard output. */
  lines: string[];
}

let dir: string;

async function cli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: options.env ?? {},
    cwd: options.cwd ?? dir,
  });
  return { code, stdout, stderr, lines: stdout.split('\n').filter((l) => l !== '') };
}

/** Sessions made straight on the SQLite file the CLI will read. */
async function seedSessions(path: string, sessionsByUser: Record<string, number>): Promise<Record<string, string[]>> {
  const store = sqliteStore({ path });
  const sessions = createSessions({ store, sweepInterval: false });
  const handles: Record<string, string[]> = {};
  for (const [user, count] of Object.entries(sessionsByUser)) {
    handles[user] = [];
    for (let i = 0; i < count; i++) {
      const { session } = await sessions.create({
        userId: user,
        client: { ip: `198.51.100.${i + 1}`, userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15' },
      });
      handles[user].push(session.handle);
    }
  }
  await sessions.close();
  await store.close();
  return handles;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-cli-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('help and usage', () => {
  it('prints the verbs and the exit codes on --help, with exit code 0', async () => {
    const out = await cli(['--help']);
    expect(out.code).toBe(0);
    for (const verb of ['serve', 'sessions', 'apikeys', 'keys', 'migrate', 'bench']) expect(out.stdout).toContain(`  ${verb}`);
    for (const code of ['0  success', '1  nothing to act on', '2  usage or configuration error', '3  the store could not be opened or reached', '70  unexpected internal error']) {
      expect(out.stdout).toContain(code);
    }
    expect(out.stderr).toBe('');
    expect((await cli(['help'])).stdout).toBe(out.stdout);
  });

  it('prints the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(await cli(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it.each([
    ['serve'],
    ['sessions'],
    ['sessions', 'list'],
    ['sessions', 'revoke'],
    ['apikeys'],
    ['apikeys', 'create'],
    ['apikeys', 'list'],
    ['apikeys', 'revoke'],
    ['keys'],
    ['keys', 'rotate'],
    ['keys', 'list'],
    ['migrate'],
    ['bench'],
  ])('answers "latchkey %s --help" with its usage on standard output', async (...verb) => {
    const out = await cli([...verb, '--help']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(new RegExp(`^Usage: latchkey ${verb.join(' ')}`));
    expect(out.stderr).toBe('');
    expect(existsSync(join(dir, '.latchkey'))).toBe(false);
  });

  it('answers "latchkey help <verb>" like "latchkey <verb> --help"', async () => {
    expect((await cli(['help', 'migrate'])).stdout).toBe((await cli(['migrate', '--help'])).stdout);
    expect((await cli(['sessions', 'help', 'revoke'])).stdout).toBe((await cli(['sessions', 'revoke', '--help'])).stdout);
  });

  it('lists every configuration option of the service in "serve --help", with its flag and variable', async () => {
    const { stdout } = await cli(['serve', '--help']);
    for (const o of CONFIG_OPTIONS) {
      expect(stdout).toContain(o.kind === 'bool' ? `--[no-]${flagName(o.name)}` : `--${flagName(o.name)} `);
      expect(stdout).toContain(envName(o.name));
    }
    expect(stdout).toContain('--config <file>');
  });

  it('shows each help text of "serve --help" as the configuration gives it, not capitalised', async () => {
    const flat = (await cli(['serve', '--help'])).stdout.replace(/\s+/g, ' ');
    for (const o of CONFIG_OPTIONS) expect(flat).toContain(` ${o.help}.`);
    expect(flat).toContain(' iss of access tokens. Default: latchkey. Variable: LATCHKEY_ISSUER.');
    expect(flat).not.toMatch(/Iss of|Aud of|Fatal, error/);
  });

  it('says how a running service learns of a rotated key', async () => {
    const { stdout } = await cli(['keys', 'rotate', '--help']);
    expect(stdout).toContain('re-reads keys.json every minute');
    expect(stdout).toContain('nothing needs a restart');
  });

  it.each([
    [['frobnicate'], "unknown command 'frobnicate'", 'Usage: latchkey <command>'],
    [['--frobnicate'], 'unknown option --frobnicate', 'Usage: latchkey <command>'],
    [[], 'which command?', 'Usage: latchkey <command>'],
    [['sessions'], "'latchkey sessions' needs a command", 'Usage: latchkey sessions <command>'],
    [['sessions', 'purge'], "unknown command 'latchkey sessions purge'", 'Usage: latchkey sessions <command>'],
    [['apikeys', 'list', '--verbose'], 'unknown option --verbose', 'Usage: latchkey apikeys list'],
    [['apikeys', 'list', '--store'], 'option --store needs a value', 'Usage: latchkey apikeys list'],
    [['apikeys', 'list', '--json=yes'], 'option --json takes no value', 'Usage: latchkey apikeys list'],
    [['apikeys', 'list', 'extra'], 'unexpected argument "extra"', 'Usage: latchkey apikeys list'],
    [['sessions', 'list'], 'whose sessions? give --user <id>', 'Usage: latchkey sessions list'],
    [['sessions', 'revoke'], 'what to revoke?', 'Usage: latchkey sessions revoke'],
    [['sessions', 'revoke', 'h', '--user', 'u'], 'not both', 'Usage: latchkey sessions revoke'],
    [['sessions', 'revoke', 'h', '--except', 'x'], '--except goes with --user', 'Usage: latchkey sessions revoke'],
    [['sessions', 'list', '--user', 'u', '--kind', 'Demo'], '--kind takes kinds such as session', 'Usage: latchkey sessions list'],
    [['sessions', 'revoke', 'h', '--kind', 'demo'], '--kind goes with --user', 'Usage: latchkey sessions revoke'],
    [['apikeys', 'revoke'], 'which API key?', 'Usage: latchkey apikeys revoke'],
    [['bench', '--sessions', '0'], '--sessions "0": must be a whole number from 1 to 100,000', 'Usage: latchkey bench'],
    [['bench', '--duration', '3600'], '--duration "3600": must be a whole number from 1 to 60', 'Usage: latchkey bench'],
    [['serve', '--demo', '--no-demo'], 'give --demo or --no-demo, not both', 'Usage: latchkey serve'],
  ])('refuses %j with exit code 2, one line and the usage on standard error', async (args, message, usage) => {
    const out = await cli(args);
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
    const [first, blank, ...rest] = out.stderr.split('\n');
    expect(first).toMatch(/^latchkey: /);
    expect(first).toContain(message);
    expect(blank).toBe('');
    expect(rest.join('\n')).toContain(usage);
    expect(rest.join('\n')).toMatch(/Run 'latchkey[a-z ]*--help' for more\./);
  });
});

describe('configuration errors and unreachable stores', () => {
  it('refuses a bad store URL with exit code 2, without showing its password', async () => {
    const out = await cli(['apikeys', 'list', '--store', 'postgres://app:s3cret-pw@/db']);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/^latchkey: invalid configuration: --store: store URL "postgres:\/\/app:\*\*\*@\/db" is not a valid URL/);
    expect(out.stderr.split('postgres://app:***@/db')).toHaveLength(2);
    expect(out.stderr).not.toContain('s3cret-pw');
    expect((await cli(['sessions', 'list', '--user', 'u', '--store', 'mysql://db'])).code).toBe(2);
  });

  it('refuses a bad LATCHKEY_STORE the same way, naming the variable', async () => {
    const out = await cli(['apikeys', 'list'], { env: { LATCHKEY_STORE: 'sqlite:' } });
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('LATCHKEY_STORE: store URL "sqlite:" has no file path');
  });

  it('reports an unreachable PostgreSQL with exit code 3, without its password', async () => {
    const out = await cli(['apikeys', 'list'], { env: { LATCHKEY_STORE: 'postgres://app:s3cret-pw@127.0.0.1:1/db' } });
    expect(out.code).toBe(3);
    expect(out.stderr).toMatch(/^latchkey: .*ECONNREFUSED/);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
    expect(out.stderr).not.toContain('s3cret-pw');
  });

  it('reports an SQLite file that cannot be opened with exit code 3', async () => {
    // A folder where the database file should be.
    const out = await cli(['apikeys', 'list', '--store', `sqlite:${dir}`]);
    expect(out.code).toBe(3);
    expect(out.stderr).toMatch(/^latchkey: the store could not be opened or reached: /);
    expect(out.stderr).not.toMatch(/\n\s+at /);
  });

  it('prints the stack trace only with LATCHKEY_DEBUG=1, still without the password', async () => {
    const store = 'postgres://app:s3cret-pw@127.0.0.1:1/db';
    const debug = await cli(['apikeys', 'list', '--store', store], { env: { LATCHKEY_DEBUG: '1' } });
    expect(debug.code).toBe(3);
    expect(debug.stderr).toMatch(/\n\s+at /);
    expect(debug.stderr).not.toContain('s3cret-pw');
  });

  it('reads the store from a config file given with --config or LATCHKEY_CONFIG', async () => {
    writeFileSync(join(dir, 'latchkey.json'), JSON.stringify({ store: 'sqlite:./from-config.db', port: 8080 }));
    expect((await cli(['migrate', '--config', 'latchkey.json'])).stdout).toContain('sqlite:./from-config.db: schema v0 → v2');
    expect((await cli(['migrate'], { env: { LATCHKEY_CONFIG: 'latchkey.json' } })).stdout).toContain('schema v2 → v2');
    expect(existsSync(join(dir, 'from-config.db'))).toBe(true);
  });

  it('refuses a config file with an unknown option with exit code 2', async () => {
    writeFileSync(join(dir, 'latchkey.json'), JSON.stringify({ stroe: 'memory:' }));
    const out = await cli(['migrate', '--config', 'latchkey.json']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('unknown option "stroe"');
  });

  it('is not failed by a variable meant for serve alone', async () => {
    const out = await cli(['migrate'], { env: { LATCHKEY_PORT: 'http', PORT: 'http', HOST: 'build-box', LATCHKEY_STORE: 'sqlite:./x.db' } });
    expect(out).toMatchObject({ code: 0, stderr: '' });
  });

  it('refuses an invalid serve configuration with exit code 2 before starting anything', async () => {
    const out = await cli(['serve', '--port', 'http', '--admin-password', 'short-pw', '--data-dir', join(dir, 'data')], { env: { LATCHKEY_IDLE_TIMEOUT: 'soon' } });
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('--port "http": must be a port number');
    expect(out.stderr).toContain('LATCHKEY_IDLE_TIMEOUT "soon"');
    expect(out.stderr).not.toContain('short-pw');
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });
});

describe('latchkey serve without fastify', () => {
  /** What `latchkey serve` prints and answers when loading the service fails with `err`. */
  async function reported(err: Error): Promise<{ code: number; stderr: string }> {
    const thrown = await loadServiceFactory(() => Promise.reject(err)).then(
      () => expect.unreachable('the service loaded'),
      (e: unknown) => e,
    );
    let stderr = '';
    const code = report(thrown, ['serve'], { stderr: { write: (t: string) => (stderr += t) }, env: {} });
    return { code, stderr };
  }
  const notFound = (name: string): Error =>
    Object.assign(new Error(`Cannot find package '${name}' imported from ${join(dir, 'dist', 'server', 'service.js')}`), { code: 'ERR_MODULE_NOT_FOUND' });

  it('ends with exit code 2 and the npm install line when the fastify package is missing', async () => {
    expect(await reported(notFound('fastify'))).toEqual({ code: 2, stderr: 'latchkey: latchkey serve needs the "fastify" package: npm install fastify\n' });
  });

  it('keeps any other missing module an internal error', async () => {
    const { code, stderr } = await reported(notFound('avvio'));
    expect(code).toBe(70);
    expect(stderr).toMatch(/^latchkey: internal error: Cannot find package 'avvio'/);
  });
});

describe('latchkey serve in-process', () => {
  it('prints its URLs, serves, and stops gracefully with exit code 0 when its signal aborts', async () => {
    let stdout = '';
    let stderr = '';
    const stop = new AbortController();
    let listening: (base: string) => void = () => {};
    const base = new Promise<string>((resolve) => (listening = resolve));
    const running = run(['serve', '--port', '0', '--store', 'memory:', '--data-dir', 'data', '--log-level', 'silent', '--no-demo'], {
      stdout: {
        write: (s: string) => {
          stdout += s;
          const m = /listening on (\S+)\n/.exec(stdout);
          if (m !== null) listening(m[1] as string);
        },
      },
      stderr: { write: (s: string) => (stderr += s) },
      env: {},
      cwd: dir,
      signal: stop.signal,
    });
    const url = await Promise.race([base, running.then((code) => Promise.reject(new Error(`serve ended with ${code}: ${stderr}`)))]);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(stdout).not.toContain('/demo');
    expect(stdout).toContain(`${url}/admin`);
    expect(stdout).toContain(`admin password in ${join(dir, 'data', 'admin-password')}`);
    stop.abort();
    expect(await running).toBe(0);
    expect(stderr).toContain('stopped');
  });

  it('shows a configured admin password nowhere', async () => {
    let stdout = '';
    const stop = new AbortController();
    const running = run(['serve', '--port', '0', '--store', 'memory:', '--data-dir', 'data', '--log-level', 'silent'], {
      stdout: {
        write: (s: string) => {
          stdout += s;
          if (s.includes('Press Ctrl+C')) stop.abort();
        },
      },
      stderr: { write: () => true },
      env: { LATCHKEY_ADMIN_PASSWORD: 'correct-horse-battery' },
      cwd: dir,
      signal: stop.signal,
    });
    expect(await running).toBe(0);
    expect(stdout).toContain('admin password as configured');
    expect(stdout).not.toContain('correct-horse-battery');
    expect(existsSync(join(dir, 'data', 'admin-password'))).toBe(false);
  });

  it('ends with exit code 2 when the port is taken', async () => {
    const { createServer } = await import('node:net');
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const out = await cli(['serve', '--port', String(port), '--store', 'memory:', '--data-dir', 'data', '--log-level', 'silent']);
      expect(out.code).toBe(2);
      expect(out.stderr).toBe(`latchkey: cannot listen on 127.0.0.1:${port}: the address is in use; choose another --port\n`);
    } finally {
      taken.close();
    }
  });

  it('ends with exit code 3 when its store cannot be opened', async () => {
    const out = await cli(['serve', '--port', '0', '--store', `sqlite:${dir}`, '--data-dir', 'data', '--log-level', 'silent']);
    expect(out.code).toBe(3);
    expect(out.stderr).toMatch(/^latchkey: the store could not be opened or reached: /);
  });
});

describe('latchkey apikeys', () => {
  // The store of a service that ran once: apikeys never creates one.
  beforeEach(async () => {
    expect((await cli(['migrate'])).code).toBe(0);
  });

  it('creates a key shown alone on the last line, lists it without its secret, and revokes it', async () => {
    const created = await cli(['apikeys', 'create', '--name', 'billing']);
    expect(created.code).toBe(0);
    const key = created.lines.at(-1) as string;
    expect(key).toMatch(KEY_SHAPE);
    const id = key.slice(3, 27);
    expect(created.lines.slice(0, -1).join('\n')).toContain(id);

    const table = await cli(['apikeys', 'list']);
    expect(table.code).toBe(0);
    expect(table.lines[0]).toMatch(/^ID\s+NAME\s+CREATED$/);
    expect(table.stdout).toMatch(new RegExp(`${id}\\s+billing\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ`));
    expect(table.stdout).not.toContain(key.slice(28));

    const json = JSON.parse((await cli(['apikeys', 'list', '--json'])).stdout) as { apiKeys: Array<{ id: string; name: string; createdAt: number }> };
    expect(json.apiKeys).toEqual([{ id, name: 'billing', createdAt: expect.any(Number) }]);

    // The store holds a key the service accepts.
    const store = sqliteStore({ path: join(dir, '.latchkey', 'latchkey.db') });
    expect(await apiKeys(store, { cacheMs: 0 }).verify(key)).toMatchObject({ ok: true, key: { id } });
    await store.close();

    expect(await cli(['apikeys', 'revoke', id])).toMatchObject({ code: 0, stdout: `API key ${id} revoked.\n` });
    const again = await cli(['apikeys', 'revoke', id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`latchkey: no API key with id "${id}" in sqlite:./.latchkey/latchkey.db\n`);
    expect(await cli(['apikeys', 'list', '--json'])).toMatchObject({ code: 0, stdout: '{"apiKeys":[]}\n' });
    const empty = await cli(['apikeys', 'list']);
    expect(empty).toMatchObject({ code: 0, stdout: '' });
    expect(empty.stderr).toContain('no API keys');
  });

  it('revokes by a whole key given by mistake, never echoing its secret', async () => {
    const key = (await cli(['apikeys', 'create'])).lines.at(-1) as string;
    const out = await cli(['apikeys', 'revoke', key]);
    expect(out.code).toBe(0);
    expect(out.stdout + out.stderr).not.toContain(key.slice(28));
    const unknown = await cli(['apikeys', 'revoke', `lk_${'0'.repeat(24)}_${'A'.repeat(43)}`]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).not.toContain('A'.repeat(43));
  });

  it('refuses an overlong name with exit code 2', async () => {
    const out = await cli(['apikeys', 'create', '--name', 'x'.repeat(101)]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('at most 100 printable characters');
  });

  it('uses LATCHKEY_STORE when --store is not given, and --store over it', async () => {
    const env = { LATCHKEY_STORE: 'sqlite:./env.db' };
    await cli(['migrate'], { env });
    expect((await cli(['apikeys', 'create', '--name', 'from-env'], { env })).code).toBe(0);
    expect(existsSync(join(dir, 'env.db'))).toBe(true);
    expect((await cli(['apikeys', 'list'], { env })).stdout).toContain('from-env');
    expect((await cli(['apikeys', 'list', '--store', 'sqlite:./flag.db'], { env })).code).toBe(3);
    expect(existsSync(join(dir, 'flag.db'))).toBe(false);
  });
});

describe('verbs that only read or delete, on an SQLite file that does not exist', () => {
  it.each([
    [['sessions', 'list', '--user', 'a']],
    [['sessions', 'revoke', '--user', 'a']],
    [['sessions', 'revoke', 'some-handle']],
    [['apikeys', 'list']],
    [['apikeys', 'revoke', '0'.repeat(24)]],
    [['apikeys', 'create', '--name', 'k']],
  ])('%j refuses it with exit code 3 and creates neither it nor its folder', async (args) => {
    const path = join(dir, 'nonexistent', 'dir', 'x.db');
    const out = await cli([...args, '--store', `sqlite:${path}`]);
    expect(out).toEqual({
      code: 3,
      stdout: '',
      stderr: `latchkey: no database at ${path} (start latchkey serve or run latchkey migrate to create it)\n`,
      lines: [],
    });
    expect(existsSync(join(dir, 'nonexistent'))).toBe(false);
  });

  it('refuses the default store the same way when nothing created it yet', async () => {
    const out = await cli(['apikeys', 'list']);
    expect(out.code).toBe(3);
    expect(out.stderr).toContain(`no database at ${join(dir, '.latchkey', 'latchkey.db')}`);
    expect(existsSync(join(dir, '.latchkey'))).toBe(false);
  });

  it('is created by migrate, and then read and written', async () => {
    expect((await cli(['migrate', '--store', 'sqlite:./a/keys.db'])).code).toBe(0);
    expect((await cli(['apikeys', 'create', '--name', 'k', '--store', 'sqlite:./a/keys.db'])).code).toBe(0);
    expect((await cli(['apikeys', 'list', '--store', 'sqlite:./a/keys.db'])).stdout).toContain(' k ');
    expect((await cli(['migrate', '--store', 'sqlite:./b/sessions.db'])).code).toBe(0);
    expect(await cli(['sessions', 'list', '--user', 'a', '--json', '--store', 'sqlite:./b/sessions.db'])).toMatchObject({ code: 0, stdout: '{"sessions":[]}\n' });
  });
});

describe('latchkey sessions', () => {
  let db: string;
  let handles: Record<string, string[]>;
  beforeEach(async () => {
    db = join(dir, 'sessions.db');
    handles = await seedSessions(db, { alice: 3, bob: 1 });
  });

  it("lists a user's sessions as a table: handle, kind, device, IP, created, last seen", async () => {
    const out = await cli(['sessions', 'list', '--user', 'alice', '--store', `sqlite:${db}`]);
    expect(out.code).toBe(0);
    expect(out.lines[0]).toMatch(/^HANDLE\s+KIND\s+DEVICE\s+IP\s+CREATED\s+LAST SEEN$/);
    expect(out.lines).toHaveLength(2 + 3);
    for (const [i, h] of (handles.alice as string[]).entries()) {
      expect(out.stdout).toMatch(new RegExp(`${h}\\s+session\\s+Safari on macOS\\s+198\\.51\\.100\\.${i + 1}\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ\\s+\\d{4}`));
    }
    expect(out.stdout).not.toContain((handles.bob as string[])[0]);
  });

  it('says which kind each session is, lists and revokes only the kinds --kind names, and every kind without it', async () => {
    const store = sqliteStore({ path: db });
    const demo = createSessions({ store, sweepInterval: false, kind: 'demo' });
    const { session } = await demo.create({ userId: 'alice', client: { ip: '203.0.113.50', userAgent: 'curl/8.5.0' } });
    await demo.close();
    await store.close();
    const sqlite = `sqlite:${db}`;
    const all = await cli(['sessions', 'list', '--user', 'alice', '--store', sqlite]);
    expect(all.lines).toHaveLength(2 + 4);
    expect(all.stdout).toMatch(new RegExp(`${session.handle}\\s+demo\\s+curl on `));
    const only = await cli(['sessions', 'list', '--user', 'alice', '--kind', 'demo', '--json', '--store', sqlite]);
    expect((JSON.parse(only.stdout) as { sessions: Array<{ handle: string; kind: string }> }).sessions.map((d) => [d.handle, d.kind])).toEqual([[session.handle, 'demo']]);
    const revoked = await cli(['sessions', 'revoke', '--user', 'alice', '--kind', 'session,refresh', '--store', sqlite]);
    expect(revoked.lines[0]).toBe('3 sessions of kind session, refresh of user "alice" revoked:');
    const left = await cli(['sessions', 'list', '--user', 'alice', '--json', '--store', sqlite]);
    expect((JSON.parse(left.stdout) as { sessions: Array<{ handle: string }> }).sessions.map((d) => d.handle)).toEqual([session.handle]);
    expect((await cli(['sessions', 'list', '--user', 'alice', '--kind', 'refresh', '--store', sqlite])).stderr).toContain('no live sessions of kind refresh of user "alice"');
  });

  it('lists them as JSON with --json', async () => {
    const out = await cli(['sessions', 'list', '--user', 'alice', '--json', '--store', `sqlite:${db}`]);
    const { sessions } = JSON.parse(out.stdout) as { sessions: Array<{ handle: string; ip: string; device: { browser: string } }> };
    expect(sessions.map((s) => s.handle).sort()).toEqual([...(handles.alice as string[])].sort());
    const first = sessions.find((s) => s.handle === handles.alice?.[0]);
    expect(first).toMatchObject({ ip: '198.51.100.1', device: { browser: 'Safari', os: 'macOS' } });
  });

  it('lists nothing, with exit code 0, for a user without sessions', async () => {
    const out = await cli(['sessions', 'list', '--user', 'carol', '--store', `sqlite:${db}`]);
    expect(out).toMatchObject({ code: 0, stdout: '' });
    expect(out.stderr).toContain('no live sessions of user "carol"');
    expect((await cli(['sessions', 'list', '--user', 'carol', '--json', '--store', `sqlite:${db}`])).stdout).toBe('{"sessions":[]}\n');
  });

  it('revokes one session by handle, and answers exit code 1 the second time', async () => {
    const [first] = handles.alice as string[];
    const store = `sqlite:${db}`;
    expect(await cli(['sessions', 'revoke', first as string, '--store', store])).toMatchObject({ code: 0, stdout: `session ${first} revoked.\n` });
    const listed = await cli(['sessions', 'list', '--user', 'alice', '--json', '--store', store]);
    expect((JSON.parse(listed.stdout) as { sessions: unknown[] }).sessions).toHaveLength(2);
    const again = await cli(['sessions', 'revoke', first as string, '--store', store]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^latchkey: no live session with handle "/);
    expect((await cli(['sessions', 'revoke', 'not-a-handle', '--store', store])).code).toBe(1);
  });

  it('revokes every session of a user but the one kept with --except', async () => {
    const [kept, ...others] = handles.alice as string[];
    const store = `sqlite:${db}`;
    const out = await cli(['sessions', 'revoke', '--user', 'alice', '--except', kept as string, '--store', store]);
    expect(out.code).toBe(0);
    expect(out.lines[0]).toBe('2 sessions of user "alice" revoked:');
    expect(out.lines.slice(1).map((l) => l.trim()).sort()).toEqual([...others].sort());
    const left = JSON.parse((await cli(['sessions', 'list', '--user', 'alice', '--json', '--store', store])).stdout) as { sessions: Array<{ handle: string }> };
    expect(left.sessions.map((s) => s.handle)).toEqual([kept]);
    // bob is untouched; "log out everywhere" for him, then nothing left to revoke.
    expect((await cli(['sessions', 'revoke', '--user', 'bob', '--store', store])).code).toBe(0);
    const none = await cli(['sessions', 'revoke', '--user', 'bob', '--store', store]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no live session of user "bob"');
  });

  it('takes a handle that begins with a dash, as the handle to revoke and as the value of --except', async () => {
    // One handle in 64 begins with '-', which a flag parser takes for an option.
    const path = join(dir, 'dashed.db');
    const sqlite = sqliteStore({ path });
    const sessions = createSessions({ store: sqlite, sweepInterval: false });
    const dashed: string[] = [];
    let others = 0;
    for (let i = 0; i < 5000 && dashed.length < 2; i++) {
      const { session } = await sessions.create({ userId: 'dash' });
      if (session.handle.startsWith('-')) dashed.push(session.handle);
      else others++;
    }
    await sessions.close();
    await sqlite.close();
    expect(dashed).toHaveLength(2);
    const [kept, revoked] = dashed as [string, string];
    const store = `sqlite:${path}`;

    const one = await cli(['sessions', 'revoke', revoked, '--store', store]);
    expect(one).toMatchObject({ code: 0, stdout: `session ${revoked} revoked.\n`, stderr: '' });
    const all = await cli(['sessions', 'revoke', '--user', 'dash', '--except', kept, '--store', store]);
    expect(all.stderr).toBe('');
    expect(all.code).toBe(0);
    expect(all.lines[0]).toBe(`${others} session${others === 1 ? '' : 's'} of user "dash" revoked:`);
    const left = JSON.parse((await cli(['sessions', 'list', '--user', 'dash', '--json', '--store', store])).stdout) as { sessions: Array<{ handle: string }> };
    expect(left.sessions.map((s) => s.handle)).toEqual([kept]);
    // What the flag parser already understood still works.
    expect((await cli(['sessions', 'revoke', '--store', store, '--', kept])).code).toBe(0);
  });

  it('makes the revocation visible to a running engine on the same store at once', async () => {
    const store = sqliteStore({ path: db });
    const sessions = createSessions({ store, sweepInterval: false });
    const { token, session } = await sessions.create({ userId: 'dave' });
    expect((await sessions.validate(token)).ok).toBe(true);
    expect((await cli(['sessions', 'revoke', session.handle, '--store', `sqlite:${db}`])).code).toBe(0);
    expect(await sessions.validate(token)).toEqual({ ok: false, reason: 'revoked' });
    await sessions.close();
    await store.close();
  });
});

describe('latchkey keys', () => {
  it('creates the key file on first use, then rotates: the new key signs, the old one verifies for a day', async () => {
    const dataDir = join(dir, 'data');
    const first = await cli(['keys', 'rotate', '--data-dir', dataDir]);
    expect(first.code).toBe(0);
    const firstKid = first.lines.at(-1) as string;
    expect(firstKid).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(first.stdout).toContain('created it');

    const second = await cli(['keys', 'rotate'], { env: { LATCHKEY_DATA_DIR: dataDir } });
    expect(second.code).toBe(0);
    const kid = second.lines.at(-1) as string;
    expect(kid).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(kid).not.toBe(firstKid);
    expect(second.stdout).toContain(`The previous key ${firstKid} verifies until`);

    const keys = await createKeySet({ storage: fileKeyStorage(join(dataDir, 'keys.json')) });
    const listed = keys.list();
    expect(listed.map((k) => [k.kid, k.signing])).toEqual([
      [kid, true],
      [firstKid, false],
    ]);
    const retires = listed[1]?.retiresAt as number;
    expect(Math.abs(retires - (Date.now() + 86_400_000))).toBeLessThan(60_000);
    expect((await keys.signingKey()).kid).toBe(kid);

    const json = JSON.parse((await cli(['keys', 'list', '--json', '--data-dir', dataDir])).stdout) as { keys: Array<{ kid: string; retiresAt: number | null }> };
    expect(json.keys.map((k) => k.kid)).toEqual([kid, firstKid]);
    expect(JSON.stringify(json)).not.toMatch(/"d"|"k"/);
    const table = await cli(['keys', 'list', '--data-dir', dataDir]);
    expect(table.stdout).toMatch(new RegExp(`${kid}\\s+EdDSA\\s+.*signs`));
    expect(table.stdout).toMatch(new RegExp(`${firstKid}\\s+EdDSA\\s+.*verifies until`));
  });

  it('reaches a running key set when it re-reads the file, which then signs with the new key', async () => {
    const clock = manualClock(Date.now());
    const path = join(dir, '.latchkey', 'keys.json');
    const running = await createKeySet({ storage: fileKeyStorage(path), clock });
    const old = (await running.signingKey()).kid;
    const kid = (await cli(['keys', 'rotate'])).lines.at(-1) as string;
    expect(running.verificationKey(kid)).toBeUndefined();
    expect((await running.signingKey()).kid).toBe(old);
    clock.advance(31_000);
    expect(await running.reloadIfStale()).toBe(true);
    expect(running.verificationKey(kid)).toBeDefined();
    expect((await running.signingKey()).kid).toBe(kid);
    expect(running.verificationKey(old)).toBeDefined();
  });

  it('keeps the algorithm of the key in use', async () => {
    const path = join(dir, '.latchkey', 'keys.json');
    await createKeySet({ storage: fileKeyStorage(path), algorithm: 'ES256' });
    expect((await cli(['keys', 'rotate'])).code).toBe(0);
    expect((await createKeySet({ storage: fileKeyStorage(path), algorithm: 'ES256' })).list().map((k) => k.alg)).toEqual(['ES256', 'ES256']);
  });

  it('answers exit code 1 for a listing without a key file, and 2 for a key file others may read', async () => {
    const missing = await cli(['keys', 'list']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no key file at');
    await cli(['keys', 'rotate']);
    chmodSync(join(dir, '.latchkey', 'keys.json'), 0o644);
    const loose = await cli(['keys', 'rotate']);
    expect(loose.code).toBe(2);
    expect(loose.stderr).toContain('run chmod 600 on it');
  });
});

describe('latchkey migrate', () => {
  it('migrates a new SQLite file from v0 and finds it up to date the next time', async () => {
    const first = await cli(['migrate', '--store', 'sqlite:./db/latchkey.db']);
    expect(first).toMatchObject({ code: 0, stdout: 'sqlite:./db/latchkey.db: schema v0 → v2\n' });
    expect(existsSync(join(dir, 'db', 'latchkey.db'))).toBe(true);
    expect((await cli(['migrate', '--store', 'sqlite:./db/latchkey.db'])).stdout).toBe('sqlite:./db/latchkey.db: schema v2 → v2 (already up to date)\n');
  });

  it('reports a Redis it cannot reach with exit code 3 (test/migrations covers a reachable one)', async () => {
    expect(await cli(['migrate', '--store', 'redis://127.0.0.1:1'])).toMatchObject({ code: 3, stdout: '' });
  });
});

describe('latchkey bench', () => {
  it('creates sessions, measures validate and prints a table', async () => {
    const out = await cli(['bench', '--sessions', '300', '--duration', '1']);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('store memory:, 300 sessions');
    expect(out.stdout).toMatch(/OPERATION\s+OPS\s+OPS\/S\s+P50 µs\s+P99 µs/);
    expect(out.stdout).toMatch(/\ncreate\s+300\s+[\d,]+\s+[\d.]+\s+[\d.]+\n/);
    expect(out.stdout).toMatch(/\nvalidate\s+[\d,]+\s+[\d,]+\s+[\d.]+\s+[\d.]+\n/);
    expect(out.stderr).toContain('created 300 sessions; validating for 1 s');
  });

  it('reports JSON and leaves no session behind in a persistent store that existed, which stays', async () => {
    const path = join(dir, 'bench.db');
    const kept = await seedSessions(path, { resident: 1 });
    const out = await cli(['bench', '--sessions', '200', '--duration', '1', '--json', '--store', 'sqlite:./bench.db']);
    expect(out.code).toBe(0);
    const report = JSON.parse(out.stdout) as { store: string; sessions: number; results: Array<{ operation: string; ops: number; opsPerSec: number; p50Us: number; p99Us: number }> };
    expect(report).toMatchObject({ store: 'sqlite:./bench.db', sessions: 200 });
    expect(report.results.map((r) => r.operation)).toEqual(['create', 'validate']);
    const validate = report.results[1];
    expect(validate?.ops).toBeGreaterThan(100);
    expect(validate?.p99Us).toBeGreaterThanOrEqual(validate?.p50Us as number);
    expect(existsSync(path)).toBe(true);
    const store = sqliteStore({ path });
    // Only the session that was there before: sweeping as if every session had expired finds just it.
    expect(await store.sweep(Number.MAX_SAFE_INTEGER, 10_000)).toBe(1);
    await store.close();
    expect(kept.resident).toHaveLength(1);
  });

  it('deletes an SQLite file it created, with its -wal and -shm and the folder made for it', async () => {
    const out = await cli(['bench', '--sessions', '50', '--duration', '1', '--json', '--store', 'sqlite:./new/bench.db']);
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({ store: 'sqlite:./new/bench.db', sessions: 50 });
    for (const file of ['bench.db', 'bench.db-wal', 'bench.db-shm']) expect(existsSync(join(dir, 'new', file))).toBe(false);
    expect(existsSync(join(dir, 'new'))).toBe(false);
    expect(existsSync(dir)).toBe(true);
  });

  it('benchmarks memory: even when LATCHKEY_STORE names another store', async () => {
    const out = await cli(['bench', '--sessions', '10', '--duration', '1', '--json'], { env: { LATCHKEY_STORE: 'sqlite:./prod.db' } });
    expect(JSON.parse(out.stdout)).toMatchObject({ store: 'memory:' });
    expect(existsSync(join(dir, 'prod.db'))).toBe(false);
  });
});

describe('secrets in output', () => {
  it('never prints a store password, even from an error naming the URL', async () => {
    const out = await cli(['sessions', 'list', '--user', 'u', '--store=redis-cluster://app:pa55word-x@h:99999']);
    expect(out.code).toBe(2);
    expect(out.stderr).not.toContain('pa55word-x');
  });

});
