/**
 * The SQLite store's key-value facet, on the `latchkey_values` table that
 * schema version 2 creates (sql-kinds.ts). Every operation is one
 * statement, so atomic across connections and processes: insert-if-absent
 * and compare-and-set are a conditional upsert and update, take is a
 * `DELETE ... RETURNING`. Expired rows are absent to every statement and
 * removed by `sweep()`.
 *
 * @module
 * @internal
 */
import type { Connection } from './sqlite/driver.js';
import { checkKeyValue, checkListLimit, isLive, type KeyValues, type StoredEntry } from '../core/key-values.js';

/** The facet and its sweep. */
export interface SqliteValues {
  readonly kv: KeyValues;
  /** Removes up to `limit` expired values; returns how many. */
  sweep(now: number, limit: number): number;
}

/** The facet on `table` of `db`; `run` is the store's call wrapper (closed check, lock waits, error mapping). */
export function sqliteValues(db: Connection, table: string, run: <T>(op: () => T) => Promise<T>): SqliteValues {
  const live = '(expires_at IS NULL OR expires_at > ?)';
  const insert = `INSERT INTO ${table} (namespace, key, value, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`;
  const q = {
    get: db.prepare(`SELECT value, expires_at FROM ${table} WHERE namespace = ? AND key = ? AND ${live}`),
    setAlways: db.prepare(insert),
    setIfAbsent: db.prepare(`${insert} WHERE ${table}.expires_at IS NOT NULL AND ${table}.expires_at <= ?`),
    setIfValue: db.prepare(`UPDATE ${table} SET value = ?, expires_at = ? WHERE namespace = ? AND key = ? AND value = ? AND ${live}`),
    take: db.prepare(`DELETE FROM ${table} WHERE namespace = ? AND key = ? RETURNING value, expires_at`),
    delete: db.prepare(`DELETE FROM ${table} WHERE namespace = ? AND key = ?`),
    list: db.prepare(`SELECT key, value, expires_at FROM ${table} WHERE namespace = ? AND ${live} ORDER BY key LIMIT ?`),
    sweep: db.prepare(
      `DELETE FROM ${table} WHERE (namespace, key) IN (SELECT namespace, key FROM ${table} WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
    ),
  };

  const kv: KeyValues = {
    async get(namespace, key, now) {
      checkKeyValue(namespace, key);
      return run(() => {
        const row = q.get.get(namespace, key, now) as [string, number | null] | undefined;
        return row === undefined ? null : { value: row[0], expiresAt: row[1] };
      });
    },

    async set(namespace, key, entry, now, mode = 'always') {
      checkKeyValue(namespace, key, entry, mode);
      const { value, expiresAt } = entry;
      if (mode === 'always') return run(() => q.setAlways.run(namespace, key, value, expiresAt).changes === 1);
      if (mode === 'if-absent') return run(() => q.setIfAbsent.run(namespace, key, value, expiresAt, now).changes === 1);
      return run(() => q.setIfValue.run(value, expiresAt, namespace, key, mode.ifValue, now).changes === 1);
    },

    async take(namespace, key, now) {
      checkKeyValue(namespace, key);
      return run(() => {
        const row = q.take.get(namespace, key) as [string, number | null] | undefined;
        return row === undefined || !isLive(row[1], now) ? null : { value: row[0], expiresAt: row[1] };
      });
    },

    async delete(namespace, key) {
      checkKeyValue(namespace, key);
      return run(() => q.delete.run(namespace, key).changes === 1);
    },

    async list(namespace, limit, now) {
      checkKeyValue(namespace, '-');
      checkListLimit(limit);
      return run(() =>
        (q.list.all(namespace, now, limit) as Array<[string, string, number | null]>).map((r): StoredEntry => ({ key: r[0], value: r[1], expiresAt: r[2] })),
      );
    },
  };

  return { kv, sweep: (now, limit) => (limit > 0 ? Number(q.sweep.run(now, limit).changes) : 0) };
}
