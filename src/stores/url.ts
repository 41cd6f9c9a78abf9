/**
 * Store URLs: `sqlite:<path>`, `memory:`, `redis://…`/`rediss://…`,
 * `redis-cluster://h1:p1,h2:p2`, `redis-sentinel://s1:p1,s2:p2/<name>` and
 * `postgres://…`/`postgresql://…`, parsed and redacted for logs. No driver is
 * loaded here.
 *
 * The Redis forms take `?prefix=<key prefix>` (default `latchkey:`), so that
 * several deployments share one Redis, and `durability=<replicas>` with
 * `durabilityTimeout=<duration>` (the store's `durability` option).
 * `redis-sentinel://` is
 * `redis-sentinel://[[user]:password@]host[:port][,host[:port]…]/<name>[/<db>][?sentinelPassword=…&sentinelUsername=…&prefix=…]`:
 * the sentinels (port 26379 by default), the name they monitor the primary
 * by, the database number; the userinfo is the primary's credentials, the
 * sentinels' own go in the query.
 *
 * @module
 */
import { resolve } from 'node:path';
import { ConfigError, LatchkeyTypeError } from '../core/errors.js';

/**
 * A parsed store URL.
 *
 * @example
 * ```ts
 * const where: StoreLocation = parseStoreUrl('sqlite:./.latchkey/latchkey.db'); // { kind: 'sqlite', path: '/srv/app/.latchkey/latchkey.db' }
 * ```
 */
export type StoreLocation =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'memory' }
  | ({ readonly kind: 'redis'; readonly url: string } & RedisUrlExtras)
  | ({
      readonly kind: 'redis-cluster';
      readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>;
      readonly username?: string;
      readonly password?: string;
    } & RedisUrlExtras)
  | ({
      readonly kind: 'redis-sentinel';
      readonly sentinels: ReadonlyArray<{ readonly host: string; readonly port: number }>;
      /** The name the sentinels monitor the primary by. */
      readonly name: string;
      readonly db?: number;
      readonly username?: string;
      readonly password?: string;
      readonly sentinelUsername?: string;
      readonly sentinelPassword?: string;
    } & RedisUrlExtras)
  | { readonly kind: 'postgres'; readonly url: string };

/**
 * What every Redis URL form may add in its query: `prefix=<key prefix>`,
 * `durability=<replicas>` and `durabilityTimeout=<duration>` (the store's
 * `durability` option).
 *
 * @example
 * ```ts
 * parseStoreUrl('redis://h?prefix=app:&durability=1'); // { kind: 'redis', url: 'redis://h', prefix: 'app:', durability: { replicas: 1 } }
 * ```
 */
export interface RedisUrlExtras {
  readonly prefix?: string;
  readonly durability?: { readonly replicas: number; readonly timeout?: string };
}

const REDIS_EXTRAS = ['prefix', 'durability', 'durabilityTimeout'];

/** The extras of a Redis URL's query, checked for form (the store checks their values). */
function redisExtras(params: Record<string, string>, bad: (why: string) => never): RedisUrlExtras {
  const out: { prefix?: string; durability?: { replicas: number; timeout?: string } } = {};
  if (params.prefix !== undefined) out.prefix = params.prefix;
  if (params.durability !== undefined) {
    if (!/^\d{1,3}$/.test(params.durability)) bad('has durability= that is not a number of replicas');
    out.durability = { replicas: Number(params.durability), ...(params.durabilityTimeout !== undefined ? { timeout: params.durabilityTimeout } : {}) };
  } else if (params.durabilityTimeout !== undefined) bad('has durabilityTimeout= without durability=');
  return out;
}

/**
 * The URL with every password replaced by `***`, for logs and messages: the
 * userinfo's password (which may itself hold `@` or `/`), a `password` query
 * parameter (node-postgres reads one) or `sentinelPassword`, and the
 * passwords of a `redis-cluster://` or `redis-sentinel://` node list.
 *
 * @example
 * ```ts
 * redactStoreUrl('postgres://app:s3cret@db.internal/app'); // 'postgres://app:***@db.internal/app'
 * ```
 */
export function redactStoreUrl(url: string): string {
  const scheme = /^[a-z][a-z0-9+-]*:\/\//i.exec(url);
  if (scheme === null) return url;
  let rest = url.slice(scheme[0].length);
  // The authority ends at the first `/`, `?` or `#` after the last `@` (a password may hold `@` and `/`).
  const at = rest.lastIndexOf('@', Math.max(...['?', '#'].map((c) => (rest.includes(c) ? rest.indexOf(c) : rest.length))));
  if (at !== -1) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    rest = `${colon === -1 ? userinfo : `${userinfo.slice(0, colon)}:***`}${rest.slice(at)}`;
  }
  rest = rest.replace(/([?&](?:password|pass|pwd|sentinelPassword)=)[^&#]*/gi, '$1***');
  return scheme[0] + rest;
}

/**
 * Parses a store URL. Relative SQLite paths are resolved against `cwd`.
 *
 * @throws {ConfigError} naming the expected forms; never echoes a password.
 * @example
 * ```ts
 * parseStoreUrl('redis://cache.internal:6379/0'); // { kind: 'redis', url: 'redis://cache.internal:6379/0' }
 * ```
 */
export function parseStoreUrl(url: string, cwd: string = process.cwd()): StoreLocation {
  if (typeof url !== 'string') throw new LatchkeyTypeError('a store URL must be a string such as sqlite:./data/sessions.db');
  const text = url.trim();
  const bad = (why: string): never => {
    throw new ConfigError(`store URL ${JSON.stringify(redactStoreUrl(text))} ${why}; expected sqlite:<path>, memory:, redis://host:port, rediss://host:port, redis-cluster://host:port,host:port, redis-sentinel://host:port,host:port/name or postgres://user@host/db`);
  };
  const scheme = /^([a-z][a-z0-9+-]*):/i.exec(text)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'sqlite': {
      const path = text.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
      if (path === '') return bad('has no file path');
      return { kind: 'sqlite', path: path === ':memory:' ? ':memory:' : resolve(cwd, path) };
    }
    case 'memory':
      if (text.toLowerCase() !== 'memory:') return bad('takes nothing after "memory:"');
      return { kind: 'memory' };
    case 'redis':
    case 'rediss':
    case 'postgres':
    case 'postgresql': {
      let parsed: URL;
      try {
        parsed = new URL(text);
      } catch {
        return bad('is not a valid URL');
      }
      if (parsed.hostname === '') return bad('has no host');
      if (!scheme.startsWith('redis')) return { kind: 'postgres', url: text };
      const own: Record<string, string> = {};
      for (const name of REDIS_EXTRAS) {
        const values = parsed.searchParams.getAll(name);
        if (values.length > 1) return bad(`gives ${name} twice`);
        if (values[0] !== undefined) own[name] = values[0];
      }
      if (Object.keys(own).length === 0) return { kind: 'redis', url: text };
      // ioredis reads the query as options: these are latchkey's own.
      for (const name of REDIS_EXTRAS) parsed.searchParams.delete(name);
      return { kind: 'redis', url: parsed.href.replace(/\?$/, ''), ...redisExtras(own, bad) };
    }
    case 'redis-cluster': {
      const m = /^redis-cluster:\/\/(?:([^@/]*)@)?([^/?#]+)\/?(?:\?([^#]*))?$/i.exec(text);
      if (m === null) return bad('is not of the form redis-cluster://host:port,host:port');
      const query = queryOf(m[3], REDIS_EXTRAS, bad);
      return { kind: 'redis-cluster', nodes: hostList(m[2] as string, 6379, bad), ...credentials(m[1], bad), ...redisExtras(query, bad) };
    }
    case 'redis-sentinel': {
      const m = /^redis-sentinel:\/\/(?:([^@/]*)@)?([^/?#]+)\/([^/?#]+)(?:\/(\d+))?\/?(?:\?([^#]*))?$/i.exec(text);
      if (m === null) return bad('is not of the form redis-sentinel://host:port,host:port/name');
      const query = queryOf(m[5], [...REDIS_EXTRAS, 'sentinelUsername', 'sentinelPassword'], bad);
      const db = m[4] === undefined ? undefined : Number(m[4]);
      return {
        kind: 'redis-sentinel',
        sentinels: hostList(m[2] as string, 26379, bad),
        name: decoded(m[3] as string, bad),
        ...(db !== undefined ? { db } : {}),
        ...credentials(m[1], bad),
        ...(query.sentinelUsername !== undefined ? { sentinelUsername: query.sentinelUsername } : {}),
        ...(query.sentinelPassword !== undefined ? { sentinelPassword: query.sentinelPassword } : {}),
        ...redisExtras(query, bad),
      };
    }
    default:
      return bad('has an unknown scheme');
  }
}

/** `host:port,host:port` (IPv6 in brackets), `port` when a node gives none. */
function hostList(list: string, port: number, bad: (why: string) => never): Array<{ host: string; port: number }> {
  return list.split(',').map((hp) => {
    const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(hp);
    const p = m?.[3] === undefined ? port : Number(m[3]);
    if (m === null || !(p >= 1 && p <= 65535)) return bad('has a bad node (host:port)');
    return { host: (m[1] ?? m[2]) as string, port: p };
  });
}

/** Percent-decoded; a malformed escape is the URL's fault, not a crash. */
function decoded(text: string, bad: (why: string) => never): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return bad('has a malformed %-escape');
  }
}

/** `user:password` of a node list, decoded. */
function credentials(userinfo: string | undefined, bad: (why: string) => never): { username?: string; password?: string } {
  if (userinfo === undefined) return {};
  const colon = userinfo.indexOf(':');
  const username = decoded(colon === -1 ? userinfo : userinfo.slice(0, colon), bad);
  const password = colon === -1 ? undefined : decoded(userinfo.slice(colon + 1), bad);
  return { ...(username ? { username } : {}), ...(password !== undefined ? { password } : {}) };
}

/** The query of a node-list URL: only `known` parameters, each once. */
function queryOf(query: string | undefined, known: readonly string[], bad: (why: string) => never): Record<string, string> {
  const out: Record<string, string> = {};
  if (query === undefined || query === '') return out;
  for (const [key, value] of new URLSearchParams(query)) {
    if (!known.includes(key)) bad(`has an unknown parameter ${JSON.stringify(key.slice(0, 32))} (known: ${known.join(', ')})`);
    if (Object.hasOwn(out, key)) bad(`gives ${key} twice`);
    out[key] = value;
  }
  return out;
}
