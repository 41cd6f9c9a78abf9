/**
 * The Redis store's Lua scripts, one per operation, and how they are
 * registered on a connection. Each runs atomically on the server; the record
 * format they edit is the one of codec.ts.
 *
 * @module
 * @internal
 */
import type { Cluster, Redis } from 'ioredis';
import { VALUE_SCRIPTS } from './value-scripts.js';

/** How long a cluster create may take between its index write and its record write before `listUser` may prune the member. */
export const PENDING_MS = 60_000;

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
-- The kind is the last element of the immutable rest (field 9, JSON); a record of latchkey 0.1 has none: 'session'.
local function kindof(t)
  local k = cjson.decode(t[DATA - 1])[8]
  if type(k) ~= 'string' then return 'session' end
  return k
end
-- kinds: '' (every kind) or ',a,b,'
local function haskind(t, kinds)
  return kinds == '' or string.find(kinds, ',' .. kindof(t) .. ',', 1, true) ~= nil
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
  // KEYS: record; ARGV: now, status, successor or '', until, expectVersion or '', owner or '', atomic, prefix, handle, kinds or ''
  latchkeyEntomb: `
local t = load(KEYS[1])
if not t or t[S] ~= 'active' then return false end
if ARGV[5] ~= '' and t[V] ~= ARGV[5] then return false end
local u = t[U]
if ARGV[6] ~= '' and u ~= ARGV[6] then return false end
if ARGV[10] and not haskind(t, ARGV[10]) then return false end
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
  // Atomic mode only. KEYS: index; ARGV: now, prefix, user, until or '' (list), except or '', kinds or '' (revoke)
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
    if live and haskind(t, ARGV[6]) then
      entomb(rk, t, 'revoked', '', ARGV[4], ARGV[1])
      out[#out + 1] = h
      redis.call('ZREM', KEYS[1], h)
    elseif not live then
      redis.call('ZREM', KEYS[1], h)
    end
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

/** A script's reply: whatever the Lua returned. */
export type Reply = unknown;
type ScriptFn = (...args: Array<string | number | Buffer>) => Promise<Reply>;

/** The scripts as commands of a connection (`...Buffer`: the same script, its reply as bytes). */
export type Commands = Record<
  keyof typeof SCRIPTS | keyof typeof VALUE_SCRIPTS | 'latchkeyPatchBuffer' | 'latchkeyUserBuffer' | 'latchkeyValueGetBuffer' | 'latchkeyValueTakeBuffer' | 'latchkeyValueListBuffer',
  ScriptFn
>;

/** Registers every script on `client` (ioredis sends EVALSHA, and the script itself once if the server lacks it). */
export function defineScripts(client: Redis | Cluster): Commands {
  for (const [name, body] of Object.entries({ ...SCRIPTS, ...VALUE_SCRIPTS })) client.defineCommand(name, { lua: LIB + body });
  return client as unknown as Commands;
}
