/**
 * Schema version 2 of the SQL stores (SQLite, PostgreSQL), written once:
 * records know their kind (a `kind` column, `'session'` by default), values
 * that are not sessions live in a key-value table of their own, and the
 * records of version 1 that stood for something else (legacy.ts) become
 * what they are, in the same transaction as the schema change. Each store
 * runs {@link kindsMigration} as its migration 2.
 *
 * @module
 * @internal
 */
import { LEGACY_ADMIN_USER, LEGACY_API_KEY_USER, LEGACY_DEMO_PREFIX, LEGACY_FAMILY_KEY, MIGRATED } from './legacy.js';
import { columnDefinition, KIND_COLUMN, POSTGRES, SQLITE, type Dialect } from './sql-columns.js';

/** The tables and index names a migration writes, quoted as the dialect needs. */
export interface KindsTables {
  readonly sessions: string;
  readonly values: string;
  /** Name of the key-value table's expiry index. */
  readonly valuesExpiry: string;
}

/** How the two dialects spell what differs in the migration. */
interface Spelling {
  readonly dialect: Dialect;
  /** `CREATE TABLE` suffix (SQLite: `WITHOUT ROWID`). */
  readonly tableSuffix: string;
  /** The condition "the family marker is `true`" on `data`. */
  readonly marked: string;
  /** `data` without the marker. */
  readonly unmarked: string;
  /** The stored API key of a row, as JSON text. */
  readonly apiKeyJson: string;
  /** A row's data as JSON text. */
  readonly dataText: string;
}

const q = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const FAMILY_PATH = `'$."${LEGACY_FAMILY_KEY}"'`;

/** SQLite: JSON in TEXT, the JSON1 functions. */
export const SQLITE_KINDS: Spelling = {
  dialect: SQLITE,
  tableSuffix: ' WITHOUT ROWID',
  marked: `json_type(data, ${FAMILY_PATH}) = 'true'`,
  unmarked: `json_remove(data, ${FAMILY_PATH})`,
  apiKeyJson: `json_object('name', coalesce(json_extract(data, '$.name'), ''), 'createdAt', created_at, 'secretHash', secret_hash)`,
  dataText: 'data',
};

/** PostgreSQL: jsonb. */
export const POSTGRES_KINDS: Spelling = {
  dialect: POSTGRES,
  tableSuffix: '',
  marked: `data -> ${q(LEGACY_FAMILY_KEY)} = 'true'::jsonb`,
  unmarked: `data - ${q(LEGACY_FAMILY_KEY)}`,
  apiKeyJson: `json_build_object('name', coalesce(data ->> 'name', ''), 'createdAt', created_at, 'secretHash', secret_hash)::text`,
  dataText: 'data::text',
};

/** The key-value table: one row per namespace and key, an optional expiry in ms since the epoch. */
function valuesTable(sp: Spelling, t: KindsTables): string[] {
  const { types, identifierCollation: c } = sp.dialect;
  return [
    `CREATE TABLE ${t.values} (
       namespace ${types.text}${c} NOT NULL,
       key ${types.text}${c} NOT NULL,
       value ${types.text} NOT NULL,
       expires_at ${types.integer},
       PRIMARY KEY (namespace, key)
     )${sp.tableSuffix}`,
    `CREATE INDEX ${t.valuesExpiry} ON ${t.values} (expires_at) WHERE expires_at IS NOT NULL`,
  ];
}

/**
 * The statements of migration 2, in order: the `kind` column, the
 * key-value table, then the records of version 1 turned into what they
 * stood for (see legacy.ts). Idempotent in effect: run on a table with no
 * legacy rows, the conversions change nothing.
 */
export function kindsMigration(sp: Spelling, t: KindsTables): string[] {
  const s = t.sessions;
  const demoLength = LEGACY_DEMO_PREFIX.length;
  return [
    `ALTER TABLE ${s} ADD COLUMN ${columnDefinition(sp.dialect, KIND_COLUMN)} DEFAULT 'session'`,
    ...valuesTable(sp, t),
    // Token families: the marker becomes the kind. Their tombstones carry no data (so no marker): they stay 'session',
    // which token mode never asks of them (it checks the kind of a lineage's live record).
    `UPDATE ${s} SET kind = ${q(MIGRATED.refreshKind)}, data = ${sp.unmarked} WHERE ${sp.marked}`,
    `UPDATE ${s} SET kind = ${q(MIGRATED.adminKind)}, user_id = ${q(MIGRATED.adminUser)} WHERE user_id = ${q(LEGACY_ADMIN_USER)}`,
    `UPDATE ${s} SET kind = ${q(MIGRATED.demoKind)}, user_id = substr(user_id, ${demoLength + 1})
       WHERE substr(user_id, 1, ${demoLength}) = ${q(LEGACY_DEMO_PREFIX)} AND length(user_id) > ${demoLength}`,
    // API keys (no expiry: they live until revoked), then sealed mode's values (their own expiry).
    `INSERT INTO ${t.values} (namespace, key, value, expires_at)
       SELECT ${q(MIGRATED.apiKeyNamespace)}, handle, ${sp.apiKeyJson}, NULL FROM ${s}
       WHERE user_id = ${q(LEGACY_API_KEY_USER)} AND status = 'active' AND length(handle) = 24 AND ${hexHandle(sp)}`,
    `DELETE FROM ${s} WHERE user_id = ${q(LEGACY_API_KEY_USER)}`,
    `INSERT INTO ${t.values} (namespace, key, value, expires_at)
       SELECT ${q(MIGRATED.sealedNamespace)}, handle, ${sp.dataText}, expires_at FROM ${s} WHERE secret_hash = '' AND status = 'active'`,
    `DELETE FROM ${s} WHERE secret_hash = ''`,
  ];
}

/** "The handle is 24 lower-case hex digits" (an API key's id) in SQL. */
function hexHandle(sp: Spelling): string {
  return sp === POSTGRES_KINDS ? `handle ~ '^[0-9a-f]{24}$'` : `handle NOT GLOB '*[^0-9a-f]*'`;
}
