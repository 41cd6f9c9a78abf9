/**
 * latchkey's tables in PostgreSQL: their names (schema, table prefix), the
 * versioned migrations that create and upgrade them, and {@link migrate},
 * which runs them in one transaction under an advisory lock.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { Pool, PoolClient, PoolConfig, QueryResult } from 'pg';
import { durationOption, type Duration } from '../../core/duration.js';
import { ConfigError, LatchkeyError } from '../../core/errors.js';
import { checkOptionKeys } from '../../core/option-keys.js';
import { columnDefinitions, POSTGRES, SCHEMA_1_COLUMNS } from '../sql-columns.js';
import { kindsMigration, POSTGRES_KINDS } from '../sql-kinds.js';
import { codeOf, noop, ownPool, translate, TYPES, type Query } from './connection.js';

/** Version of the schema this code writes; older schemas are migrated on open. */
export const POSTGRES_SCHEMA_VERSION = 3;

/** Options of {@link migrate}: where the database is, and the names of latchkey's tables there. */
export interface PostgresMigrateOptions {
  /** As for `postgresStore()`. */
  connectionString?: string;
  /** As for `postgresStore()`: used, never closed. */
  pool?: Pool;
  /** As for `postgresStore()`. */
  poolConfig?: PoolConfig;
  /** @default 'public' */
  schema?: string;
  /** @default 'latchkey_' */
  tablePrefix?: string;
  /**
   * How long to wait for another instance's migration (advisory lock) and for the DDL itself.
   * @default '60s'
   */
  timeout?: Duration;
}

const MIGRATE_OPTIONS = ['connectionString', 'pool', 'poolConfig', 'schema', 'tablePrefix', 'timeout'];

/** The names of one set of latchkey's tables. */
export interface Names {
  schema: string;
  prefix: string;
  sessions: string;
  meta: string;
  /** The key-value table. */
  values: string;
  /** The shared security-event log (version 3). */
  events: string;
  /** Key of the advisory lock that serialises migrations of these tables. */
  lockKey: string;
  /** Distinguishes the prepared statements of stores on different tables sharing one pool. */
  tag: string;
  /** The LISTEN/NOTIFY channel of these tables. */
  channel: string;
}

/**
 * The migrations, in order: `MIGRATIONS[v]` takes the schema from version `v`
 * to `v + 1`. Timestamps are bigint milliseconds since the epoch, as in the
 * model: the engine's clock (injectable, frozen in tests) is the only clock,
 * the database's `now()` is never used, and values round-trip exactly.
 */
const MIGRATIONS: ReadonlyArray<(n: Names) => string[]> = [
  (n) => [
    `CREATE TABLE ${n.sessions} (
       ${columnDefinitions(POSTGRES, SCHEMA_1_COLUMNS)}
     )`,
    // Only active rows are listed or revoked by user: tombstones stay out of the index.
    `CREATE INDEX ${ident(`${n.prefix}sessions_user`)} ON ${n.sessions} (user_id, created_at, issued_at)
       WHERE status = 'active' AND user_id IS NOT NULL`,
    `CREATE INDEX ${ident(`${n.prefix}sessions_expiry`)} ON ${n.sessions} (expires_at)`,
  ],
  // 2: records know their kind; the key-value table; version 1's stand-in records become what they stood for.
  (n) => kindsMigration(POSTGRES_KINDS, { sessions: n.sessions, values: n.values, valuesExpiry: ident(`${n.prefix}values_expiry`) }),
  // 3: the security-event log that every instance on the database reads (shared.ts); shared counters live in the values table.
  (n) => [
    `CREATE TABLE ${n.events} (id bigserial PRIMARY KEY, ring text NOT NULL, body text NOT NULL)`,
    `CREATE INDEX ${ident(`${n.prefix}events_ring`)} ON ${n.events} (ring, id)`,
  ],
];

const LOCK_CLASS = 0x4c4b; // 'LK': the first key of latchkey's advisory locks

/**
 * Creates or upgrades latchkey's schema to {@link POSTGRES_SCHEMA_VERSION},
 * in one transaction under an advisory lock, so that several instances (or a
 * deployment job and instances) may run it at once. What `latchkey migrate`
 * runs; `postgresStore()` runs it on open unless `migrate: false`.
 *
 * @returns the schema version found and the version now in place
 * @throws ConfigError when the database holds a newer schema than this latchkey knows
 *
 * @example
 * ```ts
 * import { migrate } from 'latchkey/stores/postgres';
 *
 * const { from, to } = await migrate({ connectionString: process.env.DATABASE_URL });
 * console.log(`latchkey schema: version ${from} -> ${to}`);
 * ```
 */
export async function migrate(options: PostgresMigrateOptions = {}): Promise<{ from: number; to: number }> {
  checkOptionKeys(options, 'migrate()', MIGRATE_OPTIONS, { retired: { timeoutMs: "use timeout, a duration such as '60s'" } });
  const names = namesOf(options);
  const timeoutMs = durationOption('timeout', options.timeout ?? '60s', { min: 1 });
  const owned = options.pool === undefined;
  const pool = ownPool(options, { max: 1, connectionTimeoutMillis: Math.min(timeoutMs, 10_000) });
  pool.on('error', noop);
  try {
    return await applyMigrations(pool, names, timeoutMs);
  } finally {
    if (owned) await pool.end().catch(noop);
    pool.off('error', noop);
  }
}

/** Runs the migrations the schema lacks, on one connection of `pool`, in one transaction. */
export async function applyMigrations(pool: Pool, names: Names, timeoutMs: number): Promise<{ from: number; to: number }> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw translate(err);
  }
  // A connection lost between two statements of the transaction must not become an unhandled 'error'.
  client.on('error', noop);
  const exec = (text: string, values: unknown[] = []): Promise<QueryResult> =>
    client.query({ text, values, types: TYPES, query_timeout: timeoutMs + 1000 } as Query);
  let broken: Error | undefined;
  try {
    await exec('BEGIN');
    await exec(`SET LOCAL statement_timeout = ${timeoutMs}`);
    await exec('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS, names.lockKey]);
    // Existence is checked first, so that an up-to-date schema needs no CREATE privilege.
    const found = await exec('SELECT to_regnamespace($1) IS NOT NULL AS schema, to_regclass($2) IS NOT NULL AS meta', [
      ident(names.schema),
      names.meta,
    ]);
    const have = found.rows[0] as { schema: boolean; meta: boolean };
    if (!have.schema) await exec(`CREATE SCHEMA ${ident(names.schema)}`);
    if (!have.meta) await exec(`CREATE TABLE ${names.meta} (key text PRIMARY KEY, value text NOT NULL)`);
    const from = await readVersion(exec, names);
    if (from > POSTGRES_SCHEMA_VERSION) throw newerSchema(from, names);
    for (let v = from; v < POSTGRES_SCHEMA_VERSION; v++) {
      for (const statement of (MIGRATIONS[v] as (n: Names) => string[])(names)) await exec(statement);
    }
    if (from !== POSTGRES_SCHEMA_VERSION) {
      await exec(
        `INSERT INTO ${names.meta} (key, value) VALUES ('schema_version', $1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [String(POSTGRES_SCHEMA_VERSION)],
      );
    }
    await exec('COMMIT');
    return { from, to: POSTGRES_SCHEMA_VERSION };
  } catch (err) {
    if (!(err instanceof LatchkeyError)) broken = err instanceof Error ? err : new Error(String(err));
    await exec('ROLLBACK').catch(noop);
    if (codeOf(err) === '42501') {
      throw new ConfigError(
        `the database user may not create or change latchkey's tables ${names.sessions} and ${names.meta}; ` +
          'run `latchkey migrate` (migrate() of latchkey/stores/postgres) as a user who may, and open the store with migrate: false',
      );
    }
    throw translate(err);
  } finally {
    client.off('error', noop);
    // A connection that failed is dropped, not handed to the next caller.
    client.release(broken);
  }
}

/** Rejects unless the schema is at this code's version (for stores opened with `migrate: false`). */
export async function checkVersion(pool: Pool, names: Names, queryMs: number): Promise<void> {
  let version: number;
  try {
    const exec = (text: string, values: unknown[] = []): Promise<QueryResult> =>
      pool.query({ text, values, types: TYPES, query_timeout: queryMs } as Query);
    const found = await exec('SELECT to_regclass($1) IS NOT NULL AS meta', [names.meta]);
    version = (found.rows[0] as { meta: boolean }).meta ? await readVersion(exec, names) : 0;
  } catch (err) {
    throw translate(err);
  }
  if (version > POSTGRES_SCHEMA_VERSION) throw newerSchema(version, names);
  if (version < POSTGRES_SCHEMA_VERSION) {
    throw new ConfigError(
      `the latchkey schema in ${names.sessions} is at version ${version}, this latchkey needs version ${POSTGRES_SCHEMA_VERSION}; ` +
        'run `latchkey migrate` (migrate() of latchkey/stores/postgres) or open the store with migrate: true',
    );
  }
}

async function readVersion(exec: (text: string, values?: unknown[]) => Promise<QueryResult>, names: Names): Promise<number> {
  const res = await exec(`SELECT value FROM ${names.meta} WHERE key = 'schema_version'`);
  const row = res.rows[0] as { value: string } | undefined;
  return row === undefined ? 0 : Number(row.value);
}

function newerSchema(version: number, names: Names): ConfigError {
  return new ConfigError(
    `the database has latchkey schema version ${version} in ${names.meta}, newer than this version of latchkey supports (${POSTGRES_SCHEMA_VERSION}); upgrade latchkey`,
  );
}

const NAME = /^[a-z_][a-z0-9_]*$/;

/** The names of the tables `options` point at, checked. */
export function namesOf(options: { schema?: string | undefined; tablePrefix?: string | undefined }): Names {
  const schema = options.schema ?? 'public';
  if (typeof schema !== 'string' || !NAME.test(schema) || schema.length > 63) {
    throw new ConfigError(`schema must be 1 to 63 lower-case letters, digits and _, starting with a letter or _ (got ${JSON.stringify(schema)})`);
  }
  const prefix = options.tablePrefix ?? 'latchkey_';
  // The longest name made from it, "<prefix>sessions_expiry", must fit PostgreSQL's 63 bytes.
  if (typeof prefix !== 'string' || (prefix !== '' && !NAME.test(prefix)) || prefix.length > 48) {
    throw new ConfigError(
      `tablePrefix must be at most 48 lower-case letters, digits and _, starting with a letter or _ (got ${JSON.stringify(prefix)})`,
    );
  }
  const digest = createHash('sha256').update(`${schema}.${prefix}`).digest('hex');
  return {
    schema,
    prefix,
    sessions: `${ident(schema)}.${ident(`${prefix}sessions`)}`,
    meta: `${ident(schema)}.${ident(`${prefix}meta`)}`,
    values: `${ident(schema)}.${ident(`${prefix}values`)}`,
    events: `${ident(schema)}.${ident(`${prefix}events`)}`,
    lockKey: `latchkey:${schema}.${prefix}`,
    tag: digest.slice(0, 10),
    channel: `latchkey_${digest.slice(0, 16)}`,
  };
}

/** A quoted SQL identifier (names are checked against {@link NAME} first). */
export function ident(name: string): string {
  return `"${name}"`;
}
