/**
 * A DBSC client written with `jose`, behaving as a browser does (the W3C
 * draft, with Chrome's habits where it deviates): it keeps a cookie jar,
 * reads `Secure-Session-Registration` (parsed as a Structured Field list by
 * the `structured-headers` package, independently of latchkey), creates a
 * key for an offered algorithm, registers with a `dbsc+jwt` proof carrying
 * the key in its header and the challenge as `jti`, caches the challenges
 * of `Secure-Session-Challenge`, and refreshes with `Sec-Secure-Session-Id`
 * and a proof signed by the same key, retrying on 403 with the new
 * challenge as the draft says (at most four signed attempts, as Chrome).
 *
 * Headers go quoted (the draft's sf-string) or bare (Chrome), and every
 * proof can be bent, so that tests can play an attacker too.
 */
import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { parseList, Token, type InnerList, type Item } from 'structured-headers';

export type DbscClientAlgorithm = 'ES256' | 'RS256';

/** What the registration header offered. */
export interface Offer {
  readonly algorithms: string[];
  readonly path: string;
  readonly challenge: string | undefined;
  readonly authorization: string | undefined;
}

/** What a test may change in a proof. */
export interface DbscProofOverrides {
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  signWith?: CryptoKey;
}

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** A browser-like DBSC client. */
export interface DbscClient {
  readonly alg: DbscClientAlgorithm;
  readonly publicJwk: JWK;
  readonly privateKey: CryptoKey;
  readonly jkt: string;
  /** name → value */
  readonly jar: Map<string, string>;
  /** The last registration offer seen. */
  offer: Offer | null;
  /** The session instructions of the last registration or refresh that carried them. */
  instructions: Record<string, unknown> | null;
  sessionId: string | null;
  cachedChallenge: string | null;
  /** `'bare'` as Chrome sends header values, `'quoted'` as the draft's sf-string. */
  form: 'bare' | 'quoted';
  /** A request with the jar's cookies; the answer's cookies, offers and challenges are taken in. */
  request(url: string, init?: { method?: string; headers?: Record<string, string> }): Promise<Reply>;
  /** Signs a proof; with `withKey`, the public key goes in the header (registration). */
  proof(claims: Record<string, unknown>, o?: DbscProofOverrides & { withKey?: boolean }): Promise<string>;
  /** Registers at the offered path with a proof of the offered challenge. */
  register(base: string, o?: DbscProofOverrides): Promise<Reply>;
  /** One refresh: as many 403 rounds as the draft allows. Returns every reply. */
  refresh(base: string, o?: DbscProofOverrides): Promise<Reply[]>;
  /** The header value in the client's form. */
  field(value: string): string;
}

function keyOptions(alg: DbscClientAlgorithm) {
  return alg === 'RS256' ? { modulusLength: 2048, extractable: true } : { extractable: true };
}

function stringParam(params: Map<string, unknown>, name: string): string | undefined {
  const v = params.get(name);
  return typeof v === 'string' ? v : undefined;
}

/** Reads the offers of a `Secure-Session-Registration` header as the draft's processing does. */
export function parseRegistration(value: string): Offer[] {
  const offers: Offer[] = [];
  for (const member of parseList(value)) {
    const [items, params] = member as InnerList | Item;
    // Members that are not inner lists, or that lack a string path, are skipped.
    if (!Array.isArray(items)) continue;
    const path = stringParam(params, 'path');
    if (path === undefined) continue;
    offers.push({
      algorithms: (items as Item[]).map(([token]) => (token instanceof Token ? token.toString() : String(token))),
      path,
      challenge: stringParam(params, 'challenge'),
      authorization: stringParam(params, 'authorization'),
    });
  }
  return offers;
}

/** Reads a `Secure-Session-Challenge` header: each member a string with an `id`. */
export function parseChallenges(value: string): Array<{ challenge: string; id: string }> {
  const out: Array<{ challenge: string; id: string }> = [];
  for (const [challenge, params] of parseList(value) as Item[]) {
    const id = stringParam(params, 'id');
    if (typeof challenge === 'string' && id !== undefined) out.push({ challenge, id });
  }
  return out;
}

/** A client with a fresh key for `alg`. */
export async function dbscClient(alg: DbscClientAlgorithm = 'ES256', o: { form?: 'bare' | 'quoted' } = {}): Promise<DbscClient> {
  const { publicKey, privateKey } = await generateKeyPair(alg, keyOptions(alg));
  const publicJwk = await exportJWK(publicKey);
  const jkt = await calculateJwkThumbprint(publicJwk, 'sha256');

  const client: DbscClient = {
    alg,
    publicJwk,
    privateKey,
    jkt,
    jar: new Map(),
    offer: null,
    instructions: null,
    sessionId: null,
    cachedChallenge: null,
    form: o.form ?? 'bare',

    field(value) {
      return client.form === 'quoted' ? `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"` : value;
    },

    async request(url, init = {}) {
      // Chrome sends Fetch Metadata on every request, its DBSC requests included (same-origin): CSRF defences see it.
      const headers: Record<string, string> = { 'sec-fetch-site': 'same-origin', ...init.headers };
      if (client.jar.size > 0 && headers.cookie === undefined) headers.cookie = [...client.jar].map(([k, v]) => `${k}=${v}`).join('; ');
      const res = await fetch(url, { method: init.method ?? 'GET', headers, redirect: 'manual' });
      for (const line of res.headers.getSetCookie()) {
        const [pair = '', ...attrs] = line.split(';');
        const eq = pair.indexOf('=');
        const name = pair.slice(0, eq).trim();
        const value = pair.slice(eq + 1).trim();
        const gone = attrs.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a)) || value === '';
        if (gone) client.jar.delete(name);
        else client.jar.set(name, value);
      }
      const registration = res.headers.get('secure-session-registration');
      if (registration !== null) {
        const offer = parseRegistration(registration).find((x) => x.algorithms.includes(alg));
        if (offer !== undefined) client.offer = offer;
      }
      const challenge = res.headers.get('secure-session-challenge');
      if (challenge !== null) {
        for (const c of parseChallenges(challenge)) if (c.id === client.sessionId) client.cachedChallenge = c.challenge;
      }
      return { status: res.status, headers: res.headers, text: await res.text() };
    },

    async proof(claims, p = {}) {
      const header: Record<string, unknown> = { alg, typ: 'dbsc+jwt' };
      if (p.withKey === true) header.jwk = publicJwk;
      for (const [k, v] of Object.entries(p.header ?? {})) {
        if (v === undefined) delete header[k];
        else header[k] = v;
      }
      const body: Record<string, unknown> = { ...claims };
      for (const [k, v] of Object.entries(p.claims ?? {})) {
        if (v === undefined) delete body[k];
        else body[k] = v;
      }
      return new SignJWT(body).setProtectedHeader(header as { alg: string }).sign(p.signWith ?? privateKey);
    },

    async register(base, p = {}) {
      const offer = client.offer;
      if (offer === null) throw new Error('no registration offer for this algorithm');
      const claims: Record<string, unknown> = {};
      if (offer.challenge !== undefined) claims.jti = offer.challenge;
      if (offer.authorization !== undefined) claims.authorization = offer.authorization;
      const jwt = await client.proof(claims, { ...p, withKey: true });
      // A registration happens once per offer.
      client.offer = null;
      const url = new URL(offer.path, base).toString();
      const reply = await client.request(url, { method: 'POST', headers: { 'secure-session-response': client.field(jwt) } });
      if (reply.status === 200) {
        client.instructions = JSON.parse(reply.text) as Record<string, unknown>;
        client.sessionId = client.instructions.session_identifier as string;
        const challenge = reply.headers.get('secure-session-challenge');
        if (challenge !== null) for (const c of parseChallenges(challenge)) if (c.id === client.sessionId) client.cachedChallenge = c.challenge;
      }
      return reply;
    },

    async refresh(base, p = {}) {
      if (client.sessionId === null || client.instructions === null) throw new Error('no DBSC session');
      const url = new URL(client.instructions.refresh_url as string, base).toString();
      const id = client.sessionId;
      const replies: Reply[] = [];
      for (let signed = 0; signed <= 4; signed++) {
        const headers: Record<string, string> = { 'sec-secure-session-id': client.field(id) };
        if (client.cachedChallenge !== null) headers['secure-session-response'] = client.field(await client.proof({ jti: client.cachedChallenge }, p));
        const reply = await client.request(url, { method: 'POST', headers });
        replies.push(reply);
        if (reply.status !== 403 || reply.headers.get('secure-session-challenge') === null) break;
      }
      const last = replies.at(-1);
      if (last?.status === 200 && last.text !== '') {
        const body = JSON.parse(last.text) as Record<string, unknown>;
        // continue: false ends the session, as the draft says; otherwise the new instructions replace the old.
        if (body.continue === false) {
          client.sessionId = null;
          client.cachedChallenge = null;
          client.instructions = null;
        } else {
          client.instructions = body;
        }
      }
      return replies;
    },
  };
  return client;
}

/** A random value shaped like a challenge latchkey would mint. */
export function fakeChallenge(): string {
  return randomBytes(32).toString('base64url');
}
