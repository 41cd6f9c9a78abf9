/**
 * The Redis store's connection: the ioredis `Redis` or `Cluster` it is given
 * (checked) or makes and owns (with settings that fail a call fast rather
 * than queue or resend it), the wait for a made connection's first
 * readiness, its closing, and what a failed call means.
 *
 * @module
 * @internal
 */
import { Cluster, Redis } from 'ioredis';
import type { ClusterNode, ClusterOptions, RedisOptions } from 'ioredis';
import { ConfigError, LatchkeyError, StoreUnavailableError } from '../../core/errors.js';
import { withTimeout } from '../../core/store-call.js';

/** Where the connection comes from: one of `client`, `url` and/or `redis`, `sentinel` or `cluster`. */
export interface ConnectionSource {
  client?: Redis | Cluster | undefined;
  url?: string | undefined;
  redis?: RedisOptions | undefined;
  sentinel?: SentinelSource | undefined;
  cluster?: { nodes: ClusterNode[]; options?: ClusterOptions } | undefined;
}

/**
 * A primary found through Redis Sentinel: the sentinels to ask, the name of
 * the primary they watch (`sentinel monitor <name> ...`), and ioredis options
 * of the connection to the primary (`password`, `db`, `sentinelPassword`...).
 */
export interface SentinelSource {
  sentinels: Array<{ host: string; port: number }>;
  name: string;
  options?: RedisOptions;
}

/** The store's connection. */
export interface Connection {
  readonly client: Redis | Cluster;
  /** Made by the store, so closed by it. */
  readonly owned: boolean;
  /**
   * Before a connection the store made is first ready, a promise of its
   * readiness (bounded by the command timeout); `null` once it has been.
   */
  ready(): Promise<void> | null;
  /** Closes an owned connection (QUIT, bounded, then disconnect); leaves a given one alone. */
  close(): Promise<void>;
}

/**
 * ioredis groups auto-pipelined scripts by the slot of their first argument
 * (the key count, not a key), so on a cluster scripts of several slots fail
 * with "All keys in the pipeline should belong to the same slots allocation
 * group" (redis/ioredis#2109; seen in our contract suite with 6.0.0).
 */
const AUTO_PIPELINING =
  'enableAutoPipelining on an ioredis Cluster sends scripts to the wrong nodes (redis/ioredis#2109); turn it off for the Cluster given to redisStore()';

/** The connection `source` names; `timeoutMs` bounds each command of a connection the store makes. */
export function connect(source: ConnectionSource, timeoutMs: number, onError: (error: unknown) => void): Connection {
  const given = [source.client, source.url ?? source.redis, source.sentinel, source.cluster].filter((x) => x !== undefined).length;
  if (given > 1) throw new ConfigError('give redisStore() one of client, url (with or without redis options), sentinel or cluster, not several');
  let client: Redis | Cluster;
  const owned = source.client === undefined;
  if (source.client !== undefined) {
    client = source.client;
    if (client === null || typeof client !== 'object' || typeof client.getBuffer !== 'function') {
      throw new ConfigError('client must be an ioredis Redis or Cluster');
    }
    if (client.options.keyPrefix || (client.isCluster && (client as Cluster).options.redisOptions?.keyPrefix)) {
      throw new ConfigError('the ioredis client has a keyPrefix; latchkey computes keys inside its scripts, so use the prefix option instead');
    }
    if (client.isCluster && client.options.enableAutoPipelining) throw new ConfigError(AUTO_PIPELINING);
  } else if (source.cluster !== undefined) {
    const c = source.cluster;
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
  } else if (source.sentinel !== undefined) {
    client = new Redis(sentinelOptions(source.sentinel, timeoutMs));
  } else {
    if (source.url !== undefined && (typeof source.url !== 'string' || !/^rediss?:\/\//.test(source.url))) {
      throw new ConfigError('url must start with redis:// or rediss://');
    }
    const o = source.redis ?? {};
    if (o.keyPrefix) throw new ConfigError('use the prefix option, not ioredis keyPrefix');
    const merged = { ...connectionDefaults(timeoutMs), enableOfflineQueue: false, ...o };
    client = source.url !== undefined ? new Redis(source.url, merged) : new Redis(merged);
  }
  return managed(client, owned, timeoutMs, onError);
}

/**
 * `client` as the store uses it: errors of a connection it owns go to
 * `onError`, a first readiness it can wait for (bounded by `timeoutMs`), and
 * its closing (an owned one only).
 */
export function managed(client: Redis | Cluster, owned: boolean, timeoutMs: number, onError: (error: unknown) => void): Connection {
  // An EventEmitter without an 'error' listener reports to the console; ours goes to onError.
  const errorListener = (err: unknown): void => onError(err);
  if (owned) client.on('error', errorListener);

  let readyOnce = client.status === 'ready';
  let waiting: Promise<void> | null = null;

  return {
    client,
    owned,

    // A connection the store created rejects commands while it is not ready (no offline queue):
    // before its first connection, wait for it (bounded), so that a store used right after it was
    // made does not fail.
    ready() {
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
    },

    async close() {
      if (!owned) return;
      try {
        if (client.status === 'ready') await withTimeout(client.quit(), timeoutMs);
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
}

/**
 * A failed call as the store reports it: `StoreUnavailableError` whatever
 * ioredis said, saying which kind of failure it was (latchkey's own errors as
 * they are). ioredis attaches the failed command's arguments (an encoded
 * record: secret hash, IP, user agent, data) as `err.command`: removed, so
 * that they never reach a log through the cause.
 */
export function unavailable(err: unknown): LatchkeyError {
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

/**
 * ioredis's sentinel mode: it asks the sentinels for the primary on every
 * (re)connection and checks that the node it reaches is a primary. Its
 * `failoverDetector` stays off: with ioredis 6.0.0 it left the connection
 * ended for good ("Connection is closed", no reconnection) after about one
 * primary kill in six in test/faults/failover-sentinel.test.ts. A primary
 * that dies closes its connections, and one that hangs makes commands fail
 * after `commandTimeout`, so the connection finds the new primary anyway.
 */
function sentinelOptions(s: SentinelSource, timeoutMs: number): RedisOptions {
  if (s === null || typeof s !== 'object' || !Array.isArray(s.sentinels) || s.sentinels.length === 0) {
    throw new ConfigError('sentinel must be { sentinels: [{ host, port }, ...], name, options? } with at least one sentinel');
  }
  for (const a of s.sentinels) {
    if (a === null || typeof a !== 'object' || typeof a.host !== 'string' || a.host === '' || !Number.isInteger(a.port) || a.port < 1 || a.port > 65535) {
      throw new ConfigError('sentinel.sentinels must be addresses { host, port }');
    }
  }
  if (typeof s.name !== 'string' || s.name === '') throw new ConfigError("sentinel.name must be the primary's name as the sentinels know it (sentinel monitor <name> ...)");
  const o = s.options ?? {};
  if (o.keyPrefix) throw new ConfigError('use the prefix option, not ioredis keyPrefix');
  if (o.sentinels !== undefined || o.name !== undefined) throw new ConfigError('give the sentinels and the name in sentinel, not in sentinel.options');
  return {
    ...connectionDefaults(timeoutMs),
    enableOfflineQueue: false,
    sentinelCommandTimeout: timeoutMs,
    // Every sentinel was tried: try them again soon, as the primary's connection does.
    sentinelRetryStrategy: retry,
    ...o,
    sentinels: s.sentinels.map((a) => ({ host: a.host, port: a.port })),
    name: s.name,
  };
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
