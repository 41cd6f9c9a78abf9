/**
 * The PostgreSQL store's key-value statements, on the `<prefix>values`
 * table that schema version 2 creates (../sql-kinds.ts). Each is one
 * statement, so atomic on its own: insert-if-absent is an upsert whose
 * update applies only over an expired row (of concurrent inserts of one key
 * exactly one reports a row), compare-and-set an update conditioned on the
 * value, take a `DELETE ... RETURNING`. No notification: no cache holds these
 * values across processes.
 *
 * @module
 * @internal
 */
import type { QueryResult, QueryResultRow } from 'pg';
import { checkKeyValue, checkListLimit, isLive, type KeyValues, type StoredEntry } from '../../core/key-values.js';
import type { Query } from './connection.js';

type Statement = (values: unknown[]) => Query;
type Make = (op: string, text: string, rowMode?: 'array') => Statement;

/** The statements on table `v`, made by the store's statement factory. */
export function valueStatements(v: string, q: Make) {
  const upsert = `INSERT INTO ${v} AS t (namespace, key, value, expires_at) VALUES ($1, $2, $3, $4::bigint)
       ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`;
  return {
    // $1 namespace, $2 key, $3 now
    kvGet: q('kv_get', `SELECT value, expires_at FROM ${v} WHERE namespace = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > $3::bigint)`, 'array'),
    // $1 namespace, $2 key, $3 value, $4 expiresAt; then $5 now; then $6 the value expected
    kvSetAlways: q('kv_set', upsert),
    kvSetIfAbsent: q('kv_set_absent', `${upsert} WHERE t.expires_at IS NOT NULL AND t.expires_at <= $5::bigint`),
    kvSetIfValue: q(
      'kv_set_value',
      `UPDATE ${v} SET value = $3, expires_at = $4::bigint
       WHERE namespace = $1 AND key = $2 AND value = $6 AND (expires_at IS NULL OR expires_at > $5::bigint)`,
    ),
    // $1 namespace, $2 key
    kvTake: q('kv_take', `DELETE FROM ${v} WHERE namespace = $1 AND key = $2 RETURNING value, expires_at`, 'array'),
    kvDelete: q('kv_delete', `DELETE FROM ${v} WHERE namespace = $1 AND key = $2`),
    // $1 namespace, $2 now, $3 limit
    kvList: q('kv_list', `SELECT key, value, expires_at FROM ${v} WHERE namespace = $1 AND (expires_at IS NULL OR expires_at > $2::bigint) ORDER BY key LIMIT $3`, 'array'),
    // $1 now, $2 limit. Bounded, skipping rows another call holds, as the sessions' sweep.
    kvSweep: q(
      'kv_sweep',
      `DELETE FROM ${v} WHERE ctid = ANY(ARRAY(
         SELECT ctid FROM ${v} WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED
       ))`,
    ),
  };
}

/** What the facet needs of the store: its statements and its bounded, mapped query. */
export interface ValuesContext {
  readonly sql: ReturnType<typeof valueStatements>;
  run<R extends QueryResultRow>(query: Query): Promise<QueryResult<R>>;
}

/** The key-value facet over the store's statements. */
export function postgresValues(x: ValuesContext): KeyValues {
  const { sql } = x;
  return {
    async get(namespace, key, now) {
      checkKeyValue(namespace, key);
      const row = (await x.run<unknown[]>(sql.kvGet([namespace, key, now]))).rows[0];
      return row === undefined ? null : { value: row[0] as string, expiresAt: row[1] as number | null };
    },

    async set(namespace, key, entry, now, mode = 'always') {
      checkKeyValue(namespace, key, entry, mode);
      const values = [namespace, key, entry.value, entry.expiresAt];
      const query =
        mode === 'always' ? sql.kvSetAlways(values) : mode === 'if-absent' ? sql.kvSetIfAbsent([...values, now]) : sql.kvSetIfValue([...values, now, mode.ifValue]);
      return (await x.run(query)).rowCount === 1;
    },

    async take(namespace, key, now) {
      checkKeyValue(namespace, key);
      const row = (await x.run<unknown[]>(sql.kvTake([namespace, key]))).rows[0];
      if (row === undefined) return null;
      const expiresAt = row[1] as number | null;
      return isLive(expiresAt, now) ? { value: row[0] as string, expiresAt } : null;
    },

    async delete(namespace, key) {
      checkKeyValue(namespace, key);
      return (await x.run(sql.kvDelete([namespace, key]))).rowCount === 1;
    },

    async list(namespace, limit, now) {
      checkKeyValue(namespace, '-');
      checkListLimit(limit);
      const rows = (await x.run<unknown[]>(sql.kvList([namespace, now, limit]))).rows;
      return rows.map((r): StoredEntry => ({ key: r[0] as string, value: r[1] as string, expiresAt: r[2] as number | null }));
    },
  };
}
