/**
 * Token mode: short-lived access JWTs (signed and verified with `jose`),
 * rotating, theft-detecting, race-proof refresh tokens on the session engine,
 * access tokens refused once their session ends, signing keys with rotation
 * and a JWKS document, and optional ID tokens. Runs on every runtime; the
 * key file, `fileKeyStorage`, is `latchkey/tokens/file` (Node's file system).
 *
 * @module
 */
export { createTokens } from './tokens.js';
export type { AccessClaimsOf, TokenPair, TokenRefreshResult, Tokens, TokensOptions } from './tokens.js';
export { createAccessTokens, MAX_ACCESS_TOKEN_LENGTH, REGISTERED_CLAIMS } from './access.js';
export type {
  AccessTokenClaims,
  AccessTokenFailure,
  AccessTokenInput,
  AccessTokenResult,
  AccessTokens,
  AccessTokensOptions,
  VerifyOptions,
} from './access.js';
export { createRefreshTokens } from './refresh.js';
export type { RefreshEvents, RefreshFailure, RefreshResult, RefreshTokens, RefreshTokensOptions, TokenTheftEvent } from './refresh.js';
export { createKeySet } from './keys.js';
export type { KeyInfo, KeySet, KeySetOptions } from './keys.js';
export type { SigningAlgorithm } from './algorithms.js';
export { memoryKeyStorage } from './key-storage.js';
export type { KeyStorage, StoredKey } from './key-storage.js';
export { createIdTokens } from './id-token.js';
export type { IdTokenInput, IdTokens, IdTokensOptions, UserClaims } from './id-token.js';
