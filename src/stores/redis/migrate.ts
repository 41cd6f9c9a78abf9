/**
 * The Redis store's schema version and its migration. Redis keeps no
 * schema, but the records of latchkey 0.1 (schema 1) hid API keys, sealed
 * mode's values, the service's token families, dashboard and demo sessions
 * behind reserved user ids and data keys (../legacy.ts). The version lives
 * in `P schema`; a store whose first call finds none, or 1, walks the
 * prefix's records once (SCAN, on every primary of a Cluster) and turns
 * each of those records into what it stood for:
 *
 * - a token family: rewritten in place with kind `'refresh'`, marker removed;
 * - a dashboard or demo session: rewritten with its kind and plain user id,
 *   its index entry moved to that user (new index first, old last, as a
 *   Cluster create orders them);
 * - an API key or a sealed value: copied into the key-value facet, then the
 *   record deleted.
 *
 * Every step is a compare-and-set on the record's bytes or an
 * insert-if-absent, so several instances may migrate at once, and a walk
 * may be run again (`latchkey migrate`): it finds nothing left to do, or
 * converts what instances of latchkey 0.1 wrote since (during a rolling
 * upgrade, their records read as kind `'session'` until then). A version
 * newer than this code's is refused. Records of 0.1 that stood for nothing
 * else need no rewrite: a record without a kind reads as `'session'`.
 *
 * @module
 * @internal
 */
import type { Cluster, Redis } from 'ioredis';
import { ConfigError, StoreUnavailableError } from '../../core/errors.js';
import type { SessionRecord } from '../../core/model.js';
import { API_KEY_ID, LEGACY_ADMIN_USER, LEGACY_API_KEY_USER, LEGACY_DEMO_PREFIX, LEGACY_FAMILY_KEY, MIGRATED } from '../legacy.js';
import { indexOp } from './cluster.js';
import { decode, encode, hasKind, indexScore } from './codec.js';
import type { RedisContext } from './keys.js';
import { deleteRecord } from './records.js';
import { redisValues } from './values.js';

/** The schema version this code writes. */
export const REDIS_SCHEMA_VERSION = 2;

/** What a migration found and did. */
export interface RedisMigration {
  /** The version recorded before (0: none was). */
  readonly from: number;
  readonly to: number;
  /** Records of version 1 turned into what they stood for. */
  readonly converted: number;
}

/** The version recorded for the prefix, 0 when none is. */
export async function schemaVersion(x: RedisContext): Promise<number> {
  const v = await x.client.get(`${x.prefix}schema`);
  return v === null ? 0 : Number(v);
}

/**
 * Brings the prefix to {@link REDIS_SCHEMA_VERSION}: walks it unless it is
 * there already (`force`: walks it anyway), then records the version.
 *
 * @throws {ConfigError} for a version newer than this code's
 */
export async function migrateKeyspace(x: RedisContext, force: boolean): Promise<RedisMigration> {
  const from = await schemaVersion(x);
  if (!(from >= 0 && Number.isSafeInteger(from)) || from > REDIS_SCHEMA_VERSION) {
    throw new ConfigError(
      `the Redis keyspace ${x.prefix}* has latchkey schema version ${from}, newer than this version of latchkey supports (${REDIS_SCHEMA_VERSION}); upgrade latchkey`,
    );
  }
  let converted = 0;
  if (from < REDIS_SCHEMA_VERSION || force) {
    for (const node of primaries(x)) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${globEscape(x.prefix)}s:{*`, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) {
          const handle = key.slice(`${x.prefix}s:{`.length, -1);
          if (key.endsWith('}') && (await convert(x, handle))) converted++;
        }
      } while (cursor !== '0');
    }
    if (from < REDIS_SCHEMA_VERSION) await x.client.set(`${x.prefix}schema`, String(REDIS_SCHEMA_VERSION));
  }
  return { from, to: REDIS_SCHEMA_VERSION, converted };
}

/** Converts one record of version 1 that stood for something else; resolves whether it did. */
async function convert(x: RedisContext, handle: string): Promise<boolean> {
  const kv = redisValues(x, (fn) => fn());
  for (let attempt = 0; attempt < 5; attempt++) {
    const raw = await x.client.getBuffer(x.rk(handle));
    if (raw === null || hasKind(raw)) return false;
    const r = decode(handle, raw);
    const active = r.status === 'active';
    if (r.secretHash === '' || r.userId === LEGACY_API_KEY_USER) {
      const now = x.clock.now();
      if (active && r.secretHash === '') {
        await kv.set(MIGRATED.sealedNamespace, handle, { value: JSON.stringify(r.data), expiresAt: r.expiresAt }, now, 'if-absent');
      } else if (active && API_KEY_ID.test(handle)) {
        const stored = { name: typeof r.data.name === 'string' ? r.data.name : '', createdAt: r.createdAt, secretHash: r.secretHash };
        await kv.set(MIGRATED.apiKeyNamespace, handle, { value: JSON.stringify(stored), expiresAt: null }, now, 'if-absent');
      }
      await deleteRecord(x, handle);
      return true;
    }
    const next = converted(r);
    if (next === null) return false;
    const moves = active && next.userId !== r.userId;
    if (moves) await indexOp(x, next.userId as string, handle, indexScore(next), '');
    if ((await x.cmd.latchkeyRewrite(1, x.rk(handle), raw, encode(next))) === 1) {
      if (moves) await indexOp(x, r.userId as string, '', 0, handle);
      return true;
    }
    // Changed meanwhile (a touch, a patch, a revocation): read it again.
  }
  throw new StoreUnavailableError(`the Redis migration could not convert record ${handle}: it kept changing; run latchkey migrate again`);
}

/** What a record of version 1 becomes, or `null` when it is a plain session. */
function converted(r: SessionRecord): SessionRecord | null {
  if (r.data[LEGACY_FAMILY_KEY] === true) {
    const data: Record<string, unknown> = { ...r.data };
    delete data[LEGACY_FAMILY_KEY];
    return { ...r, kind: MIGRATED.refreshKind, data };
  }
  if (r.userId === LEGACY_ADMIN_USER) return { ...r, kind: MIGRATED.adminKind, userId: MIGRATED.adminUser };
  if (r.userId !== null && r.userId.startsWith(LEGACY_DEMO_PREFIX) && r.userId.length > LEGACY_DEMO_PREFIX.length) {
    return { ...r, kind: MIGRATED.demoKind, userId: r.userId.slice(LEGACY_DEMO_PREFIX.length) };
  }
  return null;
}

function primaries(x: RedisContext): Array<Redis | Cluster> {
  if (!x.client.isCluster) return [x.client];
  const nodes = (x.client as Cluster).nodes('master');
  if (nodes.length === 0) throw new StoreUnavailableError('the Redis store is unavailable: the Redis cluster is down (no primary node is known)');
  return nodes;
}

function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
