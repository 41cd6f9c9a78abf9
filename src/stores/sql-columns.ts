/**
 * The table layout the SQL stores (SQLite, PostgreSQL) share, written once:
 * one row per token, snake_case columns, the client flattened into five
 * columns. {@link COLUMNS} is the order of every INSERT, of every SELECT of a
 * whole record and of the row values both stores pass to and read from their
 * driver (positional parameters; rows read as arrays), and each store's
 * first migration creates the table from it. The drivers differ only in how
 * `data` travels: JSON text in, and out of SQLite as text, out of PostgreSQL
 * (jsonb) already parsed.
 *
 * A later schema version adds its columns through a migration of its own in
 * each store and appends them here; migration 1 keeps creating the columns of
 * version 1 ({@link SCHEMA_1_COLUMNS}), migration 2 adds `kind`.
 *
 * @module
 * @internal
 */
import { device } from '../core/device.js';
import type { ClientRecord, Device, RecordStatus, SessionData, SessionRecord } from '../core/model.js';

/** What a column holds; each dialect names its own SQL type for it. */
type ColumnType = 'text' | 'integer' | 'json';

/** One column of the sessions table. */
interface Column {
  readonly name: string;
  readonly type: ColumnType;
  /** NULL allowed. */
  readonly nullable: boolean;
  /** An identifier compared byte for byte (handle, user id). */
  readonly identifier?: true;
  /** The values allowed, checked by the database where the dialect does. */
  readonly values?: readonly string[];
}

const STATUSES: readonly RecordStatus[] = ['active', 'revoked', 'rotated'];

/** The columns of schema version 1, in row order. The first, `handle`, is the primary key. */
export const SCHEMA_1_COLUMNS: readonly Column[] = [
  { name: 'handle', type: 'text', nullable: false, identifier: true },
  { name: 'secret_hash', type: 'text', nullable: false },
  { name: 'user_id', type: 'text', nullable: true, identifier: true },
  { name: 'status', type: 'text', nullable: false, values: STATUSES },
  { name: 'successor', type: 'text', nullable: true },
  { name: 'created_at', type: 'integer', nullable: false },
  { name: 'issued_at', type: 'integer', nullable: false },
  { name: 'last_seen_at', type: 'integer', nullable: false },
  { name: 'auth_time', type: 'integer', nullable: true },
  { name: 'auth_level', type: 'integer', nullable: false },
  { name: 'idle_expires_at', type: 'integer', nullable: false },
  { name: 'absolute_expires_at', type: 'integer', nullable: false },
  { name: 'expires_at', type: 'integer', nullable: false },
  { name: 'version', type: 'integer', nullable: false },
  { name: 'data', type: 'json', nullable: false },
  { name: 'client_ip', type: 'text', nullable: true },
  { name: 'client_ua', type: 'text', nullable: true },
  { name: 'device_browser', type: 'text', nullable: true },
  { name: 'device_os', type: 'text', nullable: true },
  { name: 'device_type', type: 'text', nullable: true },
];

/** The column schema version 2 appends: the record's kind (`'session'` for every row of schema 1, until migrated). */
export const KIND_COLUMN: Column = { name: 'kind', type: 'text', nullable: false, identifier: true };

/** The columns of the current schema (version 2), in row order. */
export const COLUMNS: readonly Column[] = [...SCHEMA_1_COLUMNS, KIND_COLUMN];

/** The column names in row order, for INSERT and SELECT: `handle, secret_hash, ...`. */
export const COLUMN_NAMES = COLUMNS.map((c) => c.name).join(', ');

/** Where `data` sits in a row. */
export const DATA = COLUMNS.findIndex((c) => c.name === 'data');

/** How one SQL dialect spells the layout. */
export interface Dialect {
  readonly types: Readonly<Record<ColumnType, string>>;
  /** Appended to identifier columns (PostgreSQL: a byte-wise collation; SQLite's default already is). */
  readonly identifierCollation: string;
  /** Whether the table checks `values` (schema 1 of SQLite was released without those checks). */
  readonly checksValues: boolean;
}

/** SQLite's spelling. */
export const SQLITE: Dialect = { types: { text: 'TEXT', integer: 'INTEGER', json: 'TEXT' }, identifierCollation: '', checksValues: false };

/** PostgreSQL's spelling: timestamps in bigint milliseconds, data in jsonb. */
export const POSTGRES: Dialect = {
  types: { text: 'text', integer: 'bigint', json: 'jsonb' },
  identifierCollation: ' COLLATE "C"',
  checksValues: true,
};

/** The definition of one column in `dialect`, as `ALTER TABLE ... ADD COLUMN` takes it (never the primary key). */
export function columnDefinition(dialect: Dialect, c: Column): string {
  let def = `${c.name} ${dialect.types[c.type]}`;
  if (c.identifier === true) def += dialect.identifierCollation;
  if (!c.nullable) def += ' NOT NULL';
  return def;
}

/** The column definitions of a `CREATE TABLE` in `dialect`, the first column the primary key. */
export function columnDefinitions(dialect: Dialect, columns: readonly Column[] = COLUMNS): string {
  return columns
    .map((c, i) => {
      let def = `${c.name} ${dialect.types[c.type]}`;
      if (c.identifier === true) def += dialect.identifierCollation;
      if (i === 0) def += ' PRIMARY KEY';
      else if (!c.nullable) def += ' NOT NULL';
      if (dialect.checksValues && c.values !== undefined) def += ` CHECK (${c.name} IN (${c.values.map((v) => `'${v}'`).join(', ')}))`;
      return def;
    })
    .join(',\n  ');
}

/**
 * The record as row values in {@link COLUMNS} order, `data` as JSON text.
 * An array, not an object: drivers bind it positionally without looking up
 * a name per column.
 */
export function rowValues(r: SessionRecord): unknown[] {
  const c = r.client;
  return [
    r.handle,
    r.secretHash,
    r.userId,
    r.status,
    r.successor,
    r.createdAt,
    r.issuedAt,
    r.lastSeenAt,
    r.authTime,
    r.authLevel,
    r.idleExpiresAt,
    r.absoluteExpiresAt,
    r.expiresAt,
    r.version,
    JSON.stringify(r.data),
    c === null ? null : c.ip,
    c === null ? null : c.userAgent,
    c === null ? null : c.device.browser,
    c === null ? null : c.device.os,
    c === null ? null : c.device.type,
    r.kind,
  ];
}

/** The record a row holds: its values in {@link COLUMNS} order, `data` already decoded by the driver's wrapper. */
export function recordFromRow(v: readonly unknown[], data: SessionData): SessionRecord {
  const ip = v[15] as string | null;
  const ua = v[16] as string | null;
  let client: ClientRecord | null = null;
  if (ip !== null || ua !== null) {
    client = {
      ip,
      userAgent: ua,
      device: device((v[17] as string | null) ?? 'Unknown', (v[18] as string | null) ?? 'Unknown', (v[19] as Device['type'] | null) ?? 'unknown'),
    };
  }
  return {
    handle: v[0] as string,
    secretHash: v[1] as string,
    kind: v[20] as string,
    userId: v[2] as string | null,
    status: v[3] as RecordStatus,
    successor: v[4] as string | null,
    createdAt: v[5] as number,
    issuedAt: v[6] as number,
    lastSeenAt: v[7] as number,
    authTime: v[8] as number | null,
    authLevel: v[9] as number,
    idleExpiresAt: v[10] as number,
    absoluteExpiresAt: v[11] as number,
    expiresAt: v[12] as number,
    version: v[13] as number,
    data,
    client,
  };
}
