/**
 * The Redis store's key-value facet. Layout (`P` the store's prefix):
 * - `P v:{<namespace>}:<key>` — one string per value: its `expiresAt`
 *   (empty: none), the byte 0xFF, the value; with a TTL at `expiresAt`, so
 *   Redis forgets it by itself;
 * - `P n:{<namespace>}` — the namespace's index: a sorted set of keys by
 *   `expiresAt` (`+inf`: none), for `list()`, pruned on every write, its own
 *   TTL following its latest member.
 *
 * The braces put a namespace's values and index in one hash slot, so every
 * operation is ONE script, atomic, on a standalone server and on a Cluster
 * alike (value-scripts.ts). A namespace therefore lives on one shard of a
 * Cluster: a hot one (a replay cache under heavy DPoP traffic) loads that
 * shard alone.
 *
 * @module
 * @internal
 */
import { checkKeyValue, checkListLimit, type KeyValues, type StoredEntry, type StoredValue } from '../../core/key-values.js';
import type { RedisContext } from './keys.js';

const SEP = 0xff;

/** A stored value as the scripts keep it. */
function encodeValue(entry: StoredValue): Buffer {
  return Buffer.concat([Buffer.from(entry.expiresAt === null ? '' : String(entry.expiresAt), 'utf8'), Buffer.from([SEP]), Buffer.from(entry.value, 'utf8')]);
}

function decodeValue(raw: Buffer): StoredValue {
  const i = raw.indexOf(SEP);
  const e = raw.toString('utf8', 0, i);
  return { value: raw.toString('utf8', i + 1), expiresAt: e === '' ? null : Number(e) };
}

/** The facet over `x`; `run` is the store's call wrapper (readiness, closed check, error mapping). */
export function redisValues(x: RedisContext, run: <T>(fn: () => Promise<T>) => Promise<T>): KeyValues {
  const valueKey = (namespace: string, key: string): string => `${x.prefix}v:{${namespace}}:${key}`;
  const indexKey = (namespace: string): string => `${x.prefix}n:{${namespace}}`;

  return {
    async get(namespace, key, now) {
      checkKeyValue(namespace, key);
      const raw = await run(() => x.cmd.latchkeyValueGetBuffer(1, valueKey(namespace, key), now));
      return raw instanceof Buffer ? decodeValue(raw) : null;
    },

    async set(namespace, key, entry, now, mode = 'always') {
      checkKeyValue(namespace, key, entry, mode);
      const how = mode === 'always' ? 'always' : mode === 'if-absent' ? 'absent' : 'value';
      const expected = typeof mode === 'object' ? mode.ifValue : '';
      const expiresAt = entry.expiresAt === null ? '' : entry.expiresAt;
      const done = await run(() =>
        x.cmd.latchkeyValueSet(2, valueKey(namespace, key), indexKey(namespace), now, x.clock.now(), how, expected, expiresAt, encodeValue(entry), key),
      );
      return done === 1;
    },

    async take(namespace, key, now) {
      checkKeyValue(namespace, key);
      const raw = await run(() => x.cmd.latchkeyValueTakeBuffer(2, valueKey(namespace, key), indexKey(namespace), now, key));
      return raw instanceof Buffer ? decodeValue(raw) : null;
    },

    async delete(namespace, key) {
      checkKeyValue(namespace, key);
      return (await run(() => x.cmd.latchkeyValueDelete(2, valueKey(namespace, key), indexKey(namespace), key))) === 1;
    },

    async list(namespace, limit, now) {
      checkKeyValue(namespace, '-');
      checkListLimit(limit);
      const flat = (await run(() => x.cmd.latchkeyValueListBuffer(1, indexKey(namespace), now, limit, valueKey(namespace, '')))) as Buffer[];
      const out: StoredEntry[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push({ key: (flat[i] as Buffer).toString('utf8'), ...decodeValue(flat[i + 1] as Buffer) });
      return out;
    },
  };
}
