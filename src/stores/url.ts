/**
 * Store URLs: `sqlite:<path>`, `memory:`, `redis://…`/`rediss://…`,
 * `redis-cluster://h1:p1,h2:p2` and `postgres://…`/`postgresql://…`, parsed
 * and redacted for logs. No driver is loaded here.
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
  | { readonly kind: 'redis'; readonly url: string }
  | { readonly kind: 'redis-cluster'; readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>; readonly username?: string; readonly password?: string }
  | { readonly kind: 'postgres'; readonly url: string };

/**
 * The URL with every password replaced by `***`, for logs and messages: the
 * userinfo's password (which may itself hold `@` or `/`), a `password` query
 * parameter (node-postgres reads one), and the passwords of a
 * `redis-cluster://` node list.
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
  rest = rest.replace(/([?&](?:password|pass|pwd)=)[^&#]*/gi, '$1***');
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
    throw new ConfigError(`store URL ${JSON.stringify(redactStoreUrl(text))} ${why}; expected sqlite:<path>, memory:, redis://host:port, rediss://host:port, redis-cluster://host:port,host:port or postgres://user@host/db`);
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
      return scheme.startsWith('redis') ? { kind: 'redis', url: text } : { kind: 'postgres', url: text };
    }
    case 'redis-cluster': {
      const m = /^redis-cluster:\/\/(?:([^@/]*)@)?([^/?#]+)\/?$/i.exec(text);
      if (m === null) return bad('is not of the form redis-cluster://host:port,host:port');
      const nodes = (m[2] as string).split(',').map((hp) => {
        const at = hp.lastIndexOf(':');
        const host = at === -1 ? hp : hp.slice(0, at).replace(/^\[(.*)\]$/, '$1');
        const port = at === -1 ? 6379 : Number(hp.slice(at + 1));
        if (host === '' || !Number.isInteger(port) || port < 1 || port > 65535) bad('has a bad node (host:port)');
        return { host, port };
      });
      const userinfo = m[1];
      if (userinfo === undefined) return { kind: 'redis-cluster', nodes };
      const colon = userinfo.indexOf(':');
      const username = decodeURIComponent(colon === -1 ? userinfo : userinfo.slice(0, colon));
      const password = colon === -1 ? undefined : decodeURIComponent(userinfo.slice(colon + 1));
      return { kind: 'redis-cluster', nodes, ...(username ? { username } : {}), ...(password !== undefined ? { password } : {}) };
    }
    default:
      return bad('has an unknown scheme');
  }
}
