/**
 * The Redis store's census (`Store.census`): who holds live sessions. Redis
 * keeps no table to group, so it walks the user indexes (`P u:{<userId>}`,
 * sorted sets of handles scored by their records' `expiresAt`) with SCAN on
 * every primary, and lists each user's active records as `listUser` does
 * (which also prunes what the index still names but Redis forgot), counting
 * those whose deadlines are after `now`. It is for dashboards, not request
 * paths: its cost grows with the number of sessions, and it stops after
 * {@link CENSUS_SCAN_LIMIT} indexes (then `complete` is `false`).
 *
 * @module
 * @internal
 */
import type { Cluster, Redis } from 'ioredis';
import type { UserCensus } from '../../core/store.js';
import { CENSUS_SCAN_LIMIT, checkCensus, topUsers } from '../../core/census.js';
import type { RedisContext } from './keys.js';
import { listUserRecords } from './records.js';

/** User indexes listed at once. */
const BATCH = 32;

/** A literal for a SCAN MATCH pattern: `*`, `?`, `[`, `]` and `\` escaped. */
function globLiteral(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** The census of the store `x` (see the module comment). */
export async function redisCensus(x: RedisContext, now: number, prefix: string, limit: number): Promise<UserCensus> {
  checkCensus(now, prefix, limit);
  const head = `${x.prefix}u:{`;
  const pattern = `${globLiteral(head)}${globLiteral(prefix)}*`;
  const nodes: Redis[] = x.client.isCluster ? (x.client as Cluster).nodes('master') : [x.client as Redis];
  const users: Array<{ userId: string; sessions: number }> = [];
  let sessions = 0;
  let visited = 0;
  let complete = true;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      // A user index ends with `}`; the creates under way of a cluster (`...}:p`) do not.
      const indexes = keys.filter((k) => k.endsWith('}'));
      visited += indexes.length;
      for (let i = 0; i < indexes.length; i += BATCH) {
        const ids = indexes.slice(i, i + BATCH).map((k) => k.slice(head.length, -1));
        const lists = await Promise.all(ids.map((userId) => listUserRecords(x, userId)));
        ids.forEach((userId, j) => {
          const n = (lists[j] ?? []).filter((r) => r.expiresAt > now && r.idleExpiresAt > now).length;
          if (n > 0) {
            sessions += n;
            users.push({ userId, sessions: n });
          }
        });
      }
      if (visited >= CENSUS_SCAN_LIMIT && cursor !== '0') {
        complete = false;
        break;
      }
    } while (cursor !== '0');
    if (!complete) break;
  }
  return { sessions, userCount: users.length, users: topUsers(users, limit), complete };
}
