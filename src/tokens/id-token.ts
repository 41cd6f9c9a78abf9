/**
 * Optional ID tokens: OpenID Connect-style JWTs that tell a client who the
 * user is (`name`, `email`, ...). They are for the client to read, never to
 * call an API with: access-token verification refuses them (`typ` differs).
 *
 * @module
 */
import { SignJWT } from 'jose';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { durationOption, type Duration } from '../core/duration.js';
import { ConfigError, LatchkeyTypeError } from '../core/errors.js';
import { checkOptionKeys } from '../core/option-keys.js';
import type { KeySet } from './keys.js';

/** Options of {@link createIdTokens}. */
export interface IdTokensOptions {
  keys: KeySet;
  /** `iss`, the same issuer as the access tokens. */
  issuer: string;
  /** @default '1h' */
  ttl?: Duration;
  /** @default the system clock */
  clock?: Clock;
}

/** Standard OpenID Connect user claims (a subset; any other non-registered claim may be added too). */
export interface UserClaims {
  name?: string;
  given_name?: string;
  family_name?: string;
  preferred_username?: string;
  email?: string;
  email_verified?: boolean;
  picture?: string;
  locale?: string;
  [claim: string]: unknown;
}

/** What to put in an ID token. */
export interface IdTokenInput {
  /** `sub`: the user. */
  subject: string;
  /** `aud`: the client the token is for (its client id). */
  audience: string;
  /** `nonce` from the client's sign-in request, echoed back. */
  nonce?: string;
  /** `auth_time`, ms since epoch (`session.authTime`). */
  authTime?: number | null;
  /** `sid`: the session handle. */
  sessionId?: string;
  /** User claims; registered names (`iss`, `sub`, `aud`, `exp`, `iat`, `nbf`, `jti`, `nonce`, `auth_time`, `sid`, `azp`) are refused. */
  claims?: UserClaims;
}

/** ID tokens returned by {@link createIdTokens}. */
export interface IdTokens {
  sign(input: IdTokenInput): Promise<string>;
}

const REGISTERED = new Set(['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'nonce', 'auth_time', 'sid', 'azp']);

/**
 * Creates an ID-token signer on the key set. Clients verify ID tokens with the
 * JWKS, like any OpenID Connect ID token.
 *
 * @example
 * ```ts
 * const ids = createIdTokens({ keys, issuer: 'https://auth.example.com' });
 * const idToken = await ids.sign({ subject: 'u1', audience: 'web-app', claims: { name: 'Ada', email: 'ada@example.com' } });
 * ```
 */
export function createIdTokens(options: IdTokensOptions): IdTokens {
  checkOptionKeys(options, 'createIdTokens()', ['keys', 'issuer', 'ttl', 'clock']);
  const { keys, issuer } = options;
  if (keys === null || typeof keys !== 'object' || typeof keys.signingKey !== 'function') throw new ConfigError('keys must be a KeySet: await createKeySet(...)');
  if (typeof issuer !== 'string' || issuer === '') throw new ConfigError('issuer must be a non-empty string');
  const ttlSeconds = Math.ceil(durationOption('ttl', options.ttl ?? '1h', { min: 1000 }) / 1000);
  const clock = options.clock ?? systemClock;
  return {
    async sign(input) {
      if (input === null || typeof input !== 'object') throw new LatchkeyTypeError('sign() takes { subject, audience, nonce?, authTime?, sessionId?, claims? }');
      if (typeof input.subject !== 'string' || input.subject === '') throw new LatchkeyTypeError('subject must be a non-empty string');
      if (typeof input.audience !== 'string' || input.audience === '') throw new LatchkeyTypeError('audience must be the client id');
      const payload: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(input.claims ?? {})) {
        if (REGISTERED.has(name)) throw new LatchkeyTypeError(`claims may not set the registered claim "${name}"`);
        payload[name] = value;
      }
      if (input.nonce !== undefined && typeof input.nonce !== 'string') throw new LatchkeyTypeError('nonce must be a string');
      if (input.sessionId !== undefined && typeof input.sessionId !== 'string') throw new LatchkeyTypeError('sessionId must be a string');
      if (input.authTime !== undefined && input.authTime !== null && !Number.isFinite(input.authTime)) {
        throw new LatchkeyTypeError('authTime must be a time in ms since the epoch');
      }
      if (input.nonce !== undefined) payload.nonce = input.nonce;
      if (input.sessionId !== undefined) payload.sid = input.sessionId;
      if (input.authTime !== undefined && input.authTime !== null) payload.auth_time = Math.floor(input.authTime / 1000);
      const key = await keys.signingKey();
      const now = Math.floor(clock.now() / 1000);
      return new SignJWT(payload)
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
        .setSubject(input.subject)
        .setIssuer(issuer)
        .setAudience(input.audience)
        .setIssuedAt(now)
        .setExpirationTime(now + ttlSeconds)
        .sign(key.key);
    },
  };
}
