/**
 * DBSC refresh through a real node:http site and a browser-like jose
 * client: the 403 challenge exchange, a new bound cookie value at every
 * refresh, replayed and stale proofs answered with a new challenge (never
 * a termination: Chrome re-sends cached proofs), proofs of another key
 * refused, the draft's termination for an ended session, and rotation that
 * keeps the binding. Two instances share the sessions and the challenges.
 */
import { generateKeyPair } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock, type ManualClock } from '../../../src/core/clock.js';
import type { DbscOptions } from '../../../src/http/dbsc/index.js';
import { memoryChallengeStore } from '../../../src/http/dbsc/index.js';
import { dbscClient, type DbscClient } from '../../support/dbsc-client.js';
import { startDbscSite, type DbscSite, type SessionEntry } from '../../support/dbsc-site.js';

const sites: DbscSite[] = [];
afterEach(async () => {
  await Promise.all(sites.splice(0).map((s) => s.close()));
});

async function boundClient(o: { options?: Partial<DbscOptions>; form?: 'bare' | 'quoted' } = {}): Promise<{ s: DbscSite; client: DbscClient; clock: ManualClock }> {
  const clock = manualClock();
  const s = await startDbscSite({ options: { clock, cookie: { ttl: '10m' }, ...o.options } });
  sites.push(s);
  const client = await dbscClient('ES256', { form: o.form ?? 'bare' });
  await client.request(`${s.origin}/login`);
  expect((await client.register(s.origin)).status).toBe(200);
  return { s, client, clock };
}

const statuses = (replies: Array<{ status: number }>) => replies.map((r) => r.status);

describe('DBSC refresh', () => {
  it.each(['bare', 'quoted'] as const)('refreshes with the challenge sent ahead (%s headers): one request, a new bound cookie value', async (form) => {
    const { s, client, clock } = await boundClient({ form });
    const before = client.jar.get('__Host-bound');
    clock.advance('9m');
    const replies = await client.refresh(s.origin);
    expect(statuses(replies)).toEqual([200]);
    expect(replies[0]!.headers.get('cache-control')).toBe('no-store');
    expect(client.jar.get('__Host-bound')).not.toBe(before);
    clock.advance('9m');
    // The first cookie is long expired; the new one holds.
    expect(await (await client.request(`${s.origin}/me`)).text).toContain('"authenticated"');
  });

  it('answers a refresh without a proof with 403 and a challenge, then accepts the proof of it', async () => {
    const { s, client } = await boundClient();
    client.cachedChallenge = null;
    const replies = await client.refresh(s.origin);
    expect(statuses(replies)).toEqual([403, 200]);
    expect(replies[0]!.headers.getSetCookie()).toEqual([]);
    expect(s.log.slice(-2).map((e) => [e.outcome, e.reason ?? null])).toEqual([['challenged', 'missing-proof'], ['refreshed', null]]);
  });

  it('answers a replayed proof with a new challenge, never with a cookie nor a termination', async () => {
    const { s, client } = await boundClient();
    const jwt = await client.proof({ jti: client.cachedChallenge });
    const send = () => client.request(`${s.origin}/auth/dbsc/refresh`, { method: 'POST', headers: { 'sec-secure-session-id': client.sessionId!, 'secure-session-response': jwt } });
    expect((await send()).status).toBe(200);
    const replay = await send();
    expect(replay.status).toBe(403);
    expect(replay.headers.get('secure-session-challenge')).toMatch(/^"[A-Za-z0-9_-]{43}";id="/);
    expect(replay.headers.getSetCookie()).toEqual([]);
    expect(s.log.at(-1)).toMatchObject({ outcome: 'challenged', reason: 'stale-challenge', anomaly: null });
  });

  it('refuses the proofs of a thief holding both cookies and the session id but not the key', async () => {
    const { s, client } = await boundClient();
    const thief = await dbscClient('ES256');
    for (const [k, v] of client.jar) thief.jar.set(k, v);
    thief.sessionId = client.sessionId;
    thief.instructions = client.instructions;
    thief.cachedChallenge = client.cachedChallenge;
    const replies = await thief.refresh(s.origin);
    // Every round: 403 and a new challenge, and no bound cookie, ever.
    expect(statuses(replies)).toEqual([403, 403, 403, 403, 403]);
    expect(replies.flatMap((r) => r.headers.getSetCookie())).toEqual([]);
    expect(s.log.filter((e) => e.path === '/auth/dbsc/refresh').map((e) => e.anomaly)).toEqual(['bad-signature', 'bad-signature', 'bad-signature', 'bad-signature', 'bad-signature']);
    // A proof that brings its own key in the header is refused as well.
    const own = await thief.refresh(s.origin, { header: { jwk: thief.publicJwk } });
    expect(own[0]!.status).toBe(403);
    expect(s.log.at(-1)?.anomaly).toBe('invalid-key');
    // And one of another algorithm than the registered key's.
    const rsa = await generateKeyPair('RS256', { modulusLength: 2048 });
    await thief.refresh(s.origin, { header: { alg: 'RS256' }, signWith: rsa.privateKey });
    expect(s.log.at(-1)?.anomaly).toBe('algorithm-not-allowed');
    // The owner still refreshes.
    expect(statuses(await client.refresh(s.origin))).toEqual([200]);
  });

  it('refuses a challenge of another session signed by this session’s key', async () => {
    const { s, client } = await boundClient();
    const other = await dbscClient('ES256');
    await other.request(`${s.origin}/login`);
    await other.register(s.origin);
    client.cachedChallenge = other.cachedChallenge;
    const replies = await client.refresh(s.origin);
    expect(statuses(replies)).toEqual([403, 200]);
    expect(s.log.filter((e) => e.path === '/auth/dbsc/refresh')[0]).toMatchObject({ reason: 'foreign-challenge', anomaly: 'foreign-challenge' });
  });

  it('answers a challenge that expired with a new one, and the next proof succeeds', async () => {
    const { s, client, clock } = await boundClient({ options: { challengeTtl: '1m', cookie: { ttl: '5m' } } });
    // The challenge sent ahead lives the cookie's ttl plus challengeTtl.
    clock.advance('6m');
    expect(statuses(await client.refresh(s.origin))).toEqual([403, 200]);
    expect(s.log.filter((e) => e.path === '/auth/dbsc/refresh')[0]?.reason).toBe('stale-challenge');
  });

  it('ends the browser session with continue:false once the session is gone, and clears the bound cookie', async () => {
    const { s, client } = await boundClient();
    const id = client.sessionId;
    await client.request(`${s.origin}/logout`);
    expect(client.jar.has('__Host-bound')).toBe(false);
    const replies = await client.refresh(s.origin);
    expect(statuses(replies)).toEqual([200]);
    expect(JSON.parse(replies[0]!.text)).toEqual({ session_identifier: id, continue: false });
    expect(replies[0]!.headers.getSetCookie().some((c) => /^__Host-bound=;/.test(c) && /Max-Age=0/.test(c))).toBe(true);
    expect(client.sessionId).toBeNull();
  });

  it('ends a session id the server never bound, and refuses a refresh without one', async () => {
    const { s, client } = await boundClient();
    client.sessionId = 'AAAAAAAAAAAAAAAAAAAAAA';
    const replies = await client.refresh(s.origin);
    expect(JSON.parse(replies[0]!.text)).toEqual({ session_identifier: 'AAAAAAAAAAAAAAAAAAAAAA', continue: false });
    const bare = await client.request(`${s.origin}/auth/dbsc/refresh`, { method: 'POST' });
    expect(bare.status).toBe(400);
  });

  it('keeps the binding across rotation: the bound cookie holds for the new handle and refreshes use the same key', async () => {
    const { s, client, clock } = await boundClient();
    const oldSession = client.jar.get('__Host-session');
    const oldBound = client.jar.get('__Host-bound');
    await client.request(`${s.origin}/rotate`);
    expect(client.jar.get('__Host-session')).not.toBe(oldSession);
    expect(client.jar.get('__Host-bound')).not.toBe(oldBound);
    expect((await client.request(`${s.origin}/me`)).status).toBe(200);
    // The bound cookie belongs to the DBSC session, not to one handle: the one from before the rotation still holds.
    expect((await client.request(`${s.origin}/me`, { headers: { cookie: `__Host-session=${client.jar.get('__Host-session')}; __Host-bound=${oldBound}` } })).status).toBe(200);
    clock.advance('11m');
    expect(statuses(await client.refresh(s.origin))).toEqual([200]);
    expect((await client.request(`${s.origin}/me`)).status).toBe(200);
  });

  it('works across two instances sharing sessions and challenges, and a proof used on one is refused on the other', async () => {
    const clock = manualClock();
    const sessions = new Map<string, SessionEntry>();
    const challenges = memoryChallengeStore({ clock });
    const secret = 'one deployment secret, 32 bytes or more';
    const one = await startDbscSite({ sessions, options: { clock, challenges, secret } });
    const two = await startDbscSite({ sessions, options: { clock, challenges, secret } });
    sites.push(one, two);
    const client = await dbscClient('ES256');
    await client.request(`${one.origin}/login`);
    expect((await client.register(one.origin)).status).toBe(200);
    // The bound cookie minted on one checks on two.
    expect((await client.request(`${two.origin}/me`)).status).toBe(200);
    const jwt = await client.proof({ jti: client.cachedChallenge });
    const headers = { 'sec-secure-session-id': client.sessionId!, 'secure-session-response': jwt };
    expect((await client.request(`${one.origin}/auth/dbsc/refresh`, { method: 'POST', headers })).status).toBe(200);
    expect((await client.request(`${two.origin}/auth/dbsc/refresh`, { method: 'POST', headers })).status).toBe(403);
    expect(two.log.at(-1)?.reason).toBe('stale-challenge');
  });
});
