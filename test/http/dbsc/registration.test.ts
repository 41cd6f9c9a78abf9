/**
 * DBSC registration through a real node:http site and a jose client that
 * behaves as a browser: the proof is verified exactly as the draft says,
 * the binding keeps the client's key, the answer carries the session
 * instructions, the bound cookie with the same attributes, no-store and
 * the next challenge; every bent proof is refused and binds nothing.
 */
import { exportJWK, generateKeyPair } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../../src/core/clock.js';
import type { DbscOptions } from '../../../src/http/dbsc/index.js';
import { dbscClient, fakeChallenge, type DbscClient } from '../../support/dbsc-client.js';
import { startDbscSite, type DbscSite } from '../../support/dbsc-site.js';

const sites: DbscSite[] = [];
async function site(options: Partial<DbscOptions> = {}): Promise<DbscSite> {
  const started = await startDbscSite({ options });
  sites.push(started);
  return started;
}
afterEach(async () => {
  await Promise.all(sites.splice(0).map((s) => s.close()));
});

async function signIn(s: DbscSite, client: DbscClient): Promise<void> {
  expect((await client.request(`${s.origin}/login`)).status).toBe(200);
  expect(client.offer).not.toBeNull();
}

/** The attributes of a Set-Cookie line, without its value, Max-Age and Expires (which a credential never names). */
function attributesOf(setCookie: string): string[] {
  return setCookie
    .split(';')
    .slice(1)
    .map((a) => a.trim())
    .filter((a) => !/^(max-age|expires)=/i.test(a))
    .map((a) => a.toLowerCase())
    .sort();
}

describe('DBSC registration', () => {
  it.each([
    ['ES256', 'bare'],
    ['RS256', 'quoted'],
  ] as const)('binds a %s key sent %s, and answers the instructions, the bound cookie and the next challenge', async (alg, form) => {
    const s = await site();
    const client = await dbscClient(alg, { form });
    await signIn(s, client);
    expect(client.offer?.algorithms).toEqual(['ES256', 'RS256']);
    const reply = await client.register(s.origin);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(reply.headers.get('content-type')).toBe('application/json');
    const [entry] = [...s.sessions.values()];
    expect(entry?.binding).toMatchObject({ alg, jkt: client.jkt, jwk: client.alg === 'ES256' ? { kty: 'EC', crv: 'P-256', x: client.publicJwk.x, y: client.publicJwk.y } : { kty: 'RSA', n: client.publicJwk.n, e: client.publicJwk.e } });
    const id = entry!.binding!.id;
    expect(client.instructions).toEqual({
      session_identifier: id,
      refresh_url: '/auth/dbsc/refresh',
      scope: { origin: s.origin, include_site: false, scope_specification: [{ type: 'exclude', path: '/favicon.ico' }] },
      credentials: [{ type: 'cookie', name: '__Host-bound', attributes: 'Path=/; Secure; HttpOnly; SameSite=Lax' }],
    });
    // The credential names exactly the attributes the Set-Cookie gives (Max-Age aside), as Chrome requires.
    const setCookie = reply.headers.getSetCookie().find((c) => c.startsWith('__Host-bound='))!;
    expect(attributesOf(setCookie)).toEqual(attributesOf(`x=y; ${(client.instructions!.credentials as Array<{ attributes: string }>)[0]!.attributes}`));
    expect(setCookie).toMatch(/Max-Age=600/);
    expect(client.cachedChallenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await client.request(`${s.origin}/me`)).status).toBe(200);
  });

  it('refuses a registration replayed with the same proof, and binds nothing more', async () => {
    const s = await site();
    const client = await dbscClient();
    await signIn(s, client);
    const offer = client.offer!;
    const jwt = await client.proof({ jti: offer.challenge }, { withKey: true });
    const send = () => client.request(`${s.origin}${offer.path}`, { method: 'POST', headers: { 'secure-session-response': jwt } });
    expect((await send()).status).toBe(200);
    const bound = [...s.sessions.values()][0]!.binding;
    // A second browser key cannot take over either, even with the session cookie.
    const replay = await send();
    expect(replay.status).toBe(403);
    expect(replay.headers.getSetCookie()).toEqual([]);
    expect(s.log.at(-1)).toMatchObject({ outcome: 'refused', reason: 'already-bound', anomaly: 'second-key' });
    expect([...s.sessions.values()][0]!.binding).toBe(bound);
  });

  it('refuses a used challenge on another session, and a challenge issued to another session', async () => {
    const s = await site();
    const victim = await dbscClient();
    const attacker = await dbscClient();
    await signIn(s, victim);
    await signIn(s, attacker);
    // The attacker signs, with its own key, the challenge offered to the victim's session.
    const stolen = victim.offer!.challenge;
    attacker.offer = { ...attacker.offer!, challenge: stolen };
    expect((await attacker.register(s.origin)).status).toBe(403);
    expect(s.log.at(-1)).toMatchObject({ reason: 'foreign-challenge', anomaly: 'foreign-challenge' });
    // That challenge is spent: the victim's own registration now fails too, and binds nothing.
    expect((await victim.register(s.origin)).status).toBe(403);
    expect(s.log.at(-1)).toMatchObject({ reason: 'unknown-challenge', anomaly: null });
    expect([...s.sessions.values()].every((e) => e.binding === null)).toBe(true);
  });

  it('refuses a challenge it never issued and one that expired, and takes one just before it expires', async () => {
    const clock = manualClock();
    const s = await site({ clock, challengeTtl: '5m' });
    const early = await dbscClient();
    const late = await dbscClient();
    await signIn(s, early);
    await signIn(s, late);
    const offer = late.offer!;
    late.offer = { ...offer, challenge: fakeChallenge() };
    expect((await late.register(s.origin)).status).toBe(403);
    expect(s.log.at(-1)?.reason).toBe('unknown-challenge');
    clock.advance(299_999);
    expect((await early.register(s.origin)).status).toBe(200);
    clock.advance(1);
    late.offer = offer;
    expect((await late.register(s.origin)).status).toBe(403);
    expect(s.log.at(-1)?.reason).toBe('unknown-challenge');
  });

  it('refuses a proof bent in any way the draft forbids', async () => {
    const s = await site({ algorithms: ['ES256'] });
    const client = await dbscClient('ES256');
    const other = await generateKeyPair('ES256', { extractable: true });
    const rsa = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
    const cases: Array<[string, Parameters<DbscClient['register']>[1], string]> = [
      ['typ', { header: { typ: 'JWT' } }, 'wrong-type'],
      ['no typ', { header: { typ: undefined } }, 'wrong-type'],
      ['no key', { header: { jwk: undefined } }, 'invalid-key'],
      ['private key', { header: { jwk: await exportJWK(client.privateKey) } }, 'invalid-key'],
      ['another signer', { signWith: other.privateKey }, 'bad-signature'],
      ['alg not offered', { header: { alg: 'RS256', jwk: await exportJWK(rsa.publicKey) }, signWith: rsa.privateKey }, 'algorithm-not-allowed'],
      ['no jti', { claims: { jti: undefined } }, 'invalid-claims'],
      ['jti not a string', { claims: { jti: 42 } }, 'invalid-claims'],
      ['expired exp', { claims: { exp: 1 } }, 'invalid-claims'],
    ];
    for (const [name, bend, reason] of cases) {
      await signIn(s, client);
      const reply = await client.register(s.origin, bend);
      expect({ name, status: reply.status, reason: s.log.at(-1)?.reason }).toEqual({ name, status: 403, reason });
      expect(s.log.at(-1)?.anomaly).toBe(reason);
    }
    expect([...s.sessions.values()].every((e) => e.binding === null)).toBe(true);
  });

  it('ignores unknown claims and an aud, as Chrome may send them', async () => {
    const s = await site();
    const client = await dbscClient();
    await signIn(s, client);
    expect((await client.register(s.origin, { claims: { aud: `${s.origin}/auth/dbsc/register`, extra: true } })).status).toBe(200);
  });

  it('refuses a registration without a session cookie (401) or without a proof', async () => {
    const s = await site();
    const client = await dbscClient();
    await signIn(s, client);
    const offer = client.offer!;
    const jwt = await client.proof({ jti: offer.challenge }, { withKey: true });
    const anonymous = await fetch(`${s.origin}${offer.path}`, { method: 'POST', headers: { 'secure-session-response': jwt } });
    expect(anonymous.status).toBe(401);
    expect((await client.request(`${s.origin}${offer.path}`, { method: 'POST' })).status).toBe(403);
    expect(s.log.at(-1)).toMatchObject({ reason: 'missing-proof', anomaly: null });
    expect((await client.request(`${s.origin}${offer.path}`, { method: 'POST', headers: { 'secure-session-response': '"unterminated' } })).status).toBe(403);
    expect(s.log.at(-1)).toMatchObject({ reason: 'malformed', anomaly: 'malformed' });
  });

  it('with authorization on, offers a one-time value and requires the proof to carry it back', async () => {
    const s = await site({ authorization: true });
    const client = await dbscClient();
    await signIn(s, client);
    expect(client.offer?.authorization).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await client.register(s.origin, { claims: { authorization: 'something else' } })).status).toBe(403);
    expect(s.log.at(-1)).toMatchObject({ reason: 'authorization-mismatch', anomaly: 'authorization-mismatch' });
    await signIn(s, client);
    expect((await client.register(s.origin, { claims: { authorization: undefined } })).status).toBe(403);
    await signIn(s, client);
    expect((await client.register(s.origin)).status).toBe(200);
  });
});
