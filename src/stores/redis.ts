/**
 * A store on Redis (standalone, Sentinel or Cluster; Valkey-compatible)
 * through ioredis (5.11+ or 6, an optional peer dependency), for several app
 * processes sharing one session authority.
 *
 * Layout (`P` is the key prefix, `latchkey:` by default):
 * - `P s:{<handle>}` — one compact string per record, with a TTL equal to the
 *   record's `expiresAt`, so Redis forgets it by itself. A string, not a
 *   hash: `get` is one GET (one round trip, one bulk reply, about twice the
 *   throughput of an HGETALL of the same record), and it takes a third of the
 *   memory (a hash holding a user agent exceeds the listpack limits and
 *   becomes a hashtable: ~1,500 B against ~460 B). Data keys are separate
 *   entries of that string, which the scripts set and remove whole without
 *   parsing JSON: a patch changes only the keys named, as stored at that
 *   moment, and user data round-trips exactly.
 * - `P u:{<userId>}` — the user index: a sorted set, member = handle, score =
 *   the latest time the record can live without a new index write
 *   (`max(expiresAt, absoluteExpiresAt)`, so that a touch, which never passes
 *   the absolute deadline, writes the record alone). Past members are removed
 *   on every write to it and its own TTL follows its latest member: it never
 *   grows without bound and needs no keyspace notifications.
 * - `P u:{<userId>}:p` (cluster only) — handles whose create is under way
 *   (kept 60 s), so that `listUser` never prunes a record about to exist.
 *
 * Consistency:
 * - Standalone (or Sentinel): every operation is ONE Lua script over the
 *   record and its user index, hence atomic, like the SQLite store.
 *   `revokeUser` revokes every session of the user in one step.
 * - Cluster: a record lives in the slot of its handle, an index in the slot of
 *   its user. Every script stays in one slot; operations on a single record
 *   (get, touch, patch, revoke, and the winner of a rotation) are atomic.
 *   Record and index are written in an order that never hides a live record:
 *   index first, record second on create; record first, index second on
 *   revoke and delete. `listUser` skips and prunes members whose record is
 *   gone or no longer active. `revokeUser` revokes each listed record
 *   atomically but not all at once: a session created while it runs may
 *   survive it. A rotation whose process dies between its steps leaves the
 *   user signed out, never two live tokens.
 *
 * Durability: whatever the Redis server is configured for (RDB, AOF); a
 * resolved write has reached the primary's memory, not necessarily a replica.
 *
 * Invalidations (`capabilities.invalidations`): every write that changes what
 * a validation would answer (patch, replace, revoke, revokeUser, delete; not
 * touch) is followed, before the call resolves, by a PUBLISH on the channel
 * `P invalidate` naming the handles, e.g. `{"handles":["..."]}`. On a cluster
 * a plain PUBLISH reaches every node. `subscribe()` listens on a connection of
 * its own (`duplicate()` of the store's), resubscribes after every reconnect
 * and reports each loss, so that the engine's cache is bypassed until it is
 * back. A PUBLISH that fails after its write succeeded goes to `onError`; the
 * caches' `staleness` bounds what it leaves stale.
 *
 * Failure: calls on a lost connection reject at once (no offline queue, no
 * resend), a stuck server makes them reject after `commandTimeoutMs`. Every
 * failure of a call (connection closed or not yet made, retries exhausted, a
 * command timeout, a cluster that is down, any error reply) rejects with
 * `StoreUnavailableError`, ioredis's error as its `cause` (without the
 * command's arguments). The client reconnects by itself.
 *
 * @module
 */
import { Cluster, Redis } from 'ioredis';
import type { ClusterNode, ClusterOptions, RedisOptions } from 'ioredis';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import type { DataPatch, InvalidationListener, Store, StorePatchResult, Tombstone } from '../core/store.js';
import type { ClientRecord, RecordStatus, SessionData, SessionRecord } from '../core/model.js';
import { ClosedError, ConfigError, LatchkeyError, StoreUnavailableError } from '../core/errors.js';
import { device } from '../core/device.js';
import { decodeInvalidation, encodeInvalidation } from './invalidation.js';

/** Options of {@link redisStore}. Give one of `client`, `url` and/or `redis`, or `cluster`. */
export interface RedisStoreOptions {
  /**
   * An ioredis `Redis` or `Cluster` you own: the store uses it and never
   * closes it. It must not have a `keyPrefix` (use `prefix`). Give it
   * `enableOfflineQueue: false` and a `commandTimeout` so that calls fail fast
   * while Redis is down.
   */
  client?: Redis | Cluster;
  /**
   * A Redis URL (`redis://user:pass@host:6379/0`, `rediss://` for TLS) to
   * connect to; the store owns that connection.
   */
  url?: string;
  /** ioredis options of a standalone (or Sentinel) connection the store creates and owns, with `url` or alone; merged over the defaults. */
  redis?: RedisOptions;
  /** A Redis Cluster to connect to; the store owns that connection. */
  cluster?: { nodes: ClusterNode[]; options?: ClusterOptions };
  /**
   * Prepended to every key, so that several apps share one Redis. No `{` or `}`.
   * @default 'latchkey:'
   */
  prefix?: string;
  /**
   * For connections the store creates: how long one command may wait for its
   * answer before it fails (a server that accepts connections but stalls).
   * @default 1000
   */
  commandTimeoutMs?: number;
  /**
   * The time source that turns `expiresAt` into a TTL; give it the clock you
   * give `createSessions`. TTLs are relative to it, so the Redis host's clock
   * does not matter.
   * @default the system clock
   */
  clock?: Clock;
  /** Called with connection errors of a connection the store owns (the engine reports failed calls anyway). @default none */
  onError?: (error: unknown) => void;
}

/**
 * ioredis groups auto-pipelined scripts by the slot of their first argument
 * (the key count, not a key), so on a cluster scripts of several slots fail
 * with "All keys in the pipeline should belong to the same slots allocation
 * group" (redis/ioredis#2109; seen in our contract suite with 6.0.0).
 */
const AUTO_PIPELINING =
  'enableAutoPipelining on an ioredis Cluster sends scripts to the wrong nodes (redis/ioredis#2109); turn it off for the Cluster given to redisStore()';

/** How long a cluster create may take between its index write and its record write before `listUser` may prune the member. */
const PENDING_MS = 60_000;

/**
 * Lua shared by every script. A record is one string of fields separated by
 * the byte 0xFF, which UTF-8 never contains: status, version, lastSeenAt,
 * idleExpiresAt, expiresAt, index score, successor, userId, the immutable
 * rest as JSON, then data as key, JSON value, key, JSON value, ... Scripts
 * edit fields by position and move data entries whole: they never parse
 * JSON, so user data round-trips exactly.
 */
const LIB = `
local SEP = '\\255'
local S, V, LS, IE, E, X, N, U, DATA = 1, 2, 3, 4, 5, 6, 7, 8, 10
local function split(s)
  local t, pos = {}, 1
  while true do
    local i = string.find(s, SEP, pos, true)
    if not i then t[#t + 1] = string.sub(s, pos) return t end
    t[#t + 1] = string.sub(s, pos, i - 1)
    pos = i + 1
  end
end
local function load(rk)
  local s = redis.call('GET', rk)
  if not s then return nil end
  return split(s)
end
local function ttl(e, now)
  local t = tonumber(e) - tonumber(now)
  if t < 1 then t = 1 end
  return t
end
local function save(rk, t, now)
  redis.call('SET', rk, table.concat(t, SEP), 'PX', ttl(t[E], now))
end
local function reindex(ix, now)
  redis.call('ZREMRANGEBYSCORE', ix, '-inf', now)
  local top = redis.call('ZRANGE', ix, -1, -1, 'WITHSCORES')
  if top[2] then redis.call('PEXPIRE', ix, ttl(top[2], now)) end
end
local function entomb(rk, t, st, succ, untl, now)
  for i = #t, DATA, -1 do t[i] = nil end
  t[S] = st
  t[N] = succ
  if tonumber(untl) < tonumber(t[E]) then t[E] = untl end
  save(rk, t, now)
end
local function indexof(prefix, u)
  return prefix .. 'u:{' .. u .. '}'
end
local function recordof(prefix, h)
  return prefix .. 's:{' .. h .. '}'
end
`;

/**
 * The scripts. KEYS are declared wherever the caller knows them; in atomic
 * (standalone) mode a script also reaches the index named by a record's user,
 * or the records named by an index, which a single server allows.
 */
const SCRIPTS = {
  // KEYS: record [, index]; ARGV: now, expiresAt, score, handle, record
  latchkeyCreate: `
if not redis.call('SET', KEYS[1], ARGV[5], 'NX', 'PX', ttl(ARGV[2], ARGV[1])) then return 0 end
if KEYS[2] then
  redis.call('ZADD', KEYS[2], 'GT', ARGV[3], ARGV[4])
  reindex(KEYS[2], ARGV[1])
end
return 1`,
  // KEYS: record; ARGV: now, lastSeenAt, idleExpiresAt, expiresAt, atomic, prefix, handle
  latchkeyTouch: `
local t = load(KEYS[1])
if not t or t[S] ~= 'active' then return 0 end
t[LS], t[IE], t[E] = ARGV[2], ARGV[3], ARGV[4]
local raise = t[X] ~= '' and tonumber(ARGV[4]) > tonumber(t[X])
if raise then t[X] = ARGV[4] end
save(KEYS[1], t, ARGV[1])
if not raise then return 1 end
if ARGV[5] ~= '1' then return t[U] end
local ix = indexof(ARGV[6], t[U])
redis.call('ZADD', ix, 'GT', ARGV[4], ARGV[7])
reindex(ix, ARGV[1])
return 1`,
  // KEYS: record; ARGV: now (the engine's: a record whose time is up is not written), expectVersion or '', number of keys to set, key, value, ..., keys to remove ...
  latchkeyPatch: `
local t = load(KEYS[1])
if not t or t[S] ~= 'active' or tonumber(t[E]) <= tonumber(ARGV[1]) then return 0 end
if ARGV[2] ~= '' and t[V] ~= ARGV[2] then return -1 end
local last = 3 + 2 * tonumber(ARGV[3])
local drop = {}
for i = last + 1, #ARGV do drop[ARGV[i]] = true end
local set = {}
for i = 4, last, 2 do set[ARGV[i]] = ARGV[i + 1] end
local out = {}
for i = 1, DATA - 1 do out[i] = t[i] end
for i = DATA, #t, 2 do
  local k = t[i]
  if set[k] then
    out[#out + 1] = k
    out[#out + 1] = set[k]
    set[k] = nil
  elseif not drop[k] then
    out[#out + 1] = k
    out[#out + 1] = t[i + 1]
  end
end
for i = 4, last, 2 do
  if set[ARGV[i]] then
    out[#out + 1] = ARGV[i]
    out[#out + 1] = ARGV[i + 1]
  end
end
local v = tonumber(t[V]) + 1
out[V] = string.format('%d', v)
redis.call('SET', KEYS[1], table.concat(out, SEP), 'KEEPTTL')
return { v, table.concat(out, SEP) }`,
  // KEYS: record; ARGV: now, status, successor or '', until, expectVersion or '', owner or '', atomic, prefix, handle
  latchkeyEntomb: `
local t = load(KEYS[1])
if not t or t[S] ~= 'active' then return false end
if ARGV[5] ~= '' and t[V] ~= ARGV[5] then return false end
local u = t[U]
if ARGV[6] ~= '' and u ~= ARGV[6] then return false end
entomb(KEYS[1], t, ARGV[2], ARGV[3], ARGV[4], ARGV[1])
if u ~= '' and ARGV[7] == '1' then
  local ix = indexof(ARGV[8], u)
  redis.call('ZREM', ix, ARGV[9])
  reindex(ix, ARGV[1])
end
return u`,
  // Atomic mode only. KEYS: old record, new record [, new index];
  // ARGV: now, expectVersion, status, successor or '', until, prefix, old handle, new handle, new expiresAt, new score, new record
  latchkeyReplace: `
local t = load(KEYS[1])
if not t or t[S] ~= 'active' or t[V] ~= ARGV[2] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local u = t[U]
entomb(KEYS[1], t, ARGV[3], ARGV[4], ARGV[5], ARGV[1])
if u ~= '' then
  local ix = indexof(ARGV[6], u)
  redis.call('ZREM', ix, ARGV[7])
  reindex(ix, ARGV[1])
end
redis.call('SET', KEYS[2], ARGV[11], 'PX', ttl(ARGV[9], ARGV[1]))
if KEYS[3] then
  redis.call('ZADD', KEYS[3], 'GT', ARGV[10], ARGV[8])
  reindex(KEYS[3], ARGV[1])
end
return 1`,
  // KEYS: record; ARGV: now, atomic, prefix, handle, sweep-before or ''
  latchkeyDelete: `
local t = load(KEYS[1])
if not t then return false end
if ARGV[5] ~= '' and tonumber(t[E]) > tonumber(ARGV[5]) then return false end
redis.call('DEL', KEYS[1])
local u = t[U]
if u ~= '' and ARGV[2] == '1' then
  local ix = indexof(ARGV[3], u)
  redis.call('ZREM', ix, ARGV[4])
  reindex(ix, ARGV[1])
end
return u`,
  // Atomic mode only. KEYS: index; ARGV: now, prefix, user, until or '' (list), except or ''
  latchkeyUser: `
local out = {}
for _, h in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local rk = recordof(ARGV[2], h)
  local s = redis.call('GET', rk)
  local t = s and split(s)
  local live = t and t[S] == 'active' and t[U] == ARGV[3]
  if ARGV[4] == '' then
    if live then
      out[#out + 1] = h
      out[#out + 1] = s
    else
      redis.call('ZREM', KEYS[1], h)
    end
  elseif h ~= ARGV[5] then
    if live then
      entomb(rk, t, 'revoked', '', ARGV[4], ARGV[1])
      out[#out + 1] = h
    end
    redis.call('ZREM', KEYS[1], h)
  end
end
reindex(KEYS[1], ARGV[1])
return out`,
  // Cluster mode. KEYS: index, pending; ARGV: now, handle to add or '', its score, handle to drop or ''
  latchkeyIndex: `
if ARGV[4] ~= '' then redis.call('ZREM', KEYS[1], ARGV[4]) end
local added = 0
if ARGV[2] ~= '' then
  added = redis.call('ZADD', KEYS[1], 'GT', ARGV[3], ARGV[2])
  if added == 1 then
    redis.call('ZADD', KEYS[2], tonumber(ARGV[1]) + ${PENDING_MS}, ARGV[2])
    reindex(KEYS[2], ARGV[1])
  end
end
reindex(KEYS[1], ARGV[1])
return added`,
  // Cluster mode. KEYS: index, pending; ARGV: now, number of dead members, dead ..., members whose record was missing ...
  latchkeyPrune: `
local nd = tonumber(ARGV[2])
for i = 3, 2 + nd do redis.call('ZREM', KEYS[1], ARGV[i]) end
for i = 3 + nd, #ARGV do
  local p = redis.call('ZSCORE', KEYS[2], ARGV[i])
  if not p or tonumber(p) <= tonumber(ARGV[1]) then redis.call('ZREM', KEYS[1], ARGV[i]) end
end
reindex(KEYS[1], ARGV[1])
return 0`,
  // KEYS: index; ARGV: now
  latchkeyReindex: `
reindex(KEYS[1], ARGV[1])
return 0`,
} as const;

type Reply = unknown;
type ScriptFn = (...args: Array<string | number | Buffer>) => Promise<Reply>;
type Commands = Record<keyof typeof SCRIPTS | 'latchkeyPatchBuffer' | 'latchkeyUserBuffer', ScriptFn>;

/**
 * Creates a Redis store.
 *
 * @example
 * ```ts
 * import { createSessions } from 'latchkey';
 * import { redisStore } from 'latchkey/stores/redis';
 *
 * const sessions = createSessions({ store: redisStore({ url: process.env.REDIS_URL, prefix: 'myapp:' }) });
 * ```
 */
export function redisStore(options: RedisStoreOptions = {}): Store {
  if (options === null || typeof options !== 'object') throw new TypeError('redisStore() takes an options object');
  const given = [options.client, options.url ?? options.redis, options.cluster].filter((x) => x !== undefined).length;
  if (given > 1) throw new ConfigError('give redisStore() one of client, url (with or without redis options) or cluster, not several');
  const prefix = options.prefix ?? 'latchkey:';
  if (typeof prefix !== 'string' || /[{}]/.test(prefix) || prefix.length > 128) {
    throw new ConfigError('prefix must be a string of at most 128 characters without "{" or "}" (they would move keys across cluster slots)');
  }
  const timeoutMs = options.commandTimeoutMs ?? 1000;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) throw new ConfigError('commandTimeoutMs must be a positive whole number');
  const clock = options.clock ?? systemClock;
  const onError = options.onError ?? (() => {});
  if (typeof onError !== 'function') throw new ConfigError('onError must be a function');

  let client: Redis | Cluster;
  const owned = options.client === undefined;
  if (options.client !== undefined) {
    client = options.client;
    if (client === null || typeof client !== 'object' || typeof client.getBuffer !== 'function') {
      throw new ConfigError('client must be an ioredis Redis or Cluster');
    }
    if (client.options.keyPrefix || (client.isCluster && (client as Cluster).options.redisOptions?.keyPrefix)) {
      throw new ConfigError('the ioredis client has a keyPrefix; latchkey computes keys inside its scripts, so use the prefix option instead');
    }
    if (client.isCluster && client.options.enableAutoPipelining) throw new ConfigError(AUTO_PIPELINING);
  } else if (options.cluster !== undefined) {
    const c = options.cluster;
    if (c === null || typeof c !== 'object' || !Array.isArray(c.nodes) || c.nodes.length === 0) {
      throw new ConfigError('cluster must be { nodes: [...], options? } with at least one node');
    }
    const o = c.options ?? {};
    if (o.keyPrefix || o.redisOptions?.keyPrefix) throw new ConfigError('use the prefix option, not ioredis keyPrefix');
    if (o.enableAutoPipelining) throw new ConfigError(AUTO_PIPELINING);
    client = new Cluster(c.nodes, {
      enableOfflineQueue: false,
      clusterRetryStrategy: retry,
      ...o,
      redisOptions: { ...connectionDefaults(timeoutMs), ...o.redisOptions },
    });
  } else {
    if (options.url !== undefined && (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url))) {
      throw new ConfigError('url must start with redis:// or rediss://');
    }
    const o = options.redis ?? {};
    if (o.keyPrefix) throw new ConfigError('use the prefix option, not ioredis keyPrefix');
    const merged = { ...connectionDefaults(timeoutMs), enableOfflineQueue: false, ...o };
    client = options.url !== undefined ? new Redis(options.url, merged) : new Redis(merged);
  }
  // An EventEmitter without an 'error' listener reports to the console; ours goes to onError.
  const errorListener = (err: unknown): void => onError(err);
  if (owned) client.on('error', errorListener);

  for (const [name, body] of Object.entries(SCRIPTS)) {
    client.defineCommand(name, { lua: LIB + body });
  }
  const cmd = client as unknown as Commands;
  const atomic = !client.isCluster;
  const flag = atomic ? '1' : '0';

  const rk = (handle: string): string => `${prefix}s:{${handle}}`;
  const ix = (userId: string): string => `${prefix}u:{${userId}}`;
  const pk = (userId: string): string => `${prefix}u:{${userId}}:p`;

  let closed = false;
  let readyOnce = client.status === 'ready';
  const channel = `${prefix}invalidate`;
  const subscribers = new Set<Redis | Cluster>();

  /** Announces changed records to every subscribed process; a failure is reported, never thrown (the write is done). */
  async function announce(handles: readonly string[]): Promise<void> {
    if (handles.length === 0) return;
    try {
      await client.publish(channel, encodeInvalidation(handles));
    } catch (err) {
      onError(err);
    }
  }

  async function subscribe(listener: InvalidationListener): Promise<() => Promise<void>> {
    if (closed) throw new ClosedError('the Redis store');
    // A connection of its own: a subscribed connection can run nothing else. We resubscribe ourselves,
    // so that "live" is reported only once the SUBSCRIBE is confirmed.
    const sub: Redis | Cluster = client.isCluster
      ? (client as Cluster).duplicate(undefined, { lazyConnect: true })
      : (client as Redis).duplicate({ autoResubscribe: false, lazyConnect: true, enableOfflineQueue: false });
    subscribers.add(sub);
    let stopped = false;
    let live = false;
    const report = (up: boolean): void => {
      if (stopped || up === live) return;
      live = up;
      listener.status(up);
    };
    sub.on('error', (err: unknown) => onError(err));
    sub.on('ready', () => {
      sub.subscribe(channel).then(
        () => report(true),
        (err: unknown) => {
          onError(err);
          // Without a confirmed subscription the cache stays bypassed; a reconnect tries again.
          sub.disconnect(true);
        },
      );
    });
    sub.on('close', () => report(false));
    sub.on('end', () => report(false));
    sub.on('message', (ch: string, text: string) => {
      if (stopped || ch !== channel) return;
      listener.invalidate(decodeInvalidation(text));
    });
    sub.connect().catch(() => {
      // reported through 'error'; ioredis keeps retrying
    });
    return async () => {
      if (stopped) return;
      stopped = true;
      subscribers.delete(sub);
      sub.disconnect();
    };
  }

  let waiting: Promise<void> | null = null;

  /**
   * A connection the store created rejects commands while it is not ready (no
   * offline queue): before its first connection, wait for it (bounded), so
   * that a store used right after it was made does not fail.
   */
  function ready(): Promise<void> | null {
    if (closed) throw new ClosedError('the Redis store');
    if (readyOnce) return null;
    if (client.status === 'ready') {
      readyOnce = true;
      return null;
    }
    if (!owned) return null;
    waiting ??= new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        client.off('ready', onReady);
        waiting = null;
      };
      const onReady = (): void => {
        readyOnce = true;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new StoreUnavailableError(`the Redis store is unavailable: Redis was not reachable within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      client.on('ready', onReady);
      // A connection made with lazyConnect waits for a command that, without an offline queue, never comes.
      if (client.status === 'wait') client.connect().catch(() => {});
    });
    return waiting;
  }

  async function run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      const w = ready();
      if (w !== null) await w;
      return await fn();
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** Cluster mode: index write, prune and add/drop in one script on the index slot. */
  function indexOp(userId: string, add: string, score: number, drop: string): Promise<Reply> {
    return cmd.latchkeyIndex(2, ix(userId), pk(userId), clock.now(), add, add === '' ? '' : score, drop);
  }

  async function createRecord(record: SessionRecord): Promise<boolean> {
    const now = clock.now();
    const score = indexScore(record);
    const value = encode(record);
    if (atomic || record.userId === null) {
      const keys = atomic && record.userId !== null ? [rk(record.handle), ix(record.userId)] : [rk(record.handle)];
      return (await cmd.latchkeyCreate(keys.length, ...keys, now, record.expiresAt, score, record.handle, value)) === 1;
    }
    // Cluster: the index first, so that it never misses a live record.
    const added = (await indexOp(record.userId, record.handle, score, '')) === 1;
    const created = (await cmd.latchkeyCreate(1, rk(record.handle), now, record.expiresAt, score, record.handle, value)) === 1;
    if (!created && added) await indexOp(record.userId, '', 0, record.handle);
    return created;
  }

  async function readAll(handles: string[]): Promise<Array<SessionRecord | null>> {
    const values = await Promise.all(handles.map((h) => client.getBuffer(rk(h))));
    return values.map((v, i) => (v === null ? null : decode(handles[i] as string, v)));
  }

  async function clusterUser(userId: string, until: number | null, except: string | undefined): Promise<SessionRecord[] | string[]> {
    const members = (await client.zrange(ix(userId), '0', '-1')).filter((h) => h !== except);
    const dead: string[] = [];
    const missing: string[] = [];
    let out: SessionRecord[] | string[];
    if (until === null) {
      const found = await readAll(members);
      const records: SessionRecord[] = [];
      members.forEach((h, i) => {
        const r = found[i];
        if (r === null || r === undefined) missing.push(h);
        else if (r.status !== 'active' || r.userId !== userId) dead.push(h);
        else records.push(r);
      });
      out = records;
    } else {
      const now = clock.now();
      const replies = await Promise.all(
        members.map((h) => cmd.latchkeyEntomb(1, rk(h), now, 'revoked', '', until, '', userId, '0', prefix, h)),
      );
      const revoked = members.filter((_, i) => typeof replies[i] === 'string');
      dead.push(...revoked);
      missing.push(...members.filter((_, i) => typeof replies[i] !== 'string'));
      out = revoked;
    }
    if (dead.length + missing.length > 0) {
      await cmd.latchkeyPrune(2, ix(userId), pk(userId), clock.now(), dead.length, ...dead, ...missing);
    }
    return out;
  }

  async function replaceRecord(oldHandle: string, expectVersion: number, next: SessionRecord, t: Tombstone): Promise<boolean> {
    const now = clock.now();
    const score = indexScore(next);
    const value = encode(next);
    if (atomic) {
      const keys = next.userId !== null ? [rk(oldHandle), rk(next.handle), ix(next.userId)] : [rk(oldHandle), rk(next.handle)];
      const r = await cmd.latchkeyReplace(
        keys.length,
        ...keys,
        now,
        expectVersion,
        t.status,
        t.successor ?? '',
        t.expiresAt,
        prefix,
        oldHandle,
        next.handle,
        next.expiresAt,
        score,
        value,
      );
      return r === 1;
    }
    return clusterReplace(oldHandle, expectVersion, next, t, score, value);
  }

  async function revokeRecord(handle: string, until: number): Promise<boolean> {
    const u = await cmd.latchkeyEntomb(1, rk(handle), clock.now(), 'revoked', '', until, '', '', flag, prefix, handle);
    if (typeof u !== 'string') return false;
    if (!atomic && u !== '') await indexOp(u, '', 0, handle);
    return true;
  }

  async function deleteRecord(handle: string): Promise<boolean> {
    const u = await cmd.latchkeyDelete(1, rk(handle), clock.now(), flag, prefix, handle, '');
    if (typeof u !== 'string') return false;
    if (!atomic && u !== '') await indexOp(u, '', 0, handle);
    return true;
  }

  const store: Store = {
    capabilities: { expiresByItself: true, inProcess: false, invalidations: true },

    create: (record) => run(() => createRecord(record)),

    get: (handle) =>
      run(async () => {
        const value = await client.getBuffer(rk(handle));
        return value === null ? null : decode(handle, value);
      }),

    touch: (handle, lastSeenAt, idleExpiresAt, expiresAt) =>
      run(async () => {
        const now = clock.now();
        const r = await cmd.latchkeyTouch(1, rk(handle), now, lastSeenAt, idleExpiresAt, expiresAt, flag, prefix, handle);
        // Cluster, and only if the caller extended past the absolute deadline: raise the index too.
        if (typeof r === 'string') await indexOp(r, handle, expiresAt, '');
        return r !== 0;
      }),

    patch: (handle, change, now, expectVersion) =>
      run(async (): Promise<StorePatchResult> => {
        const { sets, unsets } = patchArgs(change);
        const expect = expectVersion === undefined ? '' : expectVersion;
        const r = await cmd.latchkeyPatchBuffer(1, rk(handle), now, expect, sets.length / 2, ...sets, ...unsets);
        if (r === 0) return { ok: false, reason: 'not-found' };
        if (r === -1) return { ok: false, reason: 'conflict' };
        await announce([handle]);
        const [version, value] = r as [number, Buffer];
        return { ok: true, version: Number(version), data: dataOf(split(value)) };
      }),

    replace: (oldHandle, expectVersion, next, t) =>
      run(async () => {
        const done = await replaceRecord(oldHandle, expectVersion, next, t);
        if (done) await announce([oldHandle]);
        return done;
      }),

    revoke: (handle, until) =>
      run(async () => {
        const done = await revokeRecord(handle, until);
        if (done) await announce([handle]);
        return done;
      }),

    revokeUser: (userId, until, except) =>
      run(async () => {
        const handles = atomic
          ? ((await cmd.latchkeyUser(1, ix(userId), clock.now(), prefix, userId, until, except ?? '')) as string[])
          : ((await clusterUser(userId, until, except)) as string[]);
        await announce(handles);
        return handles;
      }),

    delete: (handle) =>
      run(async () => {
        const done = await deleteRecord(handle);
        if (done) await announce([handle]);
        return done;
      }),

    listUser: (userId) =>
      run(async () => {
        let records: SessionRecord[];
        if (!atomic) records = (await clusterUser(userId, null, undefined)) as SessionRecord[];
        else {
          const flat = (await cmd.latchkeyUserBuffer(1, ix(userId), clock.now(), prefix, userId, '', '')) as Buffer[];
          records = [];
          for (let i = 0; i < flat.length; i += 2) records.push(decode(String(flat[i]), flat[i + 1] as Buffer));
        }
        return records.sort((a, b) => a.createdAt - b.createdAt || a.issuedAt - b.issuedAt);
      }),

    sweep: (now, limit) => run(() => sweep(now, limit)),

    subscribe,

    async ping() {
      if (closed) return false;
      try {
        const w = ready();
        if (w !== null) await w;
        return (await bounded(client.ping(), timeoutMs)) === 'PONG';
      } catch {
        return false;
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const sub of subscribers) sub.disconnect();
      subscribers.clear();
      if (!owned) return;
      try {
        if (client.status === 'ready') await bounded(client.quit(), timeoutMs);
      } catch {
        // the connection is dropped below either way
      } finally {
        client.disconnect();
        client.off('error', errorListener);
        // ioredis may still emit an error while the socket winds down.
        client.on('error', () => {});
      }
    },
  };

  async function clusterReplace(
    oldHandle: string,
    expectVersion: number,
    next: SessionRecord,
    t: Tombstone,
    score: number,
    value: Buffer,
  ): Promise<boolean> {
    const now = clock.now();
    // 1. The old record: the one atomic step that decides which concurrent rotation wins.
    const u = await cmd.latchkeyEntomb(1, rk(oldHandle), now, t.status, t.successor ?? '', t.expiresAt, expectVersion, '', '0', prefix, oldHandle);
    if (typeof u !== 'string') return false;
    const oldUser = u === '' ? null : u;
    // 2. The new record's index (dropping the old handle in the same step when the user stays), 3. the new record.
    const sameUser = oldUser !== null && oldUser === next.userId;
    if (next.userId !== null) await indexOp(next.userId, next.handle, score, sameUser ? oldHandle : '');
    const created = cmd.latchkeyCreate(1, rk(next.handle), now, next.expiresAt, score, next.handle, value);
    const dropped = oldUser !== null && !sameUser ? indexOp(oldUser, '', 0, oldHandle) : null;
    const [ok] = await Promise.all([created, dropped]);
    return ok === 1;
  }

  /**
   * Redis forgets records by their TTL, so the engine never calls this. Called
   * by hand, it walks the keyspace (SCAN, on every primary), removes up to
   * `limit` records whose `expiresAt <= now` (normally none: Redis already
   * expired them, unless `now` is ahead of the store's clock) and prunes past
   * members of the user indexes it meets. Resolves the records removed.
   */
  async function sweep(now: number, limit: number): Promise<number> {
    const nodes: Array<Redis | Cluster> = client.isCluster ? (client as Cluster).nodes('master') : [client];
    // A cluster that lost every node knows no primary: nothing swept is not "nothing to sweep".
    if (nodes.length === 0) throw new StoreUnavailableError('the Redis store is unavailable: the Redis cluster is down (no primary node is known)');
    const pattern = `${globEscape(prefix)}[su]:{*`;
    const recordStart = `${prefix}s:{`;
    let removed = 0;
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [nextCursor, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = nextCursor;
        const records: string[] = [];
        const jobs: Array<Promise<unknown>> = [];
        for (const key of keys) {
          if (key.startsWith(recordStart) && key.endsWith('}')) records.push(key);
          else if (key.endsWith('}')) jobs.push(cmd.latchkeyReindex(1, key, now));
        }
        await Promise.all(jobs);
        // Never more deletions in flight than the limit leaves room for.
        while (records.length > 0 && removed < limit) {
          const chunk = records.splice(0, Math.min(limit - removed, 100));
          const owners = await Promise.all(
            chunk.map((key) => cmd.latchkeyDelete(1, key, clock.now(), flag, prefix, key.slice(recordStart.length, -1), now)),
          );
          const drops: Array<Promise<unknown>> = [];
          owners.forEach((u, i) => {
            if (typeof u !== 'string') return;
            removed++;
            if (!atomic && u !== '') drops.push(indexOp(u, '', 0, (chunk[i] as string).slice(recordStart.length, -1)));
          });
          await Promise.all(drops);
        }
      } while (cursor !== '0' && removed < limit);
      if (removed >= limit) break;
    }
    return removed;
  }

  return store;
}

/**
 * A failed call as the store reports it: `StoreUnavailableError` whatever
 * ioredis said, saying which kind of failure it was (latchkey's own errors as
 * they are). ioredis attaches the failed command's arguments (an encoded
 * record: secret hash, IP, user agent, data) as `err.command`: removed, so
 * that they never reach a log through the cause.
 */
function unavailable(err: unknown): LatchkeyError {
  if (err instanceof LatchkeyError) return err;
  if (err !== null && typeof err === 'object') delete (err as { command?: unknown }).command;
  const text = `${(err as { name?: unknown } | null)?.name ?? ''} ${(err as { message?: unknown } | null)?.message ?? ''} ${(err as { code?: unknown } | null)?.code ?? ''}`;
  const why = /timed out/i.test(text)
    ? 'Redis did not answer in time'
    : /CLUSTERDOWN|ClusterAllFailed|slots cache|TRYAGAIN|Cluster isn't ready/i.test(text)
      ? 'the Redis cluster is down'
      : /LOADING|MASTERDOWN|READONLY/.test(text)
        ? 'Redis cannot serve writes or reads right now'
        : /Connection is closed|isn't writeable|isn't ready|max retries|retries per request|ECONNREFUSED|ECONNRESET|EPIPE|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH/i.test(text)
          ? 'the connection to Redis is lost'
          : 'Redis failed';
  return new StoreUnavailableError(`the Redis store is unavailable: ${why}; see cause`, { cause: err });
}

function retry(times: number): number {
  // Reconnect soon after Redis comes back: a few attempts per second, never a busy loop.
  return Math.min(times * 50, 500);
}

function connectionDefaults(timeoutMs: number): RedisOptions {
  return {
    // Fail a command at once when the connection drops, and never send it twice
    // (a resent patch would apply twice): the engine reports StoreUnavailableError.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // A server that accepts but does not answer.
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(timeoutMs, 2000),
    retryStrategy: retry,
  };
}

function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  p.catch(() => {});
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

/** The score of a record in its user index: the latest it can live without another index write (touch stays below it). */
function indexScore(r: SessionRecord): number {
  return Math.max(r.expiresAt, r.absoluteExpiresAt);
}

const SEP = 0xff;
const SEP_BYTE = Buffer.from([SEP]);

/** The record as one string (see the layout above LIB); numbers in decimal, the rest UTF-8. */
function encode(r: SessionRecord): Buffer {
  const c = r.client;
  const meta = JSON.stringify([
    r.secretHash,
    r.createdAt,
    r.issuedAt,
    r.authTime,
    r.authLevel,
    r.absoluteExpiresAt,
    c === null ? null : [c.ip, c.userAgent, c.device.browser, c.device.os, c.device.type],
  ]);
  const fields = [
    r.status,
    String(r.version),
    String(r.lastSeenAt),
    String(r.idleExpiresAt),
    String(r.expiresAt),
    r.userId === null ? '' : String(indexScore(r)),
    r.successor ?? '',
    r.userId ?? '',
    meta,
  ];
  for (const [k, v] of Object.entries(r.data)) fields.push(k, JSON.stringify(v) ?? 'null');
  const parts: Buffer[] = [];
  for (const f of fields) {
    if (parts.length > 0) parts.push(SEP_BYTE);
    parts.push(Buffer.from(f, 'utf8'));
  }
  return Buffer.concat(parts);
}

function split(value: Buffer): string[] {
  const out: string[] = [];
  let pos = 0;
  for (;;) {
    const i = value.indexOf(SEP, pos);
    if (i === -1) {
      out.push(value.toString('utf8', pos));
      return out;
    }
    out.push(value.toString('utf8', pos, i));
    pos = i + 1;
  }
}

type Meta = [string, number, number, number | null, number, number, [string | null, string | null, string, string, ClientRecord['device']['type']] | null];

function decode(handle: string, value: Buffer): SessionRecord {
  const f = split(value);
  const [secretHash, createdAt, issuedAt, authTime, authLevel, absoluteExpiresAt, c] = JSON.parse(f[8] as string) as Meta;
  return {
    handle,
    secretHash,
    userId: f[7] === '' ? null : (f[7] as string),
    status: f[0] as RecordStatus,
    successor: f[6] === '' ? null : (f[6] as string),
    createdAt,
    issuedAt,
    lastSeenAt: Number(f[2]),
    authTime,
    authLevel,
    idleExpiresAt: Number(f[3]),
    absoluteExpiresAt,
    expiresAt: Number(f[4]),
    version: Number(f[1]),
    data: dataOf(f),
    client: c === null ? null : { ip: c[0], userAgent: c[1], device: device(c[2], c[3], c[4]) },
  };
}

/** Data entries start at the tenth field: key, JSON value, key, JSON value, ... */
function dataOf(f: string[]): SessionData {
  if (f.length <= 9) return EMPTY;
  const data: Record<string, unknown> = {};
  for (let i = 9; i + 1 < f.length; i += 2) {
    const key = f[i] as string;
    const value: unknown = JSON.parse(f[i + 1] as string);
    // A data key may be any string; never let one reach the prototype.
    if (key === '__proto__') Object.defineProperty(data, key, { value, enumerable: true, writable: true, configurable: true });
    else data[key] = value;
  }
  return data;
}

function patchArgs(change: DataPatch): { sets: string[]; unsets: string[] } {
  const sets: string[] = [];
  if (change.set !== undefined) for (const [k, v] of Object.entries(change.set)) sets.push(k, JSON.stringify(v) ?? 'null');
  const unsets = [...(change.unset ?? [])];
  return { sets, unsets };
}

const EMPTY: SessionData = Object.freeze({});
