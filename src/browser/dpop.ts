/**
 * DPoP in the browser (RFC 9449): a request hook that signs a proof for
 * every request with a key that cannot leave the browser.
 *
 * The key is an ECDSA P-256 pair made by Web Crypto with a non-extractable
 * private half, kept in IndexedDB (a `CryptoKey` survives there without its
 * bytes ever being readable by a script) and shared by every tab of the
 * origin: the first tab to store one wins, the others load it, so a family
 * bound to the key refreshes from any tab. A proof is a compact JWS
 * (`typ: dpop+jwt`, `alg: ES256`, the public `jwk` in its header) over
 * `htm`, `htu` (without query and fragment), `iat`, a random `jti`, `ath`
 * next to an access token, and the server's last nonce; Web Crypto's ECDSA
 * signature is already the JWS form (r ‖ s). The access token then travels
 * with the `DPoP` scheme. A server nonce (`DPoP-Nonce`) is kept and a
 * request refused with `use_dpop_nonce` is sent once more with it.
 *
 * Written on Web Crypto rather than a JOSE library so that the module keeps
 * no dependency: it only ever signs, and the server verifies with `jose`.
 *
 * @module
 */
import type { HeaderSource, HookRequest, RequestHook } from './types.js';

/** Options of {@link dpopProofs}. */
export interface DpopProofsOptions {
  /**
   * Names the IndexedDB database that keeps the key: two applications of one
   * origin with separate sessions need two names.
   * @default 'latchkey'
   */
  name?: string;
}

/** The hook returned by {@link dpopProofs}. */
export interface DpopProofs extends RequestHook {
  /** Forgets the key (after a sign-out, say): the next proof is signed with a new one. */
  reset(): Promise<void>;
}

interface StoredKey {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
}

const STORE = 'keys';
const ID = 'dpop';
const ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;

const encoder = new TextEncoder();

function b64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const b64json = (value: unknown): string => b64url(encoder.encode(JSON.stringify(value)));

function ask<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function database(name: string): Promise<IDBDatabase> {
  const open = indexedDB.open(`${name}-dpop`, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(STORE);
  return ask(open);
}

/** The origin's key: the stored one, or a new one stored unless another tab stored one first. */
async function loadKey(name: string): Promise<StoredKey> {
  const db = await database(name);
  try {
    const found = (await ask(db.transaction(STORE).objectStore(STORE).get(ID))) as StoredKey | undefined;
    if (found !== undefined) return found;
    const made = (await crypto.subtle.generateKey(ALG, false, ['sign', 'verify'])) as CryptoKeyPair;
    const key: StoredKey = { privateKey: made.privateKey, publicKey: made.publicKey };
    try {
      // add(), not put(): two tabs racing here both keep the first key stored.
      await ask(db.transaction(STORE, 'readwrite').objectStore(STORE).add(key, ID));
      return key;
    } catch {
      return (await ask(db.transaction(STORE).objectStore(STORE).get(ID))) as StoredKey;
    }
  } finally {
    db.close();
  }
}

function read(headers: HeaderSource, name: string): string | null {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name);
  const value = (headers as Record<string, string | string[] | null | undefined>)[name];
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
}

/**
 * A request hook signing a DPoP proof for every request to the page's
 * origin and the session's `origins` (sign-in and refresh included): pass it
 * in `hooks`. With the server's token mode on DPoP, the tokens are then
 * bound to this browser's key.
 *
 * @example
 * ```ts
 * import { createBrowserSession, dpopProofs } from 'latchkey/browser';
 *
 * const session = createBrowserSession({ mode: 'bearer', hooks: [dpopProofs()] });
 * await session.signIn('/auth/login', { method: 'POST', body: form });
 * await session.fetch('/api/me'); // Authorization: DPoP <token>, DPoP: <proof>
 * ```
 */
export function dpopProofs(options: DpopProofsOptions = {}): DpopProofs {
  const name = options.name ?? 'latchkey';
  let key: Promise<{ privateKey: CryptoKey; header: string }> | null = null;
  let nonce: string | null = null;
  /** The nonce each request was signed with, to tell a new nonce from the one that was just refused. */
  const used = new WeakMap<HookRequest, string | null>();

  const load = () =>
    (key ??= loadKey(name).then(async (k) => {
      const { kty, crv, x, y } = (await crypto.subtle.exportKey('jwk', k.publicKey)) as JsonWebKey;
      return { privateKey: k.privateKey, header: b64json({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } }) };
    }));

  return {
    async headers(request) {
      if (request.purpose === 'sign-out') return undefined;
      const { privateKey, header } = await load();
      const url = new URL(request.url);
      const claims: Record<string, unknown> = {
        jti: b64url(crypto.getRandomValues(new Uint8Array(16))),
        htm: request.method,
        htu: `${url.origin}${url.pathname}`,
        iat: Math.floor(Date.now() / 1000),
      };
      const headers: Record<string, string> = {};
      if (request.accessToken !== null) {
        claims.ath = b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(request.accessToken))));
        headers.authorization = `DPoP ${request.accessToken}`;
      }
      if (nonce !== null) claims.nonce = nonce;
      used.set(request, nonce);
      const input = `${header}.${b64json(claims)}`;
      const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, encoder.encode(input));
      headers.dpop = `${input}.${b64url(new Uint8Array(signature))}`;
      return headers;
    },

    response(response, request) {
      const given = read(response.headers, 'dpop-nonce');
      if (given === null) return false;
      nonce = given;
      // Sent again only when refused for want of this very nonce: a resource says so in its challenge, a token endpoint with a 400.
      const challenge = read(response.headers, 'www-authenticate') ?? '';
      const refused = (response.status === 401 && challenge.includes('use_dpop_nonce')) || response.status === 400;
      return refused && used.get(request) !== given;
    },

    async reset() {
      key = null;
      nonce = null;
      const db = await database(name);
      try {
        await ask(db.transaction(STORE, 'readwrite').objectStore(STORE).delete(ID));
      } finally {
        db.close();
      }
    },
  };
}
