import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import { ConfigError } from '../../src/core/errors.js';
import { refuseUnknownKeys } from '../../src/core/option-keys.js';
import { createSessions, type SessionsOptions } from '../../src/core/sessions.js';
import { createSealedSessions } from '../../src/sealed/sealed-sessions.js';
import { memoryStore } from '../../src/stores/memory.js';

const SECRET = 'k'.repeat(32);

/** The ConfigError `make` throws (failing the test when it throws nothing, or something else). */
function refusal(make: () => unknown): ConfigError {
  try {
    make();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, got none');
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

describe('createSessions() option keys', () => {
  const store = memoryStore();

  it('refuses a misspelt option and names the option meant, rather than fall back to its default', () => {
    const err = refusal(() => createSessions({ store, idleTimout: '5m' } as SessionsOptions));
    expect(err.code).toBe('ERR_CONFIG');
    expect(err.message).toMatch(/^idleTimout is not an option of createSessions\(\); did you mean idleTimeout\? Known options: store, idleTimeout, /);
  });

  it.each([
    [{ binding: { onMismach: 'revoke' } }, 'binding.onMismach', 'binding.onMismatch'],
    [{ binding: { ip: { v4: 24, v5: 64 } } }, 'binding.ip.v5', 'binding.ip.v4'],
    [{ renewal: { intervall: '5m' } }, 'renewal.intervall', 'renewal.interval'],
    [{ cache: { stalenes: '5s' } }, 'cache.stalenes', 'cache.staleness'],
    [{ guessing: { treshold: 5 } }, 'guessing.treshold', 'guessing.threshold'],
    [{ maxSessionsPerUser: { limit: 3, onlimit: 'refuse' } }, 'maxSessionsPerUser.onlimit', 'maxSessionsPerUser.onLimit'],
  ])('refuses an unknown key in a nested option, naming where it sits: %j', (bad, key, meant) => {
    const err = refusal(() => createSessions({ store, ...(bad as Partial<SessionsOptions>) }));
    expect(err.message.startsWith(`${key} is not an option of createSessions(); did you mean ${meant}? Known options of `)).toBe(true);
  });

  it('lists the known options when nothing known is near the unknown key', () => {
    const err = refusal(() => createSessions({ store, colour: 'blue' } as SessionsOptions));
    expect(err.message).toBe(
      'colour is not an option of createSessions(); known options: store, idleTimeout, absoluteTimeout, touchInterval, maxSessionsPerUser, binding, renewal, revokedRetention, guessing, maxDataBytes, sweepInterval, storeTimeout, cache, kind, clock, onError, telemetry',
    );
  });

  it('refuses an unknown key even when its value is undefined', () => {
    expect(() => createSessions({ store, idleTimout: undefined } as SessionsOptions)).toThrow(/^idleTimout is not an option/);
  });

  it('quotes a key that does not look like an option name, shortened', () => {
    const err = refusal(() => createSessions({ store, ['x y\n'.repeat(30)]: 1 } as SessionsOptions));
    expect(err.message).toMatch(/^"x y\\nx y\\n.{30,40}…" is not an option of createSessions\(\)/);
  });

  it('accepts every documented option at once, and leaves a frozen options object as it was', () => {
    const options = deepFreeze({
      store,
      idleTimeout: '10m',
      absoluteTimeout: '1h',
      touchInterval: '30s',
      maxSessionsPerUser: { limit: 3, onLimit: 'refuse' as const },
      binding: { userAgent: true, ip: { v4: 24, v6: 48 }, onMismatch: 'log' as const },
      renewal: { interval: '5m', afterIdle: '2m', overlap: '10s' },
      revokedRetention: '30m',
      guessing: { threshold: 5, window: '30s', maxClients: 100 },
      maxDataBytes: 1000,
      sweepInterval: false as const,
      storeTimeout: '1s',
      cache: { staleness: '1s', maxEntries: 10 },
      kind: 'refresh',
      clock: manualClock(),
      onError: () => {},
    });
    const before = JSON.stringify(options);
    expect(() => createSessions(options)).not.toThrow();
    expect(JSON.stringify(options)).toBe(before);
  });
});

describe('memoryStore() option keys', () => {
  it('refuses a misspelt option and names the option meant', () => {
    const err = refusal(() => memoryStore({ maxSession: 10 } as never));
    expect(err.message).toBe('maxSession is not an option of memoryStore(); did you mean maxSessions? Known options: maxSessions, maxValues, clock');
  });

  it('takes its two options', () => {
    const store = memoryStore({ maxSessions: 10, clock: { now: () => 0 } });
    expect(store.capabilities.inProcess).toBe(true);
  });
});

describe('createSealedSessions() option keys', () => {
  it('refuses an unknown key of revocationCache, naming the option meant', () => {
    const err = refusal(() => createSealedSessions({ secrets: [SECRET], store: memoryStore(), revocationCache: { ttl: '5s', maxEntrys: 10 } as never }));
    expect(err.message).toBe(
      'revocationCache.maxEntrys is not an option of createSealedSessions(); did you mean revocationCache.maxEntries? Known options of revocationCache: ttl, maxEntries',
    );
  });
});

describe('refuseUnknownKeys()', () => {
  const known = ['idleTimeout', 'absoluteTimeout', 'store'];
  const message = (options: object): string => refusal(() => refuseUnknownKeys(options, known, 'f()')).message;

  it.each([
    ['a dropped letter', 'idleTimout', 'idleTimeout'],
    ['two letters swapped', 'idelTimeout', 'idleTimeout'],
    ['another case', 'IdleTimeout', 'idleTimeout'],
    ['a letter too many', 'storee', 'store'],
  ])('suggests the key meant for %s', (_what, typed, meant) => {
    expect(message({ [typed]: 1 })).toBe(`${typed} is not an option of f(); did you mean ${meant}? Known options: idleTimeout, absoluteTimeout, store`);
  });

  it('suggests nothing for a key far from every known one', () => {
    expect(message({ timeout: 1 })).toBe('timeout is not an option of f(); known options: idleTimeout, absoluteTimeout, store');
  });

  it('passes an object of known keys and an empty object, reading nothing else', () => {
    expect(() => refuseUnknownKeys({ idleTimeout: 1, store: null }, known, 'f()')).not.toThrow();
    expect(() => refuseUnknownKeys({}, known, 'f()')).not.toThrow();
  });
});
