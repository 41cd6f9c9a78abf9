/**
 * DBSC, Device Bound Session Credentials (W3C WebAppSec draft): the server
 * side of the protocol for cookie sessions, framework-neutral and
 * storage-neutral, so that the HTTP layer wires it to the engine in a few
 * lines.
 *
 * The flow, and what each step of {@link Dbsc} does:
 *
 * 1. Sign-in: `registration(handle)` mints a one-time challenge for the
 *    session and gives the `Secure-Session-Registration` header.
 * 2. The browser creates a key and POSTs a proof to the registration path:
 *    `register()` verifies it (with `jose`), consumes the challenge and
 *    answers the session instructions JSON, the short-lived bound cookie
 *    and the next challenge; the caller keeps the returned binding in the
 *    session record before sending that answer.
 * 3. Every request: `checkBoundCookie()` checks the bound cookie of a bound
 *    session with one HMAC and no store read; a bound session without a
 *    valid bound cookie is not signed in. The cookie is good for the
 *    binding (its identifier and key), so rotation never needs a new one.
 * 4. When the bound cookie runs out the browser POSTs to the refresh path:
 *    `refresh()` answers 403 with a fresh challenge until it gets a proof
 *    signed by the registered key over a live challenge of this session,
 *    then a new bound cookie (a new value every time).
 * 5. A refresh for a session that has ended is answered with the draft's
 *    termination, `{"session_identifier": id, "continue": false}`.
 *
 * @module
 */
import { hmacSha256, randomFill, timingSafeEqual, toBase64url, toUtf8 } from '#primitives';
import { readCookie } from '../cookies.js';
import type { HeaderLine } from '../request-session.js';
import { BoundCookies } from './bound-cookie.js';
import { CHALLENGE_SHAPE, mintChallenge } from './challenges.js';
import { challengeHeader, readProofHeader, readSessionIdHeader, registrationHeader } from './headers.js';
import { sessionInstructions, terminationInstructions, type InstructionsConfig } from './instructions.js';
import { dbscConfig, originOf, type DbscConfig } from './options.js';
import { verifyRefreshProof, verifyRegistrationProof } from './proof.js';
import type {
  BoundCookieResult,
  DbscAlgorithm,
  DbscAnswer,
  DbscBinding,
  DbscContext,
  DbscOptions,
  DbscRefreshResult,
  DbscRegistrationFailure,
  DbscRegistrationResult,
  DbscSession,
  HeaderSource,
} from './types.js';
import type { BoundProofFailure } from '../../core/bound-events.js';
import { LatchkeyTypeError } from '../../core/errors.js';

export type * from './types.js';
export { DBSC_CHALLENGE_NAMESPACE, memoryChallengeStore, storeChallengeStore } from './challenges.js';
export type { MemoryChallengeStore, MemoryChallengeStoreOptions, StoreChallengeStoreOptions } from './challenges.js';

/** The DBSC protocol core returned by {@link createDbsc}. */
export interface Dbsc {
  readonly algorithms: readonly DbscAlgorithm[];
  readonly registrationPath: string;
  readonly refreshPath: string;
  /** The bound cookie's name. */
  readonly cookieName: string;
  /** The `Secure-Session-Registration` header line for a sign-in answer; keeps a one-time challenge for `handle`. */
  registration(handle: string): Promise<HeaderLine>;
  /**
   * The registration endpoint. `session` is the one the request's session
   * cookie names (`null` when none is valid). On success, keep `binding` in
   * the session record (only if it has none yet) before sending `answer`.
   */
  register(request: HeaderSource, session: DbscSession | null, context?: DbscContext): Promise<DbscRegistrationResult>;
  /** The refresh endpoint. `session` as for `register()`; a store failure is the caller's 503, never a `null` here. */
  refresh(request: HeaderSource, session: DbscSession | null, context?: DbscContext): Promise<DbscRefreshResult>;
  /**
   * Checks the bound cookie in a `Cookie` header for a bound session. No
   * store read; never throws. The cookie is good for the binding (its DBSC
   * session identifier and key), not for one handle: rotation keeps it.
   */
  checkBoundCookie(cookieHeader: string | undefined, binding: DbscBinding): BoundCookieResult;
  /** A `Set-Cookie` line with a fresh bound cookie for `binding`. */
  boundCookie(binding: DbscBinding): HeaderLine;
  /** A `Set-Cookie` line that drops the bound cookie: for sign-out. */
  clearBoundCookie(): HeaderLine;
  /** The answer that ends the browser's DBSC session `id`. */
  termination(id: string): DbscAnswer;
}

const AUTHORIZATION_LABEL = 'latchkey dbsc-authorization v1\0';
const NO_STORE: HeaderLine = ['cache-control', 'no-store'];
const JSON_TYPE: HeaderLine = ['content-type', 'application/json'];

/**
 * Creates the DBSC protocol core.
 *
 * @throws {ConfigError} for an unknown option or an unsafe value, saying how to fix it.
 * @example
 * ```ts
 * import { createDbsc, memoryChallengeStore } from 'latchkey/http';
 *
 * const dbsc = createDbsc({ secret: process.env.DBSC_SECRET!, challenges: memoryChallengeStore(), cookie: { ttl: '10m' } });
 * // sign-in answer:
 * res.setHeader(...(await dbsc.registration(session.handle)));
 * // POST /auth/dbsc/register:
 * const result = await dbsc.register(request, { handle: session.handle, binding: null });
 * if (result.ok) await keepBinding(session, result.binding);
 * send(result.answer);
 * ```
 */
export function createDbsc(options: DbscOptions): Dbsc {
  return dbscFrom(dbscConfig(options));
}

/** @internal the protocol core over a configuration already validated (the HTTP layer's `dbsc` option) */
export function dbscFrom(c: DbscConfig): Dbsc {
  const { challenges, algorithms, clock, keys } = c;
  const cookies = new BoundCookies(keys, c.cookie, c.cookieTtlMs, clock);
  const instructions: Omit<InstructionsConfig, 'origin'> = {
    refreshPath: c.refreshPath,
    includeSite: c.includeSite,
    exclude: c.exclude,
    cookieName: c.cookie.name,
    attributes: cookies.attributes,
  };
  const instructionsFor = (id: string, context: DbscContext | undefined) =>
    sessionInstructions(id, { ...instructions, origin: c.origin ?? originOf(context?.origin) });

  const authorizationFor = (key: Uint8Array, challenge: string): string => toBase64url(hmacSha256(key, [toUtf8(AUTHORIZATION_LABEL), toUtf8(challenge)]));
  function authorizationMatches(claim: string | undefined, challenge: string): boolean {
    if (claim === undefined) return false;
    const presented = toUtf8(claim);
    let match = false;
    for (const key of keys) {
      const expected = toUtf8(authorizationFor(key, challenge));
      match = timingSafeEqual(expected, presented) || match;
    }
    return match;
  }

  /** A challenge for the session `id`, kept for `ttlMs`, as a header line. */
  async function challengeLine(id: string, ttlMs: number): Promise<HeaderLine> {
    const challenge = mintChallenge();
    await challenges.put(challenge, `s.${id}`, clock.now() + ttlMs);
    return ['secure-session-challenge', challengeHeader(challenge, id)];
  }

  function refused(reason: DbscRegistrationFailure, anomaly: BoundProofFailure | null): DbscRegistrationResult {
    return { ok: false, reason, anomaly, answer: { status: reason === 'no-session' ? 401 : 403, headers: [NO_STORE], body: null } };
  }

  /** The 200 that hands out a new bound cookie, the next challenge and the instructions. */
  async function issued(id: string, jkt: string, context: DbscContext | undefined) {
    const minted = cookies.mint(id, jkt);
    // Sent ahead for the next refresh, which comes when this cookie runs out: it lives that much longer.
    const next = await challengeLine(id, c.cookieTtlMs + c.challengeTtlMs);
    const answer: DbscAnswer = { status: 200, headers: [JSON_TYPE, NO_STORE, ['set-cookie', minted.setCookie], next], body: instructionsFor(id, context) };
    return { answer, expiresAt: minted.expiresAt };
  }

  function termination(id: string): DbscAnswer {
    if (typeof id !== 'string' || id === '') throw new LatchkeyTypeError('termination() takes the DBSC session identifier');
    return { status: 200, headers: [JSON_TYPE, NO_STORE, ['set-cookie', cookies.clear()]], body: terminationInstructions(id) };
  }

  return {
    algorithms,
    registrationPath: c.registrationPath,
    refreshPath: c.refreshPath,
    cookieName: c.cookie.name,

    async registration(handle) {
      if (typeof handle !== 'string' || handle === '') throw new LatchkeyTypeError('registration() takes the session handle');
      const challenge = mintChallenge();
      await challenges.put(challenge, `r.${handle}`, clock.now() + c.challengeTtlMs);
      const params: { path: string; challenge: string; authorization?: string } = { path: c.registrationPath, challenge };
      if (c.authorization) params.authorization = authorizationFor(keys[0] as Uint8Array, challenge);
      return ['secure-session-registration', registrationHeader(algorithms, params)];
    },

    async register(request, session, context) {
      if (session === null) return refused('no-session', null);
      // A bound session never takes a second key, whoever holds its cookies.
      if (session.binding !== null) return refused('already-bound', 'second-key');
      const field = request.header('secure-session-response');
      if (field === undefined) return refused('missing-proof', null);
      const jwt = readProofHeader(field);
      if (jwt === null) return refused('malformed', 'malformed');
      const proof = await verifyRegistrationProof(jwt, algorithms, clock.now());
      if (!proof.ok) return refused(proof.reason, proof.reason === 'missing-proof' ? null : proof.reason);
      if (!CHALLENGE_SHAPE.test(proof.jti)) return refused('invalid-claims', 'invalid-claims');
      // Taken only now that the signature holds: junk never uses up a challenge.
      const owner = await challenges.take(proof.jti);
      if (owner === null) return refused('unknown-challenge', null);
      if (owner !== `r.${session.handle}`) return refused('foreign-challenge', 'foreign-challenge');
      if (c.authorization && !authorizationMatches(proof.authorization, proof.jti)) return refused('authorization-mismatch', 'authorization-mismatch');
      const binding: DbscBinding = { id: toBase64url(randomFill(new Uint8Array(16))), alg: proof.alg, jwk: proof.jwk, jkt: proof.jkt, at: clock.now() };
      const { answer } = await issued(binding.id, binding.jkt, context);
      return { ok: true, binding, answer };
    },

    async refresh(request, session, context) {
      const id = readSessionIdHeader(request.header('sec-secure-session-id'));
      if (id === null) return { outcome: 'refused', reason: 'missing-session-id', answer: { status: 400, headers: [NO_STORE], body: null } };
      const binding = session?.binding ?? null;
      if (session === null || binding === null || binding.id !== id) return { outcome: 'terminated', reason: 'unknown-session', answer: termination(id) };
      const challenged = async (reason: Extract<DbscRefreshResult, { outcome: 'challenged' }>['reason'], anomaly: BoundProofFailure | null): Promise<DbscRefreshResult> => ({
        outcome: 'challenged',
        reason,
        anomaly,
        answer: { status: 403, headers: [NO_STORE, await challengeLine(id, c.challengeTtlMs)], body: null },
      });
      const field = request.header('secure-session-response');
      if (field === undefined) return challenged('missing-proof', null);
      const jwt = readProofHeader(field);
      if (jwt === null) return challenged('malformed', 'malformed');
      const proof = await verifyRefreshProof(jwt, binding, clock.now());
      if (!proof.ok) return challenged(proof.reason, proof.reason === 'missing-proof' ? null : proof.reason);
      // Chrome re-sends its last proof while the challenge is unchanged: a used or expired challenge is routine, not an attack.
      const owner = CHALLENGE_SHAPE.test(proof.jti) ? await challenges.take(proof.jti) : null;
      if (owner === null) return challenged('stale-challenge', null);
      if (owner !== `s.${id}`) return challenged('foreign-challenge', 'foreign-challenge');
      const { answer, expiresAt } = await issued(id, binding.jkt, context);
      return { outcome: 'refreshed', expiresAt, answer };
    },

    checkBoundCookie(cookieHeader, binding) {
      return cookies.check(readCookie(cookieHeader, c.cookie.name), binding.id, binding.jkt);
    },

    boundCookie(binding) {
      return ['set-cookie', cookies.mint(binding.id, binding.jkt).setCookie];
    },

    clearBoundCookie() {
      return ['set-cookie', cookies.clear()];
    },

    termination,
  };
}
