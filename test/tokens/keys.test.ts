import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import { ConfigError } from '../../src/core/errors.js';
import { createAccessTokens } from '../../src/tokens/access.js';
import { fileKeyStorage } from '../../src/tokens/file-key-storage.js';
import { memoryKeyStorage } from '../../src/tokens/key-storage.js';
import { createKeySet } from '../../src/tokens/keys.js';
import { AUDIENCE, ISSUER } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'latchkey-keys-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const SID = 'AAAAAAAAAAAAAAAAAAAAAA';

describe('key set', () => {
  it('generates a key on first start, persists it to a 0600 file and reloads the same key', async () => {
    const path = join(scratch, 'first', 'keys.json');
    const clock = manualClock();
    const keys = await createKeySet({ storage: fileKeyStorage(path), clock });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(scratch, 'first')).mode & 0o777).toBe(0o700);
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { keys: Array<{ kid: string; jwk: { d?: string } }> };
    expect(saved.keys).toHaveLength(1);
    expect(saved.keys[0]?.kid).toBe(keys.list()[0]?.kid);
    const access = createAccessTokens({ keys, issuer: ISSUER, audience: AUDIENCE, clock });
    const jwt = await access.sign({ subject: 'u1', sessionId: SID });

    const restarted = await createKeySet({ storage: fileKeyStorage(path), clock });
    expect(restarted.list().map((k) => k.kid)).toEqual(keys.list().map((k) => k.kid));
    const after = createAccessTokens({ keys: restarted, issuer: ISSUER, audience: AUDIENCE, clock });
    expect((await after.verify(jwt)).ok).toBe(true);
  });

  it('refuses a key file that others may read, and a corrupt one, without printing key material', async () => {
    const path = join(scratch, 'loose.json');
    await createKeySet({ storage: fileKeyStorage(path) });
    chmodSync(path, 0o644);
    await expect(createKeySet({ storage: fileKeyStorage(path) })).rejects.toThrow(/chmod 600/);
    const bad = join(scratch, 'bad.json');
    writeFileSync(bad, '{ not json', { mode: 0o600 });
    await expect(createKeySet({ storage: fileKeyStorage(bad) })).rejects.toThrow(ConfigError);
    const wrongShape = join(scratch, 'shape.json');
    writeFileSync(wrongShape, JSON.stringify({ keys: [{ kid: 'k', alg: 'EdDSA', createdAt: 0, retiresAt: null, jwk: { kty: 'OKP', crv: 'Ed25519', x: 'AAAA', d: 'c2VjcmV0LW1hdGVyaWFs' } }] }), { mode: 0o600 });
    const err = await createKeySet({ storage: fileKeyStorage(wrongShape) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(String((err as Error).message)).not.toContain('c2VjcmV0');
  });

  it('refuses HS256 keys shorter than 32 bytes from a key storage or a keys.json, naming the key and never its material (RFC 8725 3.5)', async () => {
    for (const bytes of [0, 16, 31]) {
      const secret = Buffer.alloc(bytes, 7).toString('base64url');
      const stored = { kid: `short-${bytes}`, alg: 'HS256' as const, createdAt: 0, retiresAt: null, jwk: { kty: 'oct', k: secret } };
      const storage = memoryKeyStorage();
      await storage.save([stored]);
      const err = await createKeySet({ algorithm: 'HS256', storage }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toBe(
        `key short-${bytes} (HS256) is ${bytes} bytes long; an HS256 key must be at least 32 random bytes (RFC 8725 section 3.5): give its "k" 32 or more random bytes (base64url), or remove it from the key storage so that a new key is generated`,
      );
      const path = join(scratch, `short-${bytes}.json`);
      writeFileSync(path, JSON.stringify({ version: 1, keys: [stored] }), { mode: 0o600 });
      const fromFile = await createKeySet({ algorithm: 'HS256', storage: fileKeyStorage(path) }).catch((e: unknown) => e);
      expect(fromFile).toBeInstanceOf(ConfigError);
      expect((fromFile as Error).message).toMatch(/is \d+ bytes long; an HS256 key must be at least 32/);
      if (secret !== '') expect((fromFile as Error).message).not.toContain(secret);
    }
    // A retiring short key is refused too: it would still verify.
    const storage = memoryKeyStorage();
    const good = { kid: 'good', alg: 'HS256' as const, createdAt: 1, retiresAt: null, jwk: { kty: 'oct', k: Buffer.alloc(32, 9).toString('base64url') } };
    const old = { kid: 'old', alg: 'HS256' as const, createdAt: 0, retiresAt: Date.now() + 3_600_000, jwk: { kty: 'oct', k: Buffer.alloc(20, 9).toString('base64url') } };
    await storage.save([good, old]);
    await expect(createKeySet({ algorithm: 'HS256', storage })).rejects.toThrow('key old (HS256) is 20 bytes long');
    // 32 bytes is enough.
    await storage.save([good]);
    expect((await createKeySet({ algorithm: 'HS256', storage })).list().map((k) => k.kid)).toEqual(['good']);
  });

  it('rotates on demand: the new key signs, old tokens verify during the overlap, not after retirement', async () => {
    const clock = manualClock();
    const keys = await createKeySet({ clock, overlap: '1h' });
    const access = createAccessTokens({ keys, issuer: ISSUER, audience: AUDIENCE, clock, ttl: '50m' });
    const oldJwt = await access.sign({ subject: 'u1', sessionId: SID });
    const oldKid = keys.list()[0]?.kid;
    const newKid = await keys.rotate();
    expect(newKid).not.toBe(oldKid);
    const newJwt = await access.sign({ subject: 'u1', sessionId: SID });
    expect(JSON.parse(Buffer.from(newJwt.split('.')[0] as string, 'base64url').toString()).kid).toBe(newKid);
    expect(keys.jwks().keys.map((k) => k.kid).sort()).toEqual([oldKid, newKid].sort());
    clock.advance('30m');
    expect((await access.verify(oldJwt)).ok).toBe(true);
    clock.advance('31m');
    expect(await access.verify(oldJwt)).toEqual({ ok: false, reason: 'unknown-kid' });
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([newKid]);
    expect(keys.list().find((k) => k.kid === newKid)?.signing).toBe(true);
  });

  it('rotates on a schedule when signing, once for concurrent signers', async () => {
    const clock = manualClock();
    const storage = memoryKeyStorage();
    const keys = await createKeySet({ clock, storage, rotateEvery: '1d', overlap: '1h' });
    const access = createAccessTokens({ keys, issuer: ISSUER, audience: AUDIENCE, clock });
    const first = keys.list()[0]?.kid;
    clock.advance('1d');
    const jwts = await Promise.all(Array.from({ length: 5 }, () => access.sign({ subject: 'u1', sessionId: SID })));
    const kids = new Set(jwts.map((j) => JSON.parse(Buffer.from(j.split('.')[0] as string, 'base64url').toString()).kid));
    expect(kids.size).toBe(1);
    expect(kids.has(first)).toBe(false);
    expect(keys.list()).toHaveLength(2);
    clock.advance('2h');
    await keys.rotate();
    expect(keys.list().map((k) => k.kid)).not.toContain(first);
    expect((await storage.load())?.map((k) => k.kid)).not.toContain(first);
  });

  it('picks up a rotation made by another instance when it meets the unknown kid', async () => {
    const path = join(scratch, 'shared.json');
    const clock = manualClock();
    const a = await createKeySet({ storage: fileKeyStorage(path), clock });
    const b = await createKeySet({ storage: fileKeyStorage(path), clock });
    await a.rotate();
    const signer = createAccessTokens({ keys: a, issuer: ISSUER, audience: AUDIENCE, clock });
    const verifier = createAccessTokens({ keys: b, issuer: ISSUER, audience: AUDIENCE, clock });
    const jwt = await signer.sign({ subject: 'u1', sessionId: SID });
    expect(await verifier.verify(jwt)).toEqual({ ok: false, reason: 'unknown-kid' });
    clock.advance('31s');
    expect((await verifier.verify(jwt)).ok).toBe(true);
  });

  it('switches algorithm at start when asked, keeping the old keys for the overlap', async () => {
    const storage = memoryKeyStorage();
    const clock = manualClock();
    const ed = await createKeySet({ storage, clock });
    const es = await createKeySet({ storage, clock, algorithm: 'ES256' });
    expect(es.list().map((k) => k.alg)).toEqual(['ES256', 'EdDSA']);
    expect(es.list()[1]?.kid).toBe(ed.list()[0]?.kid);
  });

  it('never publishes private or symmetric key material in the JWKS', async () => {
    for (const algorithm of ['EdDSA', 'ES256', 'RS256'] as const) {
      const keys = await createKeySet({ algorithm });
      for (const jwk of keys.jwks().keys) {
        for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(jwk).not.toHaveProperty(member);
      }
    }
    expect((await createKeySet({ algorithm: 'HS256' })).jwks()).toEqual({ keys: [] });
  });

  it('validates its options', async () => {
    await expect(createKeySet({ algorithm: 'none' as never })).rejects.toThrow(ConfigError);
    await expect(createKeySet({ rotateEvery: '1s' })).rejects.toThrow(/rotateEvery/);
    await expect(createKeySet({ storage: {} as never })).rejects.toThrow(/KeyStorage/);
  });
});

describe('JWKS for other services', () => {
  it.each(['EdDSA', 'ES256', 'RS256'] as const)('verifies %s access tokens with a plain jose createLocalJWKSet', async (algorithm) => {
    const keys = await createKeySet({ algorithm });
    const access = createAccessTokens({ keys, issuer: ISSUER, audience: AUDIENCE });
    const jwt = await access.sign({ subject: 'u1', sessionId: SID, scope: 'read' });
    // What another service does with the published document, knowing nothing of latchkey:
    const doc = JSON.parse(JSON.stringify(keys.jwks())) as Parameters<typeof createLocalJWKSet>[0];
    const { payload } = await jwtVerify(jwt, createLocalJWKSet(doc), { issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt' });
    expect(payload).toMatchObject({ sub: 'u1', sid: SID, scope: 'read' });
  });
});
