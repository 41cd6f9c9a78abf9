/**
 * latchkey's client-side sealed sessions: the session lives in the cookie,
 * encrypted and authenticated with AES-256-GCM, and can still be revoked:
 * a store keeps the revocation epochs (required unless `revocable: false`).
 * See docs/sealed.md.
 *
 * @module
 */
export { createSealedSessions } from './sealed-sessions.js';
export type { OpenFailure, OpenResult, SealedCreateInput, SealedSessions, SealedSessionsOptions } from './sealed-sessions.js';
export type { SealedSession } from './payload.js';
export { createSealer, SEAL_VERSION, HEADER_BYTES, TAG_BYTES } from './sealer.js';
export type { Sealer, SealerOptions, UnsealFailure, UnsealResult } from './sealer.js';
export { MIN_SECRET_BYTES } from './keys.js';
export type { SealSecret } from './keys.js';
export { chunkName } from './chunks.js';
export type { CookieReader, CookieWrite } from './chunks.js';
