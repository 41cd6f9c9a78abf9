/**
 * Opening the store a URL names, for applications that take their store from
 * configuration (as `latchkey serve` and the CLI do). Each store's module, and
 * its driver (ioredis, pg; for SQLite the runtime's own or better-sqlite3),
 * is imported only when a URL of its kind is opened: importing this module
 * loads none of them.
 *
 * @module
 */
import { ConfigError, StoreUnavailableError } from '../core/errors.js';
import { checkOptionKeys } from '../core/option-keys.js';
import type { Store } from '../core/store.js';
import { permissionRefused } from './permission.js';
import { parseStoreUrl, redactStoreUrl, type StoreLocation } from './url.js';

/**
 * Options of {@link openStore}.
 *
 * @example
 * ```ts
 * const options: OpenStoreOptions = { cwd: '/srv/app', migrate: false, onError: (err) => log.warn(err) };
 * ```
 */
export interface OpenStoreOptions {
  /** What a relative `sqlite:` path is relative to. @default process.cwd() */
  readonly cwd?: string;
  /** Connection errors that belong to no call (the store keeps working and reconnects). */
  readonly onError?: (error: unknown) => void;
  /** PostgreSQL: create or upgrade the schema on open. @default true */
  readonly migrate?: boolean;
}

/**
 * Opens the store a URL names and waits until it is usable: the SQLite file
 * is open, PostgreSQL's schema is checked or migrated, Redis answers a ping.
 * The caller owns the store: close it when done.
 *
 * @throws {ConfigError} for a bad URL, an unknown option or a missing driver
 *   (with the `npm install` line); {StoreUnavailableError} for a Redis that
 *   does not answer; the store's own error when it cannot be opened.
 * @example
 * ```ts
 * import { createSessions } from 'latchkey';
 * import { openStore } from 'latchkey/stores';
 *
 * const store = await openStore(process.env.SESSION_STORE ?? 'sqlite:./data/sessions.db');
 * const sessions = createSessions({ store });
 * ```
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  checkOptionKeys(options, 'openStore()', ['cwd', 'onError', 'migrate']);
  const where = parseStoreUrl(url, options.cwd);
  try {
    return await open(where, url, options);
  } catch (err) {
    // Deno without the permission a driver needs (a Redis driver reads the environment as it loads): what to grant.
    throw permissionRefused(err, STORE_NAMES[where.kind]) ?? err;
  }
}

const STORE_NAMES: Record<StoreLocation['kind'], string> = {
  memory: 'memory',
  sqlite: 'SQLite',
  redis: 'Redis',
  'redis-cluster': 'Redis',
  'redis-sentinel': 'Redis',
  postgres: 'PostgreSQL',
};

async function open(where: StoreLocation, url: string, options: OpenStoreOptions): Promise<Store> {
  const onError = options.onError;
  switch (where.kind) {
    case 'memory': {
      const { memoryStore } = await import('./memory.js');
      return memoryStore();
    }
    case 'sqlite': {
      // The store picks its driver (node:sqlite, bun:sqlite or better-sqlite3) and says what to install when there is none.
      const { sqliteStore } = await import('./sqlite.js');
      return sqliteStore({ path: where.path });
    }
    case 'redis':
    case 'redis-cluster':
    case 'redis-sentinel': {
      await need('ioredis', 'redis://');
      const { redisStore } = await import('./redis/index.js');
      const { redisStoreOptions } = await import('./redis/url-options.js');
      const store = redisStore({ ...redisStoreOptions(where), ...(onError ? { onError } : {}) });
      await waitForPing(store, url);
      return store;
    }
    case 'postgres': {
      await need('pg', 'postgres://');
      const { postgresStore } = await import('./postgres/index.js');
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
