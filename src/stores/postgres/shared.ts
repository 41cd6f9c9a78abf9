/**
 * The PostgreSQL store's shared counters, event log and announcements
 * (`store.counters`, `store.events`, `store.announce`), each one statement:
 * - a counter is a row of the key-value table (namespace `counter:<name>`,
 *   the times as comma-separated decimals, expiring a window after the
 *   latest), updated by one upsert that drops the times out of the window,
 *   appends the new one and keeps the newest `keep`: the row lock of the
 *   upsert serialises concurrent hits, and the key-value sweep removes
 *   counters that went quiet;
 * - the event log is the `<prefix>events` table (schema version 3): one
 *   statement inserts an entry and prunes its ring to `capacity` rows;
 * - an announcement is a `pg_notify` on the store's channel.
 *
 * @module
 * @internal
 */
import type { QueryResult, QueryResultRow } from 'pg';
import { checkShared, type Counters, type EventLog } from '../../core/shared.js';
import type { Invalidation } from '../../core/store.js';
import { encodeMessage } from '../invalidation.js';
import type { Query } from './connection.js';

type Statement = (values: unknown[]) => Query;
type Make = (op: string, text: string, rowMode?: 'array') => Statement;

/** The statements on the values table `v` and the events table `e`. */
export function sharedStatements(v: string, e: string, q: Make) {
  return {
    // $1 namespace, $2 key, $3 now, $4 windowMs, $5 keep
    counterHit: q(
      'counter_hit',
      `INSERT INTO ${v} AS t (namespace, key, value, expires_at) VALUES ($1, $2, $3::bigint::text, $3::bigint + $4::bigint)
       ON CONFLICT (namespace, key) DO UPDATE SET
         value = (SELECT string_agg(h::text, ',' ORDER BY h) FROM (
           SELECT h FROM unnest(string_to_array(t.value, ',')::bigint[] || $3::bigint) AS u(h)
           WHERE h > $3::bigint - $4::bigint ORDER BY h DESC LIMIT $5) s),
         expires_at = excluded.expires_at
       RETURNING value`,
      'array',
    ),
    // $1 ring, $2 body, $3 capacity. The pruning subquery does not see the new row: capacity - 1 old ones stay.
    eventAppend: q(
      'event_append',
      `WITH ins AS (INSERT INTO ${e} (ring, body) VALUES ($1, $2) RETURNING id),
            cut AS (DELETE FROM ${e} WHERE ring = $1 AND id <= (SELECT id FROM ${e} WHERE ring = $1 ORDER BY id DESC OFFSET $3::int - 1 LIMIT 1))
       SELECT id FROM ins`,
      'array',
    ),
    // $1 ring, $2 limit
    eventRecent: q('event_recent', `SELECT id, body FROM ${e} WHERE ring = $1 ORDER BY id DESC LIMIT $2`, 'array'),
    // $1 channel, $2 payload
    notify: q('notify', 'SELECT pg_notify($1, $2)'),
  };
}

/** What the facets need of the store. */
export interface SharedContext {
  readonly sql: ReturnType<typeof sharedStatements> & { readonly kvDelete: Statement };
  readonly channel: string;
  run<R extends QueryResultRow>(query: Query): Promise<QueryResult<R>>;
  /** Where a failed announcement goes. */
  readonly onError: (error: unknown) => void;
}

/** The counters, event log and `announce()` over the store's statements. */
export function postgresShared(x: SharedContext): { counters: Counters; events: EventLog; announce(message: Invalidation): Promise<void> } {
  const { sql } = x;
  return {
    counters: {
      async hit(name, key, now, windowMs, keep) {
        checkShared(name, key, { windowMs, keep });
        const row = (await x.run<unknown[]>(sql.counterHit([`counter:${name}`, key, now, windowMs, keep]))).rows[0];
        const text = typeof row?.[0] === 'string' ? row[0] : '';
        return text === '' ? [] : text.split(',').map(Number);
      },
      async reset(name, key) {
        checkShared(name, key);
        await x.run(sql.kvDelete([`counter:${name}`, key]));
      },
    },
    events: {
      async append(ring, body, capacity) {
        checkShared(ring, null, { capacity });
        const row = (await x.run<unknown[]>(sql.eventAppend([ring, body, capacity]))).rows[0];
        return Number(row?.[0]);
      },
      async recent(ring, limit) {
        checkShared(ring, null, { limit });
        return (await x.run<unknown[]>(sql.eventRecent([ring, limit]))).rows.map((r) => ({ id: Number(r[0]), body: String(r[1]) }));
      },
    },
    async announce(message) {
      try {
        await x.run(sql.notify([x.channel, encodeMessage(message)]));
      } catch (err) {
        x.onError(err);
      }
    },
  };
}
