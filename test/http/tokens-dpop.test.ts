/**
 * The token transport's DPoP settings: the public origin a proof's `htu`
 * must name (behind a proxy), checked through a real server, and the
 * configurations refused at construction.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/sessions.js';
import { createTokenTransport } from '../../src/http/tokens.js';
import { memoryStore } from '../../src/stores/memory.js';
import { createKeySet, type KeySet } from '../../src/tokens/keys.js';
import { createTokens, type Tokens } from '../../src/tokens/tokens.js';
import { startTokens } from '../adapters/support/token-apps.js';
import type { Running } from '../adapters/support/apps.js';
import { dpopClient } from '../support/dpop-client.js';
import { AUDIENCE, ISSUER, REFRESH_SECRET } from '../tokens/helpers.js';

const PUBLIC = 'https://api.example.test';

describe('DPoP settings of the token transport', () => {
  const store = memoryStore();
  const sessions = createSessions({ store, sweepInterval: false });
  let keys: KeySet;
  let tokens: Tokens;
  let proxied: Running;
  let direct: Running;

  beforeAll(async () => {
    keys = await createKeySet();
    tokens = createTokens({ sessions, keys, issuer: ISSUER, audience: AUDIENCE, refreshSecret: REFRESH_SECRET, dpop: {} });
    [proxied, direct] = await Promise.all([
      startTokens('node', createTokenTransport({ tokens, publicOrigin: [PUBLIC, 'https://other.example.test'] }), tokens),
      startTokens('node', createTokenTransport({ tokens }), tokens),
    ]);
  });
  afterAll(async () => {
    await Promise.all([proxied.close(), direct.close()]);
    await sessions.close();
  });

  it('checks htu against the public origin behind a proxy, not against the address the server listens on', async () => {
    const client = await dpopClient();
    const login = await fetch(`${proxied.url}/auth/dpop-login?user=proxied`, { method: 'POST', headers: { dpop: await client.proof('POST', `${PUBLIC}/auth/dpop-login`) } });
    expect(login.status).toBe(200);
    const { access_token: token } = (await login.json()) as { access_token: string };
    const asPublic = await fetch(`${proxied.url}/api/me`, { headers: { authorization: `DPoP ${token}`, dpop: await client.proof('GET', `${PUBLIC}/api/me`, { accessToken: token }) } });
    expect(asPublic.status).toBe(200);
    const asListened = await fetch(`${proxied.url}/api/me`, { headers: { authorization: `DPoP ${token}`, dpop: await client.proof('GET', `${proxied.url}/api/me`, { accessToken: token }) } });
    expect(asListened.status).toBe(401);
    expect(asListened.headers.get('www-authenticate')).toContain('the DPoP proof htu does not match the request URI');
    // Without publicOrigin, the Host header names the origin (http:// for a loopback host).
    expect((await client.fetch(`${direct.url}/api/me`, { accessToken: token })).status).toBe(200);
    const https = await fetch(`${direct.url}/api/me`, { headers: { authorization: `DPoP ${token}`, dpop: await client.proof('GET', `${PUBLIC}/api/me`, { accessToken: token }) } });
    expect(https.status).toBe(401);
  });

  it('refuses a publicOrigin that is not an origin, DPoP required over the cookie carrier, and unknown dpop options', () => {
    expect(() => createTokenTransport({ tokens, publicOrigin: 'https://api.example.test/v1' })).toThrow(/publicOrigin "https:\/\/api.example.test\/v1" must be an origin/);
    expect(() => createTokenTransport({ tokens, publicOrigin: [] })).toThrow(/publicOrigin must be the public origin/);
    const required = createTokens({ sessions, keys, issuer: ISSUER, audience: AUDIENCE, refreshSecret: REFRESH_SECRET, dpop: { required: true } });
    expect(() => createTokenTransport({ tokens: required, carrier: 'cookie' })).toThrow(/dpop.required would refuse them all/);
    expect(() => createTokens({ sessions, keys, issuer: ISSUER, audience: AUDIENCE, refreshSecret: REFRESH_SECRET, dpop: { algs: ['ES256'] } as never })).toThrow(/dpop\.algs/);
    expect(() => createTokens({ sessions, keys, issuer: ISSUER, audience: AUDIENCE, refreshSecret: REFRESH_SECRET, dpop: { algorithms: ['HS256'] } as never })).toThrow(/algorithms must be/);
  });

  it('refuses a proof passed to token mode with DPoP off, and an issue without one when DPoP is required', async () => {
    const off = createTokens({ sessions, keys, issuer: ISSUER, audience: AUDIENCE, refreshSecret: REFRESH_SECRET });
    const client = await dpopClient();
    const proof = await tokens.dpop!.verify({ proof: await client.proof('POST', `${PUBLIC}/t`), method: 'POST', url: `${PUBLIC}/t` });
    expect(proof.ok).toBe(true);
    if (!proof.ok) return;
    await expect(off.issue({ userId: 'u', dpop: proof })).rejects.toThrow(/DPoP is off/);
    const required = createTokens({ sessions, keys, issuer: ISSUER, audience: AUDIENCE, refreshSecret: REFRESH_SECRET, dpop: { required: true } });
    await expect(required.issue({ userId: 'u' })).rejects.toThrow(/needs a DPoP proof/);
    await expect(tokens.issue({ userId: 'u', data: { 'latchkey.jkt': client.jkt } })).rejects.toThrow(/pass a verified proof as dpop/);
  });

  it('refuses, and ends, a family from before dpop.required when it refreshes without a proof', async () => {
    const before = createTokens({ sessions, keys, issuer: ISSUER, audience: AUDIENCE, refreshSecret: REFRESH_SECRET });
    const pair = await before.issue({ userId: 'legacy' });
    const required = createTokens({ sessions, keys, issuer: ISSUER, audience: AUDIENCE, refreshSecret: REFRESH_SECRET, dpop: { required: true } });
    expect(await required.refresh(pair.refreshToken)).toEqual({ ok: false, reason: 'wrong-key' });
    expect(await before.refreshTokens.session(pair.session.handle)).toBeNull();
  });
});
