import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { CONFIG_OPTIONS, envName, flagName, loadConfig } from '../../src/server/config.js';
import { parseStoreUrl, redactStoreUrl } from '../../src/stores/url.js';

const cwd = mkdtempSync(join(tmpdir(), 'latchkey-config-'));

describe('loadConfig', () => {
  it('has the documented defaults with nothing given', () => {
    const c = loadConfig({ env: {}, cwd });
    expect(c.host).toBe('127.0.0.1');
    expect(c.port).toBe(4000);
    expect(c.store).toBe('sqlite:./.latchkey/latchkey.db');
    expect(c.dataDir).toBe(join(cwd, '.latchkey'));
    expect(c.adminPassword).toBeNull();
    expect(c.trustProxy).toEqual([]);
    expect(c.demo).toBe(true);
    expect(c.dashboard).toBe(true);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('takes flags over the environment over the file', () => {
    const file = join(cwd, 'a.json');
    writeFileSync(file, JSON.stringify({ port: 5000, host: '0.0.0.0', logLevel: 'debug', trustProxy: ['10.0.0.0/8'] }));
    const c = loadConfig({ flags: { port: '6000' }, env: { LATCHKEY_PORT: '5500', LATCHKEY_HOST: '127.0.0.2', LATCHKEY_CONFIG: file }, cwd });
    expect(c.port).toBe(6000);
    expect(c.host).toBe('127.0.0.2');
    expect(c.logLevel).toBe('debug');
    expect(c.trustProxy).toEqual(['10.0.0.0/8']);
  });

  it('reads the contract variables LATCHKEY_HOST, LATCHKEY_PORT and LATCHKEY_STORE', () => {
    const c = loadConfig({ env: { LATCHKEY_HOST: '::1', LATCHKEY_PORT: '0', LATCHKEY_STORE: 'memory:' }, cwd });
    expect([c.host, c.port, c.store]).toEqual(['::1', 0, 'memory:']);
  });

  it('reads the platform variables PORT and HOST after LATCHKEY_PORT and LATCHKEY_HOST, before the file', () => {
    const file = join(cwd, 'platform.json');
    writeFileSync(file, JSON.stringify({ port: 5000, host: '127.0.0.5' }));
    const platform = { PORT: '8080', HOST: '0.0.0.0' };
    expect(loadConfig({ env: platform, file, cwd })).toMatchObject({ port: 8080, host: '0.0.0.0' });
    expect(loadConfig({ env: { ...platform, LATCHKEY_PORT: '9000', LATCHKEY_HOST: '::1' }, file, cwd })).toMatchObject({ port: 9000, host: '::1' });
    expect(loadConfig({ flags: { port: '7000', host: '127.0.0.7' }, env: platform, file, cwd })).toMatchObject({ port: 7000, host: '127.0.0.7' });
    expect(loadConfig({ env: { PORT: '', HOST: '' }, file, cwd })).toMatchObject({ port: 5000, host: '127.0.0.5' });
    expect(loadConfig({ env: { HOST: 'localhost' }, cwd }).host).toBe('localhost');
  });

  it("ignores a HOST that is not an address (a shell's machine name), and names PORT in its problem", () => {
    expect(loadConfig({ env: { HOST: 'build-box-3' }, cwd }).host).toBe('127.0.0.1');
    expect(() => loadConfig({ env: { PORT: '80x' }, cwd })).toThrow('invalid configuration: PORT "80x": must be a port number (0-65535)');
  });

  it('names every problem at once, with where the value came from', () => {
    let error: unknown;
    try {
      loadConfig({ flags: { port: 'http', idleTimeout: 'soon' }, env: { LATCHKEY_LOG_LEVEL: 'loud', LATCHKEY_DEMO: 'maybe' }, cwd });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const m = (error as Error).message;
    expect(m).toContain('--port "http": must be a port number');
    expect(m).toContain('--idle-timeout "soon"');
    expect(m).toContain('LATCHKEY_LOG_LEVEL "loud"');
    expect(m).toContain('LATCHKEY_DEMO "maybe": must be true or false');
  });

  it('checks the refresh secret\'s length, the proxy list and the session limit at start', () => {
    const e = () => loadConfig({ flags: { refreshSecret: 'only-twenty-chars-xx', trustProxy: '10.0.0.0/8,notanip,999.1.1.1/99' }, env: { LATCHKEY_MAX_SESSIONS_PER_USER: '-1' }, cwd });
    expect(e).toThrow(/--refresh-secret: must be a string of at least 32 bytes/);
    expect(e).toThrow(/--trust-proxy .*"notanip", "999\.1\.1\.1\/99": not an IP address or CIDR range/);
    expect(e).toThrow(/LATCHKEY_MAX_SESSIONS_PER_USER "-1": must be a whole number/);
    expect(e).not.toThrow(/only-twenty/);
    const ok = loadConfig({ flags: { refreshSecret: 'x'.repeat(32), trustProxy: '10.0.0.0/8, ::1', maxSessionsPerUser: '5' }, env: {}, cwd });
    expect([ok.trustProxy, ok.maxSessionsPerUser]).toEqual([['10.0.0.0/8', '::1'], 5]);
  });

  it('refuses unknown flags and unknown file keys', () => {
    const file = join(cwd, 'b.json');
    writeFileSync(file, JSON.stringify({ prot: 4000 }));
    expect(() => loadConfig({ flags: { colour: 'blue' }, env: {}, cwd })).toThrow('unknown option --colour');
    expect(() => loadConfig({ file, env: {}, cwd })).toThrow('config file: unknown option "prot"');
  });

  it('reports a missing or broken config file', () => {
    expect(() => loadConfig({ file: 'nope.json', env: {}, cwd })).toThrow(/config file .*nope\.json: not found/);
    const file = join(cwd, 'c.json');
    writeFileSync(file, '{ port: ');
    expect(() => loadConfig({ file, env: {}, cwd })).toThrow(/not valid JSON/);
    writeFileSync(file, '[1]');
    expect(() => loadConfig({ file, env: {}, cwd })).toThrow(/must hold a JSON object/);
  });

  it('never shows a secret or a store password in its messages', () => {
    const e1 = () => loadConfig({ env: { LATCHKEY_ADMIN_PASSWORD: 'short' }, cwd });
    expect(e1).toThrow(/LATCHKEY_ADMIN_PASSWORD: must be a string of at least 12/);
    expect(e1).not.toThrow(/short/);
    const e2 = () => loadConfig({ env: { LATCHKEY_STORE: 'mysql://app:hunter2hunter2@db/app' }, cwd });
    expect(e2).toThrow(/unknown scheme/);
    expect(e2).not.toThrow(/hunter2/);
  });

  it('names flags and variables from the option names', () => {
    expect(flagName('refreshIdleTimeout')).toBe('refresh-idle-timeout');
    expect(envName('dataDir')).toBe('LATCHKEY_DATA_DIR');
    for (const o of CONFIG_OPTIONS) expect(o.help.length).toBeGreaterThan(5);
  });
});

describe('store URLs', () => {
  it('parses every supported form', () => {
    expect(parseStoreUrl('sqlite:./data/x.db', '/srv')).toEqual({ kind: 'sqlite', path: '/srv/data/x.db' });
    expect(parseStoreUrl('sqlite:///var/lib/x.db', '/srv')).toEqual({ kind: 'sqlite', path: '/var/lib/x.db' });
    expect(parseStoreUrl('sqlite::memory:')).toEqual({ kind: 'sqlite', path: ':memory:' });
    expect(parseStoreUrl('memory:')).toEqual({ kind: 'memory' });
    expect(parseStoreUrl('redis://127.0.0.1:6379/0')).toEqual({ kind: 'redis', url: 'redis://127.0.0.1:6379/0' });
    expect(parseStoreUrl('rediss://cache.internal')).toEqual({ kind: 'redis', url: 'rediss://cache.internal' });
    expect(parseStoreUrl('postgresql://app@db/app')).toEqual({ kind: 'postgres', url: 'postgresql://app@db/app' });
    expect(parseStoreUrl('redis-cluster://u:p%40ss@10.0.0.1:7000,10.0.0.2:7001')).toEqual({
      kind: 'redis-cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
      username: 'u',
      password: 'p@ss',
    });
    expect(parseStoreUrl('redis-sentinel://:pw@10.0.0.1,10.0.0.2:26380,[::1]:26381/sessions/2?sentinelPassword=s%40p&prefix=app:')).toEqual({
      kind: 'redis-sentinel',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      name: 'sessions',
      db: 2,
      password: 'pw',
      sentinelPassword: 's@p',
      prefix: 'app:',
    });
    expect(parseStoreUrl('redis-sentinel://s1/primary')).toEqual({ kind: 'redis-sentinel', sentinels: [{ host: 's1', port: 26379 }], name: 'primary' });
    // A key prefix on every Redis form; ioredis never sees it.
    expect(parseStoreUrl('redis://h:6379/0?prefix=app:')).toEqual({ kind: 'redis', url: 'redis://h:6379/0', prefix: 'app:' });
    expect(parseStoreUrl('redis-cluster://h:7000?prefix=app:')).toEqual({ kind: 'redis-cluster', nodes: [{ host: 'h', port: 7000 }], prefix: 'app:' });
    // The durability option too.
    expect(parseStoreUrl('rediss://h/1?family=6&durability=1&durabilityTimeout=250ms')).toEqual({ kind: 'redis', url: 'rediss://h/1?family=6', durability: { replicas: 1, timeout: '250ms' } });
    expect(parseStoreUrl('redis-sentinel://s1/p?durability=2')).toMatchObject({ kind: 'redis-sentinel', durability: { replicas: 2 } });
    for (const bad of ['redis://h?durability=one', 'redis://h?durabilityTimeout=1s', 'redis-cluster://h?durability=1&durability=2', 'redis://h?prefix=a&prefix=b']) {
      expect(() => parseStoreUrl(bad), bad).toThrow(ConfigError);
    }
  });

  it('refuses a redis-sentinel:// URL without a name, with a bad sentinel or an unknown parameter', () => {
    for (const bad of ['redis-sentinel://s1/%', 'redis-sentinel://u:p%zz@s1/p', 'redis-cluster://u:%@h:7000', 'redis-sentinel://s1', 'redis-sentinel://s1/', 'redis-sentinel://s1:0/p', 'redis-sentinel://s1/p?password=x', 'redis-sentinel://s1/p?prefix=a&prefix=b', 'redis-sentinel://s1/p/x']) {
      expect(() => parseStoreUrl(bad), bad).toThrow(ConfigError);
    }
    expect(() => parseStoreUrl('redis-sentinel://s1')).toThrow(/redis-sentinel:\/\/host:port,host:port\/name/);
  });

  it('refuses what is not a store URL, with the expected forms', () => {
    for (const bad of ['', 'sqlite:', 'memory:x', 'redis://', 'ftp://x', 'redis-cluster://a:0', 'postgres://']) {
      expect(() => parseStoreUrl(bad), bad).toThrow(ConfigError);
    }
    expect(() => parseStoreUrl('nope')).toThrow(/expected sqlite:<path>, memory:, redis:\/\/host:port/);
  });

  it('redacts passwords', () => {
    expect(redactStoreUrl('redis://:secretpw@h:6379')).toBe('redis://:***@h:6379');
    expect(redactStoreUrl('postgres://app:secretpw@db/app')).toBe('postgres://app:***@db/app');
    expect(redactStoreUrl('postgres://app@db/app')).toBe('postgres://app@db/app');
    // A password holding `@` or `/`, a password in the query, a cluster's node list.
    expect(redactStoreUrl('redis://default:p@ss@redis.internal:6379')).toBe('redis://default:***@redis.internal:6379');
    expect(redactStoreUrl('postgres://app:se/cret@db.internal:5432/x')).toBe('postgres://app:***@db.internal:5432/x');
    expect(redactStoreUrl('postgres://app@db.internal/latchkey?sslmode=require&password=s3cret')).toBe('postgres://app@db.internal/latchkey?sslmode=require&password=***');
    expect(redactStoreUrl('postgres://app@db/x?password=a@b')).toBe('postgres://app@db/x?password=***');
    expect(redactStoreUrl('redis-cluster://u:pw@10.0.0.1:7000,10.0.0.2:7001')).toBe('redis-cluster://u:***@10.0.0.1:7000,10.0.0.2:7001');
    expect(redactStoreUrl('redis-sentinel://:pw@s1,s2/p?sentinelPassword=spw&prefix=a')).toBe('redis-sentinel://:***@s1,s2/p?sentinelPassword=***&prefix=a');
  });

  it('never throws anything but a ConfigError, and never echoes a password (fuzzed)', () => {
    const password = fc.stringMatching(/^[A-Za-z0-9]{8,16}$/).map((s) => `pw${s}`);
    const scheme = fc.constantFrom('redis', 'rediss', 'postgres', 'redis-cluster', 'redis-sentinel', 'mysql', 'sqlite', 'http');
    fc.assert(
      fc.property(scheme, password, fc.string({ maxLength: 20 }), (s, pw, rest) => {
        const url = `${s}://user:${pw}@${rest}`;
        try {
          parseStoreUrl(url);
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          expect((err as Error).message).not.toContain(pw);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
