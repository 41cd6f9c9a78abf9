/**
 * `latchkey migrate`: creates or upgrades the store's schema. PostgreSQL runs
 * the versioned migrations (in one transaction, under an advisory lock, so
 * several deployments may run it at once); SQLite migrates when it opens;
 * Redis converts the records of latchkey 0.1 that stood for something else
 * (every time it is run); memory keeps nothing to migrate.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import type * as PostgresModule from '../stores/postgres/index.js';
import type { RedisStore } from '../stores/redis/index.js';
import type { Connection } from '../stores/sqlite/driver.js';
import { ConfigError, LatchkeyError } from '../core/errors.js';
import { parseStoreUrl, redactStoreUrl } from '../stores/url.js';
import { makeStoreFolder } from '../server/state-folder.js';
import { parseVerb, STORE_HELP, STORE_OPTIONS } from './args.js';
import { showHelp, type Command } from './command.js';
import { EXIT, storeError } from './exit.js';
import { println } from './io.js';
import { serviceStore, storeCall, withStore } from './open-store.js';

const HELP = `Usage: latchkey migrate [--store <url>]

Creates or upgrades latchkey's schema in the store to the version this
latchkey needs, and prints "schema v<from> → v<to>".

  postgres://   runs the migrations in one transaction under an advisory
                lock (safe to run from several places at once). Run it as a
                database user who may create tables, then run the service
                with a user who may only read and write them.
  sqlite:       the file (and its folder) are created and migrated; a
                folder created for it is private (mode 0700) and gets a
                .gitignore that keeps it out of commits.
  redis://, rediss://, redis-cluster://
                records the schema version in <prefix>schema and converts
                what latchkey 0.1 stored as stand-in records (API keys,
                sealed values, the service's token families, dashboard and
                demo sessions). Stores migrate on their first call anyway;
                run this once more after the last instance of an older
                latchkey has stopped, to convert what it wrote meanwhile.
  memory:       refused (exit code 2): it lives only inside one process.

A database with a newer schema than this latchkey knows is refused (exit 2).

Options:
${STORE_HELP}
  -h, --help         show this help`;

/** `latchkey migrate`. */
export const migrateCommand: Command = {
  name: 'migrate',
  summary: "create or upgrade the store's schema",
  help: HELP,
  async run(argv, io) {
    const { values } = parseVerb(argv, STORE_OPTIONS, HELP);
    if (values.help === true) return showHelp(io, HELP);
    const url = serviceStore(values, io, 'migrate');
    const where = parseStoreUrl(url, io.cwd);
    const shown = redactStoreUrl(url);
    switch (where.kind) {
      case 'postgres': {
        const { migrate } = await loadPostgres();
        let result: { from: number; to: number };
        try {
          result = await migrate({ connectionString: where.url });
        } catch (err) {
          throw err instanceof LatchkeyError ? err : storeError(err);
        }
        println(io.stdout, `${shown}: schema v${result.from} → v${result.to}${result.from === result.to ? ' (already up to date)' : ''}`);
        return EXIT.ok;
      }
      case 'sqlite': {
        const from = where.path === ':memory:' || !existsSync(where.path) ? 0 : await sqliteVersion(where.path);
        const { SQLITE_SCHEMA_VERSION } = await import('../stores/sqlite.js');
        if (where.path !== ':memory:') makeStoreFolder(url, io.cwd);
        await withStore(url, io, async () => undefined);
        println(io.stdout, `${shown}: schema v${from} → v${SQLITE_SCHEMA_VERSION}${from === SQLITE_SCHEMA_VERSION ? ' (already up to date)' : ''}`);
        return EXIT.ok;
      }
      case 'memory':
        return EXIT.usage; // refused by serviceStore above
      case 'redis':
      case 'redis-cluster': {
        const result = await withStore(url, io, (store) => storeCall(() => (store as RedisStore).migrate()));
        const converted = result.converted === 0 ? '' : `, ${result.converted} record${result.converted === 1 ? '' : 's'} of latchkey 0.1 converted`;
        println(io.stdout, `${shown}: schema v${result.from} → v${result.to}${result.from === result.to && result.converted === 0 ? ' (already up to date)' : converted}`);
        return EXIT.ok;
      }
    }
  },
};

/** The PostgreSQL store module, after checking that its driver is installed (exit code 2 otherwise). */
async function loadPostgres(): Promise<typeof PostgresModule> {
  try {
    await import('pg');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new ConfigError('a postgres:// store needs the "pg" package: npm install pg');
    }
    throw err;
  }
  return import('../stores/postgres/index.js');
}

/** The schema version recorded in an existing SQLite file, read-only; 0 when it has none. */
async function sqliteVersion(path: string): Promise<number> {
  const { openDatabase } = await import('../stores/sqlite/driver.js');
  let db: Connection | undefined;
  try {
    db = openDatabase(path, 'auto', { readonly: true });
    const value = db.value(`SELECT value FROM latchkey_meta WHERE key = 'schema_version'`);
    return value === undefined ? 0 : Number(value);
  } catch {
    return 0; // no meta table yet (an empty file), or not readable: opening the store says which
  } finally {
    db?.close();
  }
}
