/**
 * The classic JWT forgeries (RFC 8725 section 2), made from a valid access
 * token and the issuer's public keys: `alg: none` in its spellings, the
 * public key used as an HMAC secret (key confusion), an attacker's key
 * named in `jwk`, `jku` or `x5u`, a `kid` pointing elsewhere, claims changed
 * under the original signature, signatures moved between tokens, unknown
 * `crit` and `b64: false`. Every one must be refused.
 */
import { createPublicKey } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JSONWebKeySet, type JWK } from 'jose';

const enc = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
const dec = (part: string): Record<string, unknown> => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>;

/** Forged variants of `valid` (the first of `others` is another valid token). */
export async function classicForgeries(valid: string, other: string, jwks: JSONWebKeySet): Promise<string[]> {
  const [h, p, s] = valid.split('.') as [string, string, string];
  const [, p2, s2] = other.split('.') as [string, string, string];
  const header = dec(h);
  const payload = dec(p);
  const forged: string[] = [];
  const later = { ...payload, exp: (payload.exp as number) + 86_400 * 365, sub: 'admin', scope: 'admin' };

  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    forged.push(`${enc({ ...header, alg })}.${enc(later)}.`, `${enc({ ...header, alg })}.${p}.`, `${enc({ alg })}.${enc(later)}.${s}`);
  }
  // The issuer's public key as an HMAC secret, in every form a confused verifier might feed it.
  for (const jwk of jwks.keys as JWK[]) {
    const pub = createPublicKey({ key: jwk as never, format: 'jwk' });
    const secrets = [
      pub.export({ type: 'spki', format: 'pem' }).toString(),
      JSON.stringify(jwk),
      String(jwk.x ?? jwk.n ?? ''),
      pub.export({ type: 'spki', format: 'der' }).toString('latin1'),
    ];
    for (const secret of secrets) {
      for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
        forged.push(await new SignJWT(later).setProtectedHeader({ ...header, alg }).sign(new TextEncoder().encode(secret)));
      }
    }
  }
  // An attacker's own key, announced in the header.
  const attacker = await generateKeyPair('ES256', { extractable: true });
  const attackerJwk = await exportJWK(attacker.publicKey);
  for (const extra of [{ jwk: attackerJwk }, { jku: 'https://attacker.example/jwks.json' }, { x5u: 'https://attacker.example/cert.pem' }, { kid: 'attacker' }, { kid: '../../../../dev/null' }, { kid: "' OR '1'='1" }]) {
    forged.push(await new SignJWT(later).setProtectedHeader({ ...header, alg: 'ES256', ...extra }).sign(attacker.privateKey));
    forged.push(`${enc({ ...header, ...extra })}.${p}.${s}`);
  }
  // Claims changed under the original signature; signatures and claims moved between tokens.
  forged.push(`${h}.${enc(later)}.${s}`, `${h}.${p2}.${s}`, `${h}.${p}.${s2}`, `${h}.${enc({ ...payload, typ: 'JWT' })}.${s}`);
  forged.push(`${enc({ ...header, typ: 'JWT' })}.${p}.${s}`, `${enc({ ...header, crit: ['exp'] })}.${p}.${s}`, `${enc({ ...header, b64: false, crit: ['b64'] })}.${p}.${s}`);
  forged.push(`${h}.${p}`, `${h}.${p}.${s}.${s}`, `${h}..${s}`, `.${p}.${s}`, `${h}.${p}.${s}=`, `${h}=.${p}.${s}`);
  return forged;
}
