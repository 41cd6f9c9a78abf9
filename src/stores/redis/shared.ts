/**
 * The Redis store's shared counters and event log (`store.counters`,
 * `store.events`). Layout (`P` the store's prefix):
 * - `P c:{<name>:<key>}` — a list of the times of a key's latest events,
 *   oldest first, at most `keep`, with a TTL of the window after the latest;
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
import type { Cluster, Redis } from 'ioredis';
import { checkShared, type Counters, type EventLog } from '../../core/shared.js';

const SCRIPTS = {
  // KEYS[1] the list; ARGV now, windowMs, keep
  latchkeyCounterHit: {
    numberOfKeys: 1,
    lua: `
local k = KEYS[1]
local cut = tonumber(ARGV[1]) - tonumber(ARGV[2])
while true do
  local h = redis.call('LINDEX', k, 0)
  if not h or tonumber(h) > cut then break end
  redis.call('LPOP', k)
end
redis.call('RPUSH', k, ARGV[1])
redis.call('LTRIM', k, -tonumber(ARGV[3]), -1)
redis.call('PEXPIRE', k, ARGV[2])
return redis.call('LRANGE', k, 0, -1)`,
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
  latchkeyCounterHit(key: string, now: number, windowMs: number, keep: number): Promise<string[]>;
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
        const times = await run(() => cmd.latchkeyCounterHit(`${prefix}c:{${name}:${key}}`, now, windowMs, keep));
        // Another process's clock may run behind: what is out of the window is left out here too.
        return times.map(Number).filter((t) => t > now - windowMs);
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
