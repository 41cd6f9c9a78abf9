/**
 * Stores by URL, for the service and the CLI: `sqlite:<path>`, `memory:`,
 * `redis://…`/`rediss://…`, `redis-cluster://h1:p1,h2:p2`, and
 * `postgres://…`/`postgresql://…`. The Redis and PostgreSQL drivers are
 * loaded only when such a URL is used.
 *
 * @module
 */
import { resolve } from 'node:path';
import { ConfigError, StoreUnavailableError } from '../core/errors.js';
import type { Store } from '../core/store.js';

/** A parsed store URL. */
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
 */
export function parseStoreUrl(url: string, cwd: string = process.cwd()): StoreLocation {
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

/** Whether the store answers a ping within `ms` (readiness checks); never throws, leaves no timer behind. */
export async function storeReady(store: Store, ms = 1000): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([store.ping().catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  readonly cwd?: string;
  /** Connection errors that belong to no call (the store keeps working and reconnects). */
  readonly onError?: (error: unknown) => void;
  /** PostgreSQL: create or upgrade the schema on open. @default true */
  readonly migrate?: boolean;
}

/**
 * Opens the store a URL names and waits until it is usable: the SQLite file
 * is open, PostgreSQL's schema is checked or migrated, Redis answers a ping.
 *
 * @throws {ConfigError} for a bad URL or a missing driver (with the
 *   `npm install` line); {StoreUnavailableError} for a Redis that does not
 *   answer; the store's own error when it cannot be opened.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const where = parseStoreUrl(url, options.cwd);
  const onError = options.onError;
  switch (where.kind) {
    case 'memory': {
      const { memoryStore } = await import('../stores/memory.js');
      return memoryStore();
    }
    case 'sqlite': {
      await need('better-sqlite3', 'sqlite:');
      const { sqliteStore } = await import('../stores/sqlite.js');
      return sqliteStore({ path: where.path });
    }
    case 'redis':
    case 'redis-cluster': {
      await need('ioredis', 'redis://');
      const { redisStore } = await import('../stores/redis/index.js');
      const store =
        where.kind === 'redis'
          ? redisStore({ url: where.url, ...(onError ? { onError } : {}) })
          : redisStore({
              cluster: {
                nodes: where.nodes.map((n) => ({ host: n.host, port: n.port })),
                options: { redisOptions: { ...(where.username ? { username: where.username } : {}), ...(where.password !== undefined ? { password: where.password } : {}) } },
              },
              ...(onError ? { onError } : {}),
            });
      await waitForPing(store, url);
      return store;
    }
    case 'postgres': {
      await need('pg', 'postgres://');
      const { postgresStore } = await import('../stores/postgres/index.js');
      const store = postgresStore({ connectionString: where.url, migrate: options.migrate ?? true, ...(onError ? { onError } : {}) });
      try {
        await store.ready();
      } catch (err) {
        await store.close().catch(() => undefined);
        throw err;
      }
      return store;
    }
  }
}

async function waitForPing(store: Store, url: string, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await store.ping().catch(() => false)) return;
    if (Date.now() > until) {
      await store.close().catch(() => undefined);
      throw new StoreUnavailableError(`store ${redactStoreUrl(url)} did not answer within ${timeoutMs / 1000} s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function need(pkg: string, scheme: string): Promise<void> {
  try {
    await import(pkg);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new ConfigError(`a ${scheme} store needs the "${pkg}" package: npm install ${pkg}`);
    }
    throw err;
  }
}
