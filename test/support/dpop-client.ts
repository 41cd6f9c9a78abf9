/**
 * A DPoP client (RFC 9449) written with `jose`, as an API client would
 * be: it holds a key pair, signs a fresh proof for every request (`htm`,
 * `htu` without query or fragment, `iat`, a random `jti`, `ath` when it
 * sends an access token), sends `Authorization: DPoP`, and on
 * `use_dpop_nonce` retries once with the nonce the server gave.
 *
 * Every part of a proof can be overridden, so that tests can build the
 * broken proofs an attacker or a buggy client would send.
 */
import { createHash, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export type ClientAlgorithm = 'ES256' | 'ES384' | 'EdDSA' | 'RS256' | 'PS256';

/** What a test may change in a proof. */
export interface ProofOverrides {
  /** Replaces the protected header (merged over the genuine one); `jwk: undefined` removes the key. */
  header?: Record<string, unknown>;
  /** Replaces claims (merged over the genuine ones); a value of `undefined` removes the claim. */
  claims?: Record<string, unknown>;
  /** Signs with this key instead of the client's own (the header still names the client's public key). */
  signWith?: CryptoKey;
}

export interface DpopClient {
  readonly alg: ClientAlgorithm;
  readonly publicJwk: JWK;
  readonly privateKey: CryptoKey;
  /** RFC 7638 thumbprint of the public key, computed here on the client's side. */
  readonly jkt: string;
  /** The last nonce the server gave (`DPoP-Nonce`), used in the next proofs. */
  nonce: string | null;
  /** Signs a proof for `method` and `url`, with `ath` for `accessToken`. `iat` in seconds (default: now). */
  proof(method: string, url: string, o?: { accessToken?: string; iat?: number } & ProofOverrides): Promise<string>;
  /**
   * Calls `url` with a proof (and `Authorization: DPoP <accessToken>`), retrying once with the
   * server's nonce on `use_dpop_nonce`.
   */
  fetch(url: string, init?: { method?: string; accessToken?: string; body?: string; headers?: Record<string, string> }): Promise<Response>;
}

/** The SHA-256 hash of an access token, base64url: the `ath` of RFC 9449 section 4.2. */
export function athOf(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest('base64url');
}

function keyOptions(alg: ClientAlgorithm) {
  if (alg === 'EdDSA') return { crv: 'Ed25519', extractable: true };
  if (alg === 'RS256' || alg === 'PS256') return { modulusLength: 2048, extractable: true };
  return { extractable: true };
}

/** A client with a fresh key pair for `alg`. */
export async function dpopClient(alg: ClientAlgorithm = 'ES256', o: { now?: () => number } = {}): Promise<DpopClient> {
  const { publicKey, privateKey } = await generateKeyPair(alg, keyOptions(alg));
  const publicJwk = await exportJWK(publicKey);
  const jkt = await calculateJwkThumbprint(publicJwk, 'sha256');
  const now = o.now ?? Date.now;

  const client: DpopClient = {
    alg,
    publicJwk,
    privateKey,
    jkt,
    nonce: null,

    async proof(method, url, p = {}) {
      const target = new URL(url);
      const claims: Record<string, unknown> = {
        jti: randomBytes(16).toString('base64url'),
        htm: method,
        htu: `${target.origin}${target.pathname}`,
        iat: p.iat ?? Math.floor(now() / 1000),
      };
      if (p.accessToken !== undefined) claims.ath = athOf(p.accessToken);
      if (client.nonce !== null) claims.nonce = client.nonce;
      for (const [k, v] of Object.entries(p.claims ?? {})) {
        if (v === undefined) delete claims[k];
        else claims[k] = v;
      }
      const header: Record<string, unknown> = { alg, typ: 'dpop+jwt', jwk: publicJwk };
      for (const [k, v] of Object.entries(p.header ?? {})) {
        if (v === undefined) delete header[k];
        else header[k] = v;
      }
      return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(p.signWith ?? privateKey);
    },

    async fetch(url, init = {}) {
      const method = init.method ?? 'GET';
      const send = async () => {
        const headers: Record<string, string> = { ...init.headers, dpop: await client.proof(method, url, { accessToken: init.accessToken }) };
        if (init.accessToken !== undefined) headers.authorization = `DPoP ${init.accessToken}`;
        const res = await fetch(url, { method, headers, body: init.body });
        const nonce = res.headers.get('dpop-nonce');
        if (nonce !== null) client.nonce = nonce;
        return res;
      };
      const first = await send();
      const challenge = first.headers.get('www-authenticate') ?? '';
      const tokenError = first.status === 400 ? ((await first.clone().json().catch(() => ({}))) as { error?: string }).error : undefined;
      if (challenge.includes('error="use_dpop_nonce"') || tokenError === 'use_dpop_nonce') return send();
      return first;
    },
  };
  return client;
}
