import { generateKeyPair, SignJWT, UnsecuredJWT, exportSPKI, decodeProtectedHeader, decodeJwt, importJWK, type CryptoKey } from 'jose';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import { ConfigError } from '../../src/core/errors.js';
import { createAccessTokens } from '../../src/tokens/access.js';
import { createIdTokens } from '../../src/tokens/id-token.js';
import { createKeySet, type SigningAlgorithm } from '../../src/tokens/keys.js';
import { AUDIENCE, ISSUER, setup } from './helpers.js';

const SID = 'AAAAAAAAAAAAAAAAAAAAAA';

async function accessSetup(algorithm: SigningAlgorithm = 'EdDSA') {
  const clock = manualClock();
  const keys = await createKeySet({ clock, algorithm });
  const access = createAccessTokens({ keys, issuer: ISSUER, audience: AUDIENCE, clock });
  return { clock, keys, access };
}

/** base64url-decodes, edits and re-encodes one part of a compact JWS, keeping the others. */
function editPart(token: string, index: number, edit: (json: Record<string, unknown>) => void): string {
  const parts = token.split('.');
  const json = JSON.parse(Buffer.from(parts[index] as string, 'base64url').toString()) as Record<string, unknown>;
  edit(json);
  parts[index] = Buffer.from(JSON.stringify(json)).toString('base64url');
  return parts.join('.');
}

describe('access tokens', () => {
  it.each(['EdDSA', 'ES256', 'RS256', 'HS256'] as const)('signs and verifies with %s, with kid, typ and the standard claims', async (alg) => {
    const { access, clock, keys } = await accessSetup(alg);
    const jwt = await access.sign({ subject: 'u1', sessionId: SID, scope: ['read', 'write'], authTime: clock.now() - 5000, claims: { role: 'admin' } });
    const header = decodeProtectedHeader(jwt);
    expect(header).toEqual({ alg, kid: keys.list()[0]?.kid, typ: 'at+jwt' });
    const result = await access.verify(jwt);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const now = Math.floor(clock.now() / 1000);
    expect(result.claims).toMatchObject({ sub: 'u1', sid: SID, iss: ISSUER, aud: AUDIENCE, iat: now, nbf: now, exp: now + 300, scope: 'read write', auth_time: now - 5, role: 'admin' });
  });

  it('defaults to EdDSA with Ed25519 keys', async () => {
    const { keys } = await accessSetup();
    expect(keys.algorithm).toBe('EdDSA');
    expect(keys.jwks().keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
  });

  it('refuses to let custom claims override registered ones', async () => {
    const { access } = await accessSetup();
    for (const name of ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'sid', 'scope', 'auth_time', 'cnf']) {
      await expect(access.sign({ subject: 'u1', sessionId: SID, claims: { [name]: 'x' } })).rejects.toThrow(TypeError);
    }
  });

  it('refuses a tampered payload as bad-signature', async () => {
    const { access } = await accessSetup();
    const jwt = await access.sign({ subject: 'u1', sessionId: SID });
    const forged = editPart(jwt, 1, (p) => (p.sub = 'admin'));
    expect(await access.verify(forged)).toEqual({ ok: false, reason: 'bad-signature' });
    const sig = jwt.split('.');
    sig[2] = `${(sig[2] as string).slice(0, -2)}${(sig[2] as string).endsWith('AA') ? 'BA' : 'AA'}`;
    expect(await access.verify(sig.join('.'))).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses an expired token, but tolerates the configured clock skew', async () => {
    const { access, clock } = await accessSetup();
    const jwt = await access.sign({ subject: 'u1', sessionId: SID });
    clock.advance('5m 20s');
    expect((await access.verify(jwt)).ok).toBe(true);
    clock.advance('11s');
    expect(await access.verify(jwt)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses a token from the future as not-yet-valid, beyond the clock skew', async () => {
    const { access, clock } = await accessSetup();
    const jwt = await access.sign({ subject: 'u1', sessionId: SID });
    clock.set(clock.now() - 20_000);
    expect((await access.verify(jwt)).ok).toBe(true);
    clock.set(clock.now() - 20_000);
    expect(await access.verify(jwt)).toEqual({ ok: false, reason: 'not-yet-valid' });
  });

  it('refuses a token for another audience or from another issuer', async () => {
    const { access, keys, clock } = await accessSetup();
    const other = createAccessTokens({ keys, issuer: ISSUER, audience: 'billing', clock });
    const foreign = createAccessTokens({ keys, issuer: 'https://evil.example', audience: AUDIENCE, clock });
    expect(await access.verify(await other.sign({ subject: 'u1', sessionId: SID }))).toEqual({ ok: false, reason: 'wrong-audience' });
    expect(await access.verify(await foreign.sign({ subject: 'u1', sessionId: SID }))).toEqual({ ok: false, reason: 'wrong-issuer' });
  });

  it('refuses alg none', async () => {
    const { access, keys } = await accessSetup();
    const kid = keys.list()[0]?.kid;
    const none = new UnsecuredJWT({ sub: 'u1', sid: SID }).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('5m').encode();
    expect(await access.verify(none)).toEqual({ ok: false, reason: 'algorithm-not-allowed' });
    const withKid = editPart(none, 0, (h) => Object.assign(h, { kid, typ: 'at+jwt' }));
    expect(await access.verify(withKid)).toEqual({ ok: false, reason: 'algorithm-not-allowed' });
    // Even with a signature part
    expect(await access.verify(`${withKid}c2ln`)).toMatchObject({ ok: false });
  });

  it('refuses HS256 signed with the public key (key confusion)', async () => {
    const { access, keys, clock } = await accessSetup('RS256');
    const kid = keys.list()[0]?.kid as string;
    const jwk = keys.jwks().keys[0];
    const pem = await exportSPKI((await importJWK(jwk as object, 'RS256', { extractable: true })) as CryptoKey);
    const now = Math.floor(clock.now() / 1000);
    for (const secret of [new TextEncoder().encode(pem), new TextEncoder().encode(JSON.stringify(jwk))]) {
      const forged = await new SignJWT({ sid: SID })
        .setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' })
        .setSubject('admin')
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(secret);
      expect(await access.verify(forged)).toEqual({ ok: false, reason: 'algorithm-not-allowed' });
    }
  });

  it('refuses an algorithm other than its key’s, even when the set allows it', async () => {
    const clock = manualClock();
    const keys = await createKeySet({ clock, algorithm: 'ES256' });
    const access = createAccessTokens({ keys, issuer: ISSUER, audience: AUDIENCE, clock });
    const kid = keys.list()[0]?.kid as string;
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const now = Math.floor(clock.now() / 1000);
    const forged = await new SignJWT({ sid: SID })
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' })
      .setSubject('u1')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(privateKey);
    expect(await access.verify(forged)).toEqual({ ok: false, reason: 'algorithm-not-allowed' });
  });

  it('refuses an unknown or missing kid', async () => {
    const { access, clock } = await accessSetup();
    const stranger = createAccessTokens({ keys: await createKeySet({ clock }), issuer: ISSUER, audience: AUDIENCE, clock });
    const jwt = await stranger.sign({ subject: 'u1', sessionId: SID });
    expect(await access.verify(jwt)).toEqual({ ok: false, reason: 'unknown-kid' });
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const noKid = await new SignJWT({ sid: SID }).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' }).setSubject('u1').setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('5m').sign(privateKey);
    expect(await access.verify(noKid)).toEqual({ ok: false, reason: 'unknown-kid' });
  });

  it('refuses an ID token presented as an access token', async () => {
    const { access, keys, clock } = await accessSetup();
    const ids = createIdTokens({ keys, issuer: ISSUER, clock });
    const idToken = await ids.sign({ subject: 'u1', audience: AUDIENCE, claims: { email: 'ada@example.test' } });
    expect(await access.verify(idToken)).toEqual({ ok: false, reason: 'wrong-type' });
  });

  it('refuses a token signed by our key without sid as invalid-claims', async () => {
    const { access, keys, clock } = await accessSetup();
    const key = await keys.signingKey();
    const now = Math.floor(clock.now() / 1000);
    const jwt = await new SignJWT({}).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' }).setSubject('u1').setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt(now).setExpirationTime(now + 60).sign(key.key);
    expect(await access.verify(jwt)).toEqual({ ok: false, reason: 'invalid-claims' });
  });

  it('refuses non-strings and oversized input as malformed without reading them', async () => {
    const { access } = await accessSetup();
    for (const bad of [undefined, null, 42, {}, '', 'a.b.c', 'x'.repeat(10_000)]) {
      expect(await access.verify(bad)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it.each(['EdDSA', 'ES256', 'RS256', 'HS256'] as const)('accepts only the one compact spelling of a %s token: whitespace or another last character in its signature is malformed', async (alg) => {
    const { access } = await accessSetup(alg);
    const jwt = await access.sign({ subject: 'u1', sessionId: SID });
    const [h, p, s] = jwt.split('.') as [string, string, string];
    // The signature's last character carries unused low bits: other characters that differ only there decode to the same bytes.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = s.slice(-1);
    const aliases = [...alphabet].filter((c) => c !== last && Buffer.from(s.slice(0, -1) + c, 'base64url').equals(Buffer.from(s, 'base64url')));
    expect(aliases.length).toBeGreaterThan(0);
    const respellings = [
      ...aliases.map((c) => `${h}.${p}.${s.slice(0, -1)}${c}`),
      `${h}.${p}.${s.slice(0, 8)} ${s.slice(8)}`,
      `${h}.${p}.${s.slice(0, 8)}\t${s.slice(8)}`,
      `${h}.${p}.${s.slice(0, 8)}\n${s.slice(8)}`,
      `${h}.${p}.${s} `,
    ];
    for (const t of respellings) expect(await access.verify(t), JSON.stringify(t.slice(-12))).toEqual({ ok: false, reason: 'malformed' });
    expect((await access.verify(jwt)).ok).toBe(true);
  });

  it('checks configuration at construction with clear messages', async () => {
    const { keys } = await accessSetup();
    expect(() => createAccessTokens({ keys, issuer: '', audience: AUDIENCE })).toThrow(ConfigError);
    expect(() => createAccessTokens({ keys, issuer: ISSUER, audience: [] })).toThrow(/audience/);
    expect(() => createAccessTokens({ keys, issuer: ISSUER, audience: AUDIENCE, clockSkew: '10m' })).toThrow(/clockSkew/);
    expect(() => createAccessTokens({ keys, issuer: ISSUER, audience: AUDIENCE, ttl: '2d' })).toThrow(/ttl/);
    const short = await createKeySet({ overlap: '5m' });
    expect(() => createAccessTokens({ keys: short, issuer: ISSUER, audience: AUDIENCE })).toThrow(/overlap/);
  });
});

describe('session checks', () => {
  it('needs the store option for a session check, and says so', async () => {
    const { access } = await accessSetup();
    const jwt = await access.sign({ subject: 'u1', sessionId: SID });
    await expect(access.verify(jwt, { checkSession: true })).rejects.toThrow(ConfigError);
  });

  it('finds the live session of a family from any handle it had', async () => {
    const { tokens } = await setup();
    const first = await tokens.issue({ userId: 'u1' });
    const second = await tokens.refresh(first.refreshToken);
    if (!second.ok) throw new Error('refresh failed');
    expect((await tokens.refreshTokens.session(first.session.handle))?.handle).toBe(second.session.handle);
    expect(await tokens.refreshTokens.session('nope')).toBeNull();
  });
});

describe('ID tokens', () => {
  it('carries OIDC claims a client can read', async () => {
    const { keys, clock } = await accessSetup();
    const ids = createIdTokens({ keys, issuer: ISSUER, clock });
    const jwt = await ids.sign({ subject: 'u1', audience: 'web', nonce: 'n-1', authTime: clock.now(), claims: { name: 'Ada', email: 'ada@example.test' } });
    expect(decodeProtectedHeader(jwt).typ).toBe('JWT');
    expect(decodeJwt(jwt)).toMatchObject({ sub: 'u1', aud: 'web', iss: ISSUER, nonce: 'n-1', name: 'Ada', email: 'ada@example.test' });
    await expect(ids.sign({ subject: 'u1', audience: 'web', claims: { iss: 'x' } })).rejects.toThrow(TypeError);
  });
});
