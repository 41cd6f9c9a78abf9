/**
 * The Lua of the Redis store's key-value facet (values.ts) and of its
 * migration (migrate.ts), registered with the record scripts (scripts.ts)
 * and run with their shared Lua (`SEP`, `ttl`). A value is one string:
 * its `expiresAt` in decimal (empty: none), the byte 0xFF, the value. A
 * namespace's values and its index (a sorted set of keys by `expiresAt`,
 * `+inf` for none, pruned on every write) share the namespace's hash slot,
 * so that every script runs on one slot of a Cluster.
 *
 * Two clocks: `now`, the caller's (a value with `expiresAt <= now` is
 * absent), and the store's clock, from which TTLs are computed (as for
 * records).
 *
 * @module
 * @internal
 */

const VALUE_LIB = `
local function vlive(s, now)
  local i = string.find(s, SEP, 1, true)
  local e = string.sub(s, 1, i - 1)
  return e == '' or tonumber(e) > tonumber(now)
end
local function vload(k, now)
  local s = redis.call('GET', k)
  if s and vlive(s, now) then return s end
  return nil
end
local function vreindex(ix, now, clock)
  redis.call('ZREMRANGEBYSCORE', ix, '-inf', now)
  local top = redis.call('ZRANGE', ix, -1, -1, 'WITHSCORES')
  if top[2] then
    local score = tonumber(top[2])
    if score == nil or score == math.huge then redis.call('PERSIST', ix) else redis.call('PEXPIRE', ix, ttl(top[2], clock)) end
  end
end
`;

/** The scripts, by command name. */
export const VALUE_SCRIPTS = {
  // KEYS: value; ARGV: now
  latchkeyValueGet: `${VALUE_LIB}
return vload(KEYS[1], ARGV[1]) or false`,
  // KEYS: value, index; ARGV: now, store clock, mode ('always', 'absent', 'value'), expected value, expiresAt or '', encoded, key
  latchkeyValueSet: `${VALUE_LIB}
local cur = vload(KEYS[1], ARGV[1])
if ARGV[3] == 'absent' and cur then return 0 end
if ARGV[3] == 'value' then
  if not cur then return 0 end
  if string.sub(cur, string.find(cur, SEP, 1, true) + 1) ~= ARGV[4] then return 0 end
end
if ARGV[5] == '' then
  redis.call('SET', KEYS[1], ARGV[6])
  redis.call('ZADD', KEYS[2], '+inf', ARGV[7])
else
  redis.call('SET', KEYS[1], ARGV[6], 'PX', ttl(ARGV[5], ARGV[2]))
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[7])
end
vreindex(KEYS[2], ARGV[1], ARGV[2])
return 1`,
  // KEYS: value, index; ARGV: now, key. Get and delete in one step: of concurrent takes, one gets the value.
  latchkeyValueTake: `${VALUE_LIB}
local s = redis.call('GET', KEYS[1])
if not s then return false end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
if vlive(s, ARGV[1]) then return s end
return false`,
  // KEYS: value, index; ARGV: key
  latchkeyValueDelete: `
local n = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return n`,
  // KEYS: index; ARGV: now, limit, the prefix of the namespace's value keys. Live values, soonest to expire first.
  latchkeyValueList: `${VALUE_LIB}
local out = {}
for _, k in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'LIMIT', 0, ARGV[2])) do
  local s = vload(ARGV[3] .. k, ARGV[1])
  if s then
    out[#out + 1] = k
    out[#out + 1] = s
  end
end
return out`,
  // Migration. KEYS: record; ARGV: the value expected, the value to write. Keeps the TTL.
  latchkeyRewrite: `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1`,
} as const;
