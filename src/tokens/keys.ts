/**
 * Signing keys for access and ID tokens: a key set with a `kid` in every
 * token, generated on first start and persisted through a {@link KeyStorage},
 * rotated on demand or on a schedule with an overlap window (the new key
 * signs, previous keys keep verifying until they retire), and published as a
 * JWKS document that any plain `jose` client can verify with.
 *
 * @module
 */
import { fromBase64url } from '#primitives';
import { exportJWK, generateKeyPair, generateSecret, importJWK, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { describe, durationOption, type Duration } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import { checkOptionKeys } from '../core/option-keys.js';
import { randomString } from '../core/token.js';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from './algorithms.js';
import { memoryKeyStorage, type KeyStorage, type StoredKey } from './key-storage.js';

export type { SigningAlgorithm } from './algorithms.js';

/** Options of {@link createKeySet}. */
export interface KeySetOptions {
  /**
   * Algorithm of newly generated keys. Changing it later rotates to a key of
   * the new algorithm at the next start; older keys verify until they retire.
   * @default 'EdDSA'
   */
  algorithm?: SigningAlgorithm;
  /**
   * Where keys are kept between restarts.
   * @default memoryKeyStorage() (new keys at every start)
   */
  storage?: KeyStorage;
  /**
   * Rotate the signing key once it is this old (checked when signing). With
   * several instances sharing one key file, set it on one instance only.
   * @default false (rotate only when `rotate()` is called)
   */
  rotateEvery?: Duration | false;
  /**
   * How long a replaced key still verifies. Must be longer than the lifetime
   * of the tokens it signed (access tokens: `ttl` plus clock skew).
   * @default '1d'
   */
  overlap?: Duration;
  /**
   * How often, at most, an unknown `kid` makes the set re-read its storage
   * (another instance may have rotated). `false` never re-reads.
   * @default '30s'
   */
  reloadInterval?: Duration | false;
  /** The time source. @default the system clock */
  clock?: Clock;
}

/** A key ready for jose. @internal */
export interface ActiveKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly key: CryptoKey;
  /** ms since epoch, or `null` for the signing key */
  readonly retiresAt: number | null;
}

/** What {@link KeySet.list} shows of a key: never key material. */
export interface KeyInfo {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly createdAt: number;
  readonly retiresAt: number | null;
  /** Whether this key signs new tokens. */
  readonly signing: boolean;
}

/** A set of signing keys returned by {@link createKeySet}. */
export interface KeySet {
  /** Algorithm of newly generated keys. */
  readonly algorithm: SigningAlgorithm;
  /** How long a replaced key still verifies, in ms. */
  readonly overlap: number;
  /** The key that signs now, rotating first if `rotateEvery` says it is due. @internal */
  signingKey(): Promise<ActiveKey>;
  /** The live key with this `kid`, or `undefined` (unknown or retired). Synchronous: the verify hot path. @internal */
  verificationKey(kid: unknown): ActiveKey | undefined;
  /** Algorithms of the live keys: what verification accepts. @internal */
  algorithms(): readonly SigningAlgorithm[];
  /**
   * Generates a new signing key now; the previous one verifies for `overlap`.
   * Resolves the new `kid`.
   */
  rotate(): Promise<string>;
  /** Re-reads the storage (another instance rotated). */
  reload(): Promise<void>;
  /** Re-reads the storage if the last read is older than `reloadInterval`; resolves whether it did. @internal */
  reloadIfStale(): Promise<boolean>;
  /** The public keys, as a JWKS document to serve at e.g. `/.well-known/jwks.json`. HS256 keys are never included. */
  jwks(): JSONWebKeySet;
  /** The live keys, newest first, without key material. */
  list(): KeyInfo[];
}

interface Entry {
  readonly stored: StoredKey;
  readonly sign: CryptoKey;
  readonly verify: ActiveKey;
  readonly publicJwk: JWK | null;
}

/**
 * Loads the key set from its storage, generating and saving a first key if
 * there is none.
 *
 * @example
 * ```ts
 * import { createKeySet } from 'latchkey/tokens';
 * import { fileKeyStorage } from 'latchkey/tokens/file';
 *
 * const keys = await createKeySet({ storage: fileKeyStorage('./.latchkey/keys.json'), rotateEvery: '30d' });
 * app.get('/.well-known/jwks.json', (req, res) => res.json(keys.jwks()));
 * ```
 */
export async function createKeySet(options: KeySetOptions = {}): Promise<KeySet> {
  checkOptionKeys(options, 'createKeySet()', ['algorithm', 'storage', 'rotateEvery', 'overlap', 'reloadInterval', 'clock']);
  const algorithm = options.algorithm ?? 'EdDSA';
  if (!SIGNING_ALGORITHMS.includes(algorithm)) {
    throw new ConfigError(`algorithm must be 'EdDSA', 'ES256', 'RS256' or 'HS256' (got ${describe(algorithm)})`);
  }
  const storage = options.storage ?? memoryKeyStorage();
  if (storage === null || typeof storage !== 'object' || typeof storage.load !== 'function' || typeof storage.save !== 'function') {
    throw new ConfigError('storage must be a KeyStorage, e.g. fileKeyStorage(path) or memoryKeyStorage()');
  }
  const rotateMs = options.rotateEvery === undefined || options.rotateEvery === false ? null : durationOption('rotateEvery', options.rotateEvery, { min: 60_000 });
  const overlapMs = durationOption('overlap', options.overlap ?? '1d', { min: 1000 });
  const reloadMs = options.reloadInterval === false ? null : durationOption('reloadInterval', options.reloadInterval ?? '30s', { min: 1000 });
  const clock = options.clock ?? systemClock;

  let entries = new Map<string, Entry>();
  let current: Entry;
  let jwksDoc: JSONWebKeySet = { keys: [] };
  let algs: readonly SigningAlgorithm[] = [];
  let lastLoad = 0;
  let rotating: Promise<string> | null = null;

  async function adopt(stored: readonly StoredKey[], now: number): Promise<void> {
    const next = new Map<string, Entry>();
    for (const k of stored) {
      if (k.retiresAt !== null && k.retiresAt <= now) continue;
      // Keys already imported stay as they are: a reload re-imports only what changed.
      const known = entries.get(k.kid);
      next.set(k.kid, known !== undefined && known.stored.retiresAt === k.retiresAt ? known : await importEntry(k));
    }
    const signing = [...next.values()].filter((e) => e.stored.retiresAt === null).sort((a, b) => b.stored.createdAt - a.stored.createdAt)[0];
    if (signing === undefined) throw new ConfigError('the key storage holds no signing key');
    entries = next;
    current = signing;
    const live = [...next.values()];
    algs = [...new Set(live.map((e) => e.stored.alg))];
    jwksDoc = { keys: live.flatMap((e) => (e.publicJwk === null ? [] : [e.publicJwk])) };
    lastLoad = now;
  }

  async function load(): Promise<void> {
    const now = clock.now();
    const stored = await storage.load();
    let keys = stored ?? [];
    const usable = keys.filter((k) => k.retiresAt === null || k.retiresAt > now);
    if (!usable.some((k) => k.retiresAt === null && k.alg === algorithm)) {
      keys = withNewKey(usable, await generate(algorithm, now), now, overlapMs);
      await storage.save(keys);
    } else if (usable.length !== keys.length) {
      keys = usable;
      await storage.save(keys);
    }
    await adopt(keys, now);
  }

  await load();

  async function rotateNow(): Promise<string> {
    const now = clock.now();
    const fresh = await generate(algorithm, now);
    const keys = withNewKey(
      [...entries.values()].map((e) => e.stored).filter((k) => k.retiresAt === null || k.retiresAt > now),
      fresh,
      now,
      overlapMs,
    );
    await storage.save(keys);
    await adopt(keys, now);
    return fresh.kid;
  }

  const set: KeySet = {
    algorithm,
    overlap: overlapMs,

    async signingKey() {
      if (rotateMs !== null && clock.now() - current.stored.createdAt >= rotateMs) await set.rotate();
      return { kid: current.verify.kid, alg: current.verify.alg, key: current.sign, retiresAt: null };
    },

    verificationKey(kid) {
      if (typeof kid !== 'string') return undefined;
      const e = entries.get(kid);
      if (e === undefined) return undefined;
      const r = e.stored.retiresAt;
      return r === null || clock.now() < r ? e.verify : undefined;
    },

    algorithms: () => algs,

    rotate() {
      // Concurrent callers share one rotation: two would save over each other.
      rotating ??= rotateNow().finally(() => {
        rotating = null;
      });
      return rotating;
    },

    reload: load,

    async reloadIfStale() {
      if (reloadMs === null || clock.now() - lastLoad < reloadMs) return false;
      lastLoad = clock.now();
      await load();
      return true;
    },

    jwks() {
      return { keys: jwksDoc.keys.filter((k) => set.verificationKey(k.kid) !== undefined).map((k) => ({ ...k })) };
    },

    list() {
      return [...entries.values()]
        .sort((a, b) => b.stored.createdAt - a.stored.createdAt)
        .map((e) => ({
          kid: e.stored.kid,
          alg: e.stored.alg,
          createdAt: e.stored.createdAt,
          retiresAt: e.stored.retiresAt,
          signing: e === current,
        }));
    },
  };
  return set;
}

/** The new key signs; every other key still signing retires after the overlap. */
function withNewKey(keys: readonly StoredKey[], fresh: StoredKey, now: number, overlapMs: number): StoredKey[] {
  return [fresh, ...keys.map((k) => (k.retiresAt === null ? { ...k, retiresAt: now + overlapMs } : k))];
}

async function generate(alg: SigningAlgorithm, now: number): Promise<StoredKey> {
  let jwk: JWK;
  if (alg === 'HS256') {
    jwk = await exportJWK(await generateSecret('HS256', { extractable: true }));
  } else {
    const pair = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : { extractable: true });
    jwk = await exportJWK(pair.privateKey);
  }
  return { kid: randomString(12), alg, createdAt: now, retiresAt: null, jwk };
}

/** Shortest HS256 key accepted, in bytes: the SHA-256 output size. */
const MIN_HS256_BYTES = 32;

const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'key_ops', 'ext', 'use', 'alg', 'kid']);

async function importEntry(k: StoredKey): Promise<Entry> {
  let sign: CryptoKey;
  let verify: CryptoKey;
  let publicJwk: JWK | null = null;
  try {
    if (k.alg === 'HS256') {
      if (k.jwk.kty !== 'oct') throw wrongKeyType(k);
      const bytes = typeof k.jwk.k === 'string' ? fromBase64url(k.jwk.k).length : 0;
      // RFC 8725 section 3.5 (and RFC 7518 section 3.2): an HMAC key at least as long as the hash output.
      if (bytes < MIN_HS256_BYTES) {
        throw new ConfigError(
          `key ${k.kid} (HS256) is ${bytes} bytes long; an HS256 key must be at least ${MIN_HS256_BYTES} random bytes (RFC 8725 section 3.5): give its "k" ${MIN_HS256_BYTES} or more random bytes (base64url), or remove it from the key storage so that a new key is generated`,
        );
      }
      sign = verify = (await importJWK(k.jwk, 'HS256', { extractable: false })) as CryptoKey;
    } else {
      if (k.jwk.kty === 'oct' || typeof k.jwk.d !== 'string') throw wrongKeyType(k);
      sign = (await importJWK(k.jwk, k.alg, { extractable: false })) as CryptoKey;
      const pub: JWK = {};
      for (const [name, value] of Object.entries(k.jwk)) if (!PRIVATE_MEMBERS.has(name)) (pub as Record<string, unknown>)[name] = value;
      verify = (await importJWK(pub, k.alg)) as CryptoKey;
      publicJwk = { ...pub, kid: k.kid, alg: k.alg, use: 'sig' };
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    // The message names the key, never its material.
    throw new ConfigError(`key ${k.kid} (${k.alg}) cannot be imported: invalid JWK`);
  }
  return { stored: k, sign, verify: { kid: k.kid, alg: k.alg, key: verify, retiresAt: k.retiresAt }, publicJwk };
}

function wrongKeyType(k: StoredKey): ConfigError {
  return new ConfigError(`key ${k.kid} (${k.alg}) cannot be imported: wrong key type for its algorithm`);
}
