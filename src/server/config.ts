/**
 * Configuration of `latchkey serve`: command-line flags, then `LATCHKEY_*`
 * environment variables, then the platform's `HOST` and `PORT` (as PaaS and
 * container images set them), then an optional JSON config file, then the
 * defaults. Everything is checked at start, and every problem is reported at
 * once with the option's name and where it came from.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseDuration } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import { checkOptionKeys } from '../core/option-keys.js';
import { clientIpResolver } from '../http/client.js';
import { parseStoreUrl } from '../stores/url.js';

/** Log levels of the service's structured (pino) logs. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The resolved configuration of the service. */
export interface ServiceConfig {
  /** Interface to listen on (`--host`, `LATCHKEY_HOST`, else `HOST` when it holds an IP address or `localhost`). @default '127.0.0.1' */
  readonly host: string;
  /** Port to listen on; 0 picks a free one (`--port`, `LATCHKEY_PORT`, else `PORT`). @default 4000 */
  readonly port: number;
  /** Store URL: `sqlite:<path>`, `memory:`, `redis://…`, `rediss://…`, `redis-cluster://h1:p1,h2:p2`, `redis-sentinel://s1:p1,s2:p2/<name>`, `postgres://…`. @default 'sqlite:./.latchkey/latchkey.db' */
  readonly store: string;
  /** Folder of the service's own files: signing keys, the refresh secret, the generated admin password. @default './.latchkey' */
  readonly dataDir: string;
  /** The dashboard's admin password; when absent, one is generated into `<dataDir>/admin-password`. */
  readonly adminPassword: string | null;
  /** Key deriving refresh-token successors (≥ 32 characters); when absent, one is generated into `<dataDir>/refresh-secret`. Every instance of a fleet needs the same. */
  readonly refreshSecret: string | null;
  /**
   * Key of DPoP server nonces (≥ 32 bytes, RFC 9449 section 8): forwarded proofs must carry a nonce the service
   * handed out (`DPoP-Nonce`). Every instance of a fleet needs the same. @default null (no nonces)
   */
  readonly dpopNonceSecret: string | null;
  /** Proxies whose forwarding headers are believed (addresses or CIDR ranges). @default [] */
  readonly trustProxy: readonly string[];
  /** `iss` of access tokens. @default 'latchkey' */
  readonly issuer: string;
  /** `aud` of access tokens. @default 'latchkey' */
  readonly audience: string;
  /** Sessions: idle timeout. @default '30m' */
  readonly idleTimeout: string;
  /** Sessions: absolute timeout. @default '12h' */
  readonly absoluteTimeout: string;
  /** Token mode: access-token lifetime. @default '5m' */
  readonly accessTtl: string;
  /** Token mode: refresh-token idle timeout. @default '14d' */
  readonly refreshIdleTimeout: string;
  /** Token mode: refresh-token absolute timeout. @default '30d' */
  readonly refreshAbsoluteTimeout: string;
  /** Most sessions (and token families, each) a user may hold; the oldest is revoked to make room. 0: no limit. @default 0 */
  readonly maxSessionsPerUser: number;
  /** Largest request body, in bytes. @default 131072 */
  readonly bodyLimit: number;
  /** @default 'info' */
  readonly logLevel: LogLevel;
  /** Serve the demo site at `/demo`. @default true */
  readonly demo: boolean;
  /** Serve the admin dashboard at `/admin`. @default true */
  readonly dashboard: boolean;
  /** How long a graceful shutdown waits for requests in flight. @default '10s' */
  readonly shutdownTimeout: string;
}

/** Where a configuration value can come from, strongest first. */
export interface ConfigSources {
  /** Parsed command-line flags, by option name (`port`, `store`, `trustProxy`...). */
  readonly flags?: Readonly<Record<string, string | boolean | undefined>>;
  /** The environment (`LATCHKEY_PORT`...). @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** A JSON config file: `flags.config`, else `LATCHKEY_CONFIG`, else none. */
  readonly file?: string;
  /** Relative paths are resolved against it. @default process.cwd() */
  readonly cwd?: string;
}

type Kind = 'string' | 'port' | 'int' | 'count' | 'duration' | 'bool' | 'proxies' | 'level' | 'store' | 'secret' | 'key';

/** Every option: name, kind, default. The flag is the kebab-case name, the variable LATCHKEY_ + SNAKE_CASE. */
export const CONFIG_OPTIONS: ReadonlyArray<{ readonly name: keyof ServiceConfig; readonly kind: Kind; readonly default: unknown; readonly help: string }> = [
  { name: 'host', kind: 'string', default: '127.0.0.1', help: 'interface to listen on' },
  { name: 'port', kind: 'port', default: 4000, help: 'port to listen on (0: any free port)' },
  { name: 'store', kind: 'store', default: 'sqlite:./.latchkey/latchkey.db', help: 'store URL: sqlite:<path>, memory:, redis://, rediss://, redis-cluster://, redis-sentinel://, postgres://' },
  { name: 'dataDir', kind: 'string', default: './.latchkey', help: 'folder of signing keys, the refresh secret and the generated admin password' },
  { name: 'adminPassword', kind: 'secret', default: null, help: 'dashboard admin password (default: generated into <data-dir>/admin-password)' },
  { name: 'refreshSecret', kind: 'key', default: null, help: 'refresh-token key, 32+ characters (default: generated into <data-dir>/refresh-secret)' },
  { name: 'dpopNonceSecret', kind: 'key', default: null, help: 'DPoP nonce key, 32+ characters: forwarded DPoP proofs must carry a nonce of the service, handed out in DPoP-Nonce (default: no nonces)' },
  { name: 'trustProxy', kind: 'proxies', default: [], help: 'comma-separated proxy addresses or CIDR ranges whose X-Forwarded-For is believed' },
  { name: 'issuer', kind: 'string', default: 'latchkey', help: 'iss of access tokens' },
  { name: 'audience', kind: 'string', default: 'latchkey', help: 'aud of access tokens' },
  { name: 'idleTimeout', kind: 'duration', default: '30m', help: 'session idle timeout' },
  { name: 'absoluteTimeout', kind: 'duration', default: '12h', help: 'session absolute timeout' },
  { name: 'accessTtl', kind: 'duration', default: '5m', help: 'access-token lifetime' },
  { name: 'refreshIdleTimeout', kind: 'duration', default: '14d', help: 'refresh-token idle timeout' },
  { name: 'refreshAbsoluteTimeout', kind: 'duration', default: '30d', help: 'refresh-token absolute timeout' },
  { name: 'maxSessionsPerUser', kind: 'count', default: 0, help: 'most sessions a user may hold; the oldest is signed out to make room (0: no limit)' },
  { name: 'bodyLimit', kind: 'int', default: 131072, help: 'largest request body in bytes' },
  { name: 'logLevel', kind: 'level', default: 'info', help: 'fatal, error, warn, info, debug, trace or silent' },
  { name: 'demo', kind: 'bool', default: true, help: 'serve the demo site at /demo' },
  { name: 'dashboard', kind: 'bool', default: true, help: 'serve the admin dashboard at /admin' },
  { name: 'shutdownTimeout', kind: 'duration', default: '10s', help: 'how long shutdown waits for requests in flight' },
];

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/**
 * The variable a platform sets for an option, read after latchkey's own:
 * `PORT` (Heroku, Cloud Run, Render, Fly.io... set it) and `HOST`. `HOST` is
 * taken only when it is an IP address or `localhost`: some shells (tcsh)
 * export the machine's name as `HOST`, which must not decide where the
 * service listens.
 *
 * @example
 * ```ts
 * platformVariable('port', { PORT: '8080' }); // { name: 'PORT', value: '8080' }
 * platformVariable('host', { HOST: 'build-box-3' }); // undefined: not an address
 * ```
 */
export function platformVariable(option: string, env: Readonly<Record<string, string | undefined>>): { name: string; value: string } | undefined {
  if (option === 'port') {
    const value = env.PORT?.trim();
    return value === undefined || value === '' ? undefined : { name: 'PORT', value };
  }
  if (option === 'host') {
    const value = env.HOST?.trim();
    return value !== undefined && (isIP(value) !== 0 || value === 'localhost') ? { name: 'HOST', value } : undefined;
  }
  return undefined;
}

/** `dataDir` → `data-dir`. */
export function flagName(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** `dataDir` → `LATCHKEY_DATA_DIR`. */
export function envName(name: string): string {
  return `LATCHKEY_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/**
 * Resolves the configuration.
 *
 * @throws {ConfigError} listing every invalid or unknown option, e.g.
 *   `invalid configuration: --port "http": must be a port number (0-65535)`.
 * @example
 * ```ts
 * const config = loadConfig({ flags: { port: '8080' }, env: process.env });
 * ```
 */
export function loadConfig(sources: ConfigSources = {}): ServiceConfig {
  checkOptionKeys(sources, 'loadConfig()', ['flags', 'env', 'file', 'cwd']);
  const env = sources.env ?? process.env;
  const flags = sources.flags ?? {};
  const cwd = sources.cwd ?? process.cwd();
  const problems: string[] = [];

  const filePath = sources.file ?? (typeof flags.config === 'string' ? flags.config : undefined) ?? env.LATCHKEY_CONFIG;
  let file: Record<string, unknown> = {};
  if (filePath !== undefined && filePath !== '') {
    const path = resolve(cwd, filePath);
    try {
      const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) problems.push(`config file ${path}: must hold a JSON object`);
      else file = parsed as Record<string, unknown>;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push(`config file ${path}: ${code === 'ENOENT' ? 'not found' : err instanceof SyntaxError ? `not valid JSON (${err.message})` : String((err as Error).message)}`);
    }
    const known = new Set(CONFIG_OPTIONS.map((o) => o.name as string));
    for (const key of Object.keys(file)) if (!known.has(key)) problems.push(`config file: unknown option "${key}"`);
  }
  const knownFlags = new Set(['config', ...CONFIG_OPTIONS.map((o) => o.name as string)]);
  for (const key of Object.keys(flags)) if (!knownFlags.has(key) && flags[key] !== undefined) problems.push(`unknown option --${flagName(key)}`);

  const out: Record<string, unknown> = {};
  for (const o of CONFIG_OPTIONS) {
    let value: unknown = o.default;
    let from = 'default';
    const envValue = env[envName(o.name)];
    const platform = platformVariable(o.name, env);
    if (flags[o.name] !== undefined) {
      value = flags[o.name];
      from = `--${flagName(o.name)}`;
    } else if (envValue !== undefined && envValue !== '') {
      value = envValue;
      from = envName(o.name);
    } else if (platform !== undefined) {
      value = platform.value;
      from = platform.name;
    } else if (Object.hasOwn(file, o.name)) {
      value = file[o.name];
      from = `config file "${o.name}"`;
    }
    const checked = check(o.kind, value, cwd);
    if (typeof checked === 'object' && checked !== null && 'problem' in checked) {
      // Secrets are never shown; a store URL's message already names it (redacted).
      const shown = o.kind === 'secret' || o.kind === 'key' || o.kind === 'store' ? '' : ` ${JSON.stringify(value)}`;
      problems.push(`${from}${shown}: ${checked.problem}`);
    } else out[o.name] = checked;
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  if (typeof out.dataDir === 'string') out.dataDir = resolve(cwd, out.dataDir);
  return Object.freeze(out) as unknown as ServiceConfig;
}

function check(kind: Kind, value: unknown, cwd: string): unknown {
  switch (kind) {
    case 'string':
      return typeof value === 'string' && value.trim() !== '' ? value.trim() : { problem: 'must be a non-empty string' };
    case 'secret':
      if (value === null) return null;
      if (typeof value !== 'string' || value.length < 12) return { problem: 'must be a string of at least 12 characters (value not shown)' };
      return value;
    case 'key':
      if (value === null) return null;
      if (typeof value !== 'string' || Buffer.byteLength(value) < 32) return { problem: 'must be a string of at least 32 bytes, e.g. 32 random bytes in base64url (value not shown)' };
      return value;
    case 'port': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : NaN;
      return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : { problem: 'must be a port number (0-65535)' };
    }
    case 'int': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : NaN;
      return Number.isSafeInteger(n) && n >= 1024 ? n : { problem: 'must be a whole number of at least 1024' };
    }
    case 'count': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : NaN;
      return Number.isSafeInteger(n) && n >= 0 && n <= 1_000_000 ? n : { problem: 'must be a whole number from 0 to 1000000' };
    }
    case 'duration': {
      if (typeof value !== 'string' && typeof value !== 'number') return { problem: "must be a duration such as '30m', '12h' or '14d'" };
      const ms = parseDuration(value);
      return ms !== undefined && ms > 0 ? String(value) : { problem: "must be a duration such as '30m', '12h' or '14d'" };
    }
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|1|yes|on)$/i.test(value.trim())) return true;
      if (typeof value === 'string' && /^(false|0|no|off)$/i.test(value.trim())) return false;
      return { problem: 'must be true or false' };
    case 'proxies': {
      let list: string[];
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) list = value.map((v: string) => v.trim()).filter(Boolean);
      else if (typeof value === 'string') list = value.split(',').map((v) => v.trim()).filter(Boolean);
      else return { problem: 'must be a comma-separated list of addresses or CIDR ranges' };
      const bad = list.filter((entry) => {
        try {
          clientIpResolver({ trustProxy: [entry] });
          return false;
        } catch {
          return true;
        }
      });
      if (bad.length > 0) return { problem: `${bad.map((b) => JSON.stringify(b.slice(0, 64))).join(', ')}: not an IP address or CIDR range` };
      return Object.freeze(list);
    }
    case 'level':
      return typeof value === 'string' && LEVELS.has(value) ? value : { problem: 'must be one of fatal, error, warn, info, debug, trace, silent' };
    case 'store': {
      if (typeof value !== 'string') return { problem: 'must be a store URL' };
      try {
        parseStoreUrl(value, cwd);
        return value.trim();
      } catch (err) {
        return { problem: (err as Error).message };
      }
    }
  }
}
