/**
 * The Redis store's sweep. Redis forgets records by their TTL, so the engine
 * never calls it; called by hand, it walks the keyspace (SCAN, on every
 * primary), removes up to `limit` records whose `expiresAt <= now` (normally
 * none: Redis already expired them, unless `now` is ahead of the store's
 * clock) and prunes past members of the user indexes it meets.
 *
 * @module
 * @internal
 */
import type { Cluster, Redis } from 'ioredis';
import { StoreUnavailableError } from '../../core/errors.js';
import type { RedisContext } from './keys.js';
import { deleteRecord } from './records.js';

/** Resolves the number of records removed. */
export async function sweep(x: RedisContext, now: number, limit: number): Promise<number> {
  const nodes: Array<Redis | Cluster> = x.client.isCluster ? (x.client as Cluster).nodes('master') : [x.client];
  // A cluster that lost every node knows no primary: nothing swept is not "nothing to sweep".
  if (nodes.length === 0) throw new StoreUnavailableError('the Redis store is unavailable: the Redis cluster is down (no primary node is known)');
  const pattern = `${globEscape(x.prefix)}[su]:{*`;
  const recordStart = `${x.prefix}s:{`;
  let removed = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [nextCursor, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = nextCursor;
      const handles: string[] = [];
      const jobs: Array<Promise<unknown>> = [];
      for (const key of keys) {
        if (key.startsWith(recordStart) && key.endsWith('}')) handles.push(key.slice(recordStart.length, -1));
        else if (key.endsWith('}')) jobs.push(x.cmd.latchkeyReindex(1, key, now));
      }
      await Promise.all(jobs);
      // Never more deletions in flight than the limit leaves room for.
      while (handles.length > 0 && removed < limit) {
        const chunk = handles.splice(0, Math.min(limit - removed, 100));
        const done = await Promise.all(chunk.map((h) => deleteRecord(x, h, now)));
        removed += done.filter(Boolean).length;
      }
    } while (cursor !== '0' && removed < limit);
    if (removed >= limit) break;
  }
  return removed;
}

function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
