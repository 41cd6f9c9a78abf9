/**
 * The Redis store's shared counters and event log (`store.counters`,
 * `store.events`). Layout (`P` the store's prefix):
 * - `P c:{<name>:<key>}` — a sorted set of a key's latest events by time
 *   (each a member of its own), at most `keep`, with a TTL of the window
 *   after the latest;
 * - `P e:{events}:<ring>` — a stream per ring of the event log, capped by
 *   `MAXLEN` at each append; `P e:{events}:seq` numbers the entries of every
 *   ring (the entry's stream id is `<n>-1`).
 *
 * Each operation is one script on one hash slot, so atomic on a standalone
 * server and on a Cluster alike; the event log lives on one shard.
 *
 * @module
 * @internal
 */
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { checkShared, type Counters, type EventLog } from '../../core/shared.js';

const SCRIPTS = {
  // KEYS[1] the sorted set; ARGV now, windowMs, keep, a member unique to this hit
  latchkeyCounterHit: {
    numberOfKeys: 1,
    lua: `
local k = KEYS[1]
redis.call('ZREMRANGEBYSCORE', k, '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
redis.call('ZADD', k, ARGV[1], ARGV[4])
redis.call('ZREMRANGEBYRANK', k, 0, -tonumber(ARGV[3]) - 1)
redis.call('PEXPIRE', k, ARGV[2])
return redis.call('ZRANGE', k, 0, -1, 'WITHSCORES')`,
  },
  // KEYS[1] the ring's stream, KEYS[2] the sequence; ARGV body, capacity
  latchkeyEventAppend: {
    numberOfKeys: 2,
    lua: `
local id = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[2], id .. '-1', 'b', ARGV[1])
return id`,
  },
} as const;

interface SharedCommands {
  latchkeyCounterHit(key: string, now: number, windowMs: number, keep: number, member: string): Promise<string[]>;
  latchkeyEventAppend(stream: string, seq: string, body: string, capacity: number): Promise<number>;
}

/** The counters and event log of a store on `client` with `prefix`; `run` is the store's call wrapper. */
export function redisShared(client: Redis | Cluster, prefix: string, run: <T>(fn: () => Promise<T>) => Promise<T>): { counters: Counters; events: EventLog } {
  for (const [name, def] of Object.entries(SCRIPTS)) client.defineCommand(name, def);
  const cmd = client as unknown as SharedCommands;
  const ring = (name: string): string => `${prefix}e:{events}:${name}`;
  return {
    counters: {
      async hit(name, key, now, windowMs, keep) {
        checkShared(name, key, { windowMs, keep });
        const member = `${now}:${randomBytes(8).toString('hex')}`;
        const flat = await run(() => cmd.latchkeyCounterHit(`${prefix}c:{${name}:${key}}`, now, windowMs, keep, member));
        // [member, score, member, score...], by score.
        const times: number[] = [];
        for (let i = 1; i < flat.length; i += 2) times.push(Number(flat[i]));
        return times;
      },
      async reset(name, key) {
        checkShared(name, key);
        await run(() => client.del(`${prefix}c:{${name}:${key}}`));
      },
    },
    events: {
      async append(name, body, capacity) {
        checkShared(name, null, { capacity });
        return Number(await run(() => cmd.latchkeyEventAppend(ring(name), `${prefix}e:{events}:seq`, body, capacity)));
      },
      async recent(name, limit) {
        checkShared(name, null, { limit });
        const entries = await run(() => client.xrevrange(ring(name), '+', '-', 'COUNT', limit));
        return entries.map(([id, fields]) => ({ id: Number.parseInt(id, 10), body: fields[1] ?? '' }));
      },
    },
  };
}
