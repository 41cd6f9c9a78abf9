/**
 * The PostgreSQL store's statements. Every operation is ONE statement, hence
 * atomic on its own at READ COMMITTED, and every statement that changes what
 * a validation would answer also calls `pg_notify` in that same statement, so
 * that the notification is sent if and only if the change commits. Columns
 * travel in the order of the shared layout (../sql-columns.ts), and whole
 * records are read as arrays in that order.
 *
 * @module
 * @internal
 */
import type { SessionData, SessionRecord } from '../../core/model.js';
import { COLUMN_NAMES, COLUMNS, DATA, recordFromRow } from '../sql-columns.js';
import { TYPES, type Query } from './connection.js';
import type { Names } from './schema.js';
import { valueStatements } from './values.js';

/** A statement: its parameter values in, a pg query config out. */
export type Statement = (values: unknown[]) => Query;

/** The SQL type each column's parameter is cast to. */
const CAST = { text: 'text', integer: 'bigint', json: 'jsonb' } as const;

/**
 * The statements on `names`' tables: named prepared statements (parsed and
 * planned once per connection) unless `prepare` is off; each bounded by
 * `queryMs` on the client.
 */
export function statements(names: Names, prepare: boolean, queryMs: number) {
  const t = names.sessions;
  const q = (op: string, text: string, rowMode?: 'array'): Statement => {
    // pg prepares a query only when it has a name.
    const name = prepare ? `latchkey_${names.tag}_${op}` : undefined;
    return (values) => ({ name, text, values, rowMode, types: TYPES, query_timeout: queryMs }) as Query;
  };
  const params = COLUMNS.map((c, i) => `$${i + 1}::${CAST[c.type]}`).join(', ');
  // The new row's columns come first; the old row's conditions after them.
  const c = COLUMNS.length;
  return {
    insert: q('insert', `INSERT INTO ${t} (${COLUMN_NAMES}) VALUES (${params}) ON CONFLICT (handle) DO NOTHING`),
    get: q('get', `SELECT ${COLUMN_NAMES} FROM ${t} WHERE handle = $1`, 'array'),
    touch: q('touch', `UPDATE ${t} SET last_seen_at = $2, idle_expires_at = $3, expires_at = $4 WHERE handle = $1 AND status = 'active'`),
    // One statement: the merge happens on the current row under its row lock; the second branch
    // reports, when nothing was updated, whether an active row is there (so: a version conflict).
    patch: q(
      'patch',
      `WITH u AS (
         UPDATE ${t} SET data = (data - $2::text[]) || $3::jsonb, version = version + 1
         WHERE handle = $1 AND status = 'active' AND expires_at > $7::bigint AND ($4::bigint IS NULL OR version = $4::bigint)
         RETURNING version, data
       )
       SELECT true AS done, version, data, pg_notify($5, $6)::text AS notified FROM u
       UNION ALL
       SELECT false, version, NULL::jsonb, NULL::text FROM ${t} WHERE handle = $1 AND status = 'active' AND expires_at > $7::bigint AND NOT EXISTS (SELECT 1 FROM u)`,
    ),
    // One statement, so one transaction: the new row is inserted only from the old row's update. A
    // concurrent rotation blocks on the old row's lock, then re-checks status and version on the
    // committed row (READ COMMITTED) and updates nothing. A taken new handle fails the whole statement.
    replace: q(
      'replace',
      `WITH old AS (
         UPDATE ${t} SET status = $${c + 1}, successor = $${c + 2}, expires_at = LEAST(expires_at, $${c + 3}::bigint), data = '{}'::jsonb
         WHERE handle = $${c + 4} AND status = 'active' AND version = $${c + 5}::bigint
         RETURNING 1
       ), ins AS (
         INSERT INTO ${t} (${COLUMN_NAMES}) SELECT ${params} FROM old RETURNING 1
       )
       SELECT pg_notify($${c + 6}, $${c + 7})::text AS notified FROM ins`,
    ),
    revoke: q(
      'revoke',
      `WITH r AS (
         UPDATE ${t} SET status = 'revoked', successor = NULL, expires_at = LEAST(expires_at, $2::bigint), data = '{}'::jsonb
         WHERE handle = $1 AND status = 'active'
         RETURNING 1
       )
       SELECT pg_notify($3, $4)::text AS notified FROM r`,
    ),
    revokeUser: q(
      'revoke_user',
      `WITH r AS (
         UPDATE ${t} SET status = 'revoked', successor = NULL, expires_at = LEAST(expires_at, $2::bigint), data = '{}'::jsonb
         WHERE user_id = $1 AND status = 'active' AND ($3::text IS NULL OR handle <> $3::text) AND ($5::text[] IS NULL OR kind = ANY($5::text[]))
         RETURNING handle
       )
       SELECT handle, pg_notify($4, json_build_object('handles', json_build_array(handle))::text)::text AS notified FROM r`,
    ),
    delete: q(
      'delete',
      `WITH d AS (DELETE FROM ${t} WHERE handle = $1 RETURNING 1)
       SELECT pg_notify($2, $3)::text AS notified FROM d`,
    ),
    censusTotals: q('census_totals', `SELECT COUNT(*)::int AS sessions, COUNT(DISTINCT user_id)::int AS users FROM ${t} WHERE user_id IS NOT NULL AND status = 'active' AND expires_at > $1 AND idle_expires_at > $1 AND left(user_id, $2) = $3`),
    censusTop: q('census_top', `SELECT user_id, COUNT(*)::int AS n FROM ${t} WHERE user_id IS NOT NULL AND status = 'active' AND expires_at > $1 AND idle_expires_at > $1 AND left(user_id, $2) = $3 GROUP BY user_id ORDER BY n DESC, user_id COLLATE "C" LIMIT $4`, 'array'),
    listUser: q('list_user', `SELECT ${COLUMN_NAMES} FROM ${t} WHERE user_id = $1 AND status = 'active' ORDER BY created_at, issued_at, handle`, 'array'),
    // Bounded: the oldest `limit` expired rows through the expiry index, deleted by their tuple id.
    // Rows another call holds (a touch in flight, another instance's sweep) are skipped, not waited for.
    sweep: q(
      'sweep',
      `DELETE FROM ${t} WHERE ctid = ANY(ARRAY(
         SELECT ctid FROM ${t} WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED
       ))`,
    ),
    ...valueStatements(names.values, q),
  };
}

/** A record read as an array in the shared column order; jsonb arrives parsed. */
export function fromRow(row: readonly unknown[]): SessionRecord {
  return recordFromRow(row, row[DATA] as SessionData);
}
