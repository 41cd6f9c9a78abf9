/**
 * The service's JSON API under `/v1`: sessions and token mode for callers in
 * any language, authenticated with API keys. Each route is declared once, in
 * `api-routes.ts`, with the JSON schemas Fastify validates against and the
 * OpenAPI document is built from (`openapi.ts`); its handler is here.
 *
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ClientInfo, Session } from '../core/model.js';
import { readBearer } from '../http/carriers.js';
import { throttled } from '../http/errors.js';
import { renewedNonce } from '../http/token-dpop.js';
import { API_ROUTES, type OperationId } from './api-routes.js';
import type { ServiceContext } from './context.js';
import { SERVICE_KINDS } from './context.js';
import { apiError } from './errors.js';
import { LatchkeyTypeError } from '../core/errors.js';
import { checkDpopBinding, DPOP_DESCRIPTIONS } from '../tokens/dpop-answers.js';
import type { DpopProof } from '../tokens/dpop.js';
import { FAMILY_JKT } from '../tokens/lib/binding.js';

export { API_ROUTES, SCHEMAS } from './api-routes.js';
export type { OperationId, RouteSpec } from './api-routes.js';

interface Req<B = unknown, P = unknown, Q = unknown> extends FastifyRequest {
  body: B;
  params: P;
  query: Q;
}

/**
 * The sessions of the `/v1/sessions` routes: records of kind `'session'`.
 * The service's sessions engine honours only these, so a token of another
 * kind (a refresh token, a dashboard or demo cookie) is `unknown` to
 * validate and rotate before any side effect; the routes by handle (patch,
 * delete), which reach every kind, check it themselves.
 */
export function isApiSession(s: Pick<Session, 'kind'>): boolean {
  return s.kind === SERVICE_KINDS.sessions;
}

/** What `/v1`'s calls by user reach: its sessions and token families, never the dashboard's or the demo's. */
const API_KINDS = { kinds: SERVICE_KINDS.api };

/** A forwarded DPoP proof, as the `/v1/tokens` routes take it. */
interface ForwardedProof {
  proof: string;
  method: string;
  url: string;
}

function clientOf(c: { ip?: string; userAgent?: string } | undefined): ClientInfo | undefined {
  return c === undefined ? undefined : { ip: c.ip, userAgent: c.userAgent };
}


/**
 * Registers the `/v1` routes in their own encapsulated scope, behind the
 * API-key check.
 */
export async function registerApi(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  const { sessions, tokens, apiKeys, metrics } = ctx;

  /**
   * After a refused token: a client whose refusal spent the budget (counted
   * on another instance too, with a shared store) is answered 429 at once,
   * so that a fleet answers as many guesses as one instance.
   */
  const refuseSpent = (client: { ip?: string } | undefined, reason: string): void => {
    if (reason === 'malformed' || reason === 'unknown') refuseThrottled(client);
  };

  /** Verifies a forwarded proof (with `ath` for `accessToken`), or refuses the request with 400 `invalid_dpop_proof`. */
  const forwardedProof = async (f: ForwardedProof, accessToken?: string): Promise<DpopProof> => {
    const dpop = tokens.dpop;
    if (dpop === null) throw apiError(400, 'bad-request', 'DPoP is off in this service');
    let result;
    try {
      result = await dpop.verify({ proof: f.proof, method: f.method, url: f.url, ...(accessToken === undefined ? {} : { accessToken }) });
    } catch (err) {
      if (err instanceof LatchkeyTypeError) throw apiError(400, 'bad-request', `dpop: ${err.message}`);
      throw err;
    }
    // With nonces on, the nonce to retry with (RFC 9449 section 8), for the caller to hand its client as DPoP-Nonce.
    if (!result.ok) throw apiError(400, 'invalid_dpop_proof', DPOP_DESCRIPTIONS[result.reason], result.reason, result.nonce === null ? undefined : { 'dpop-nonce': result.nonce });
    return result;
  };

  /** As the token transport's endpoints: with nonces on, every answer of issue and refresh hands out the current nonce (RFC 9449 section 8). */
  const tokenEndpointNonce = (reply: FastifyReply): void => {
    const nonce = tokens.dpop?.nonce() ?? null;
    if (nonce !== null) reply.header('dpop-nonce', nonce);
  };

  /** A client that sent a burst of invalid tokens waits (the engine counts them per `client.ip`). */
  const refuseThrottled = (client: { ip?: string } | undefined): void => {
    const ip = client?.ip;
    if (ip === undefined) return;
    const wait = sessions.throttled(ip);
    if (wait > 0) throw throttled(wait, `too many invalid tokens from this client; retry in ${wait} s`);
  };

  await app.register(async (api) => {
    api.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      // Answers carry tokens and session data: never cached (RFC 6749 section 5.1); errors say so too.
      reply.header('cache-control', 'no-store');
      const presented = readBearer(request.headers.authorization);
      if (presented === null) {
        metrics.apiKeyRejections.inc({ reason: 'missing' });
        throw apiError(401, 'unauthorized', 'an API key is required: Authorization: Bearer <key>');
      }
      const check = await apiKeys.verify(presented);
      if (!check.ok) {
        metrics.apiKeyRejections.inc({ reason: check.reason });
        throw apiError(401, 'unauthorized', 'the API key is not valid');
      }
    });

    // One handler per operation, checked by the compiler.
    const handlers: Record<OperationId, (request: Req<never, never, never>, reply: FastifyReply) => Promise<unknown>> = {
      async createSession(request: Req<{ userId?: string; data?: Record<string, unknown>; client?: ClientInfo; authLevel?: number }>, reply) {
        const b = request.body;
        // Without userId: an anonymous session (the engine's userId null), as the HTTP layer makes for a visitor's first write.
        const created = await sessions.create({ userId: b.userId ?? null, data: b.data, client: clientOf(b.client), authLevel: b.authLevel });
        return reply.code(201).send({ token: created.token, session: created.session });
      },
      async validateSession(request: Req<{ token: string; client?: ClientInfo }>) {
        refuseThrottled(request.body.client);
        const r = await sessions.validate(request.body.token, { client: clientOf(request.body.client), carrier: 'api' });
        metrics.validated.inc({ result: r.ok ? 'valid' : r.reason });
        if (!r.ok) refuseSpent(request.body.client, r.reason);
        return r.ok ? { valid: true, session: r.session } : { valid: false, reason: r.reason };
      },
      async rotateSession(request: Req<{ token: string; client?: ClientInfo; userId?: string; authenticated?: boolean; authLevel?: number }>) {
        const b = request.body;
        refuseThrottled(b.client);
        const current = await sessions.validate(b.token, { client: clientOf(b.client), carrier: 'api' });
        if (!current.ok) refuseSpent(b.client, current.reason);
        if (!current.ok) throw apiError(401, 'session-invalid', `the session token is not valid (${current.reason})`, current.reason);
        const r = await sessions.rotate(current.renewed?.token ?? b.token, {
          client: clientOf(b.client),
          ...(b.userId !== undefined ? { userId: b.userId } : {}),
          ...(b.authenticated !== undefined ? { authenticated: b.authenticated } : {}),
          ...(b.authLevel !== undefined ? { authLevel: b.authLevel } : {}),
        });
        if (!r.ok) {
          // The token was valid a moment ago (just validated): a loser of a race, not a dead session.
          if (r.reason === 'conflict' || r.reason === 'revoked') {
            throw apiError(409, 'conflict', 'the session changed during the rotation (a concurrent rotation or revocation won); validate the token you hold again');
          }
          throw apiError(401, 'session-invalid', `the session token is not valid (${r.reason})`, r.reason);
        }
        return { token: r.token, session: r.session };
      },
      async patchSessionData(request: Req<{ set?: Record<string, unknown>; unset?: string[] }, { handle: string }>) {
        const { handle } = request.params;
        const before = await sessions.get(handle);
        if (before === null || !isApiSession(before)) throw apiError(404, 'not-found', 'no active session with this handle');
        // A key-level patch: concurrent patches of other keys are not conflicts, so no compare-and-set.
        const r = await sessions.patch(handle, { set: request.body.set, unset: request.body.unset });
        if (!r.ok) throw apiError(404, 'not-found', 'no active session with this handle');
        return { session: { ...before, version: r.version, data: r.data } };
      },
      async revokeSession(request: Req<never, { handle: string }>, reply) {
        const { handle } = request.params;
        const s = await sessions.get(handle);
        if (s !== null && isApiSession(s)) {
          if (await sessions.revoke(handle)) {
            ctx.feed.push({ at: Date.now(), kind: 'revoked', userId: s.userId, sessionKind: s.kind, handle, ip: null, detail: 'session revoked through the API' });
            return reply.code(204).send();
          }
        } else if (s === null || s.kind === SERVICE_KINDS.tokens) {
          // A token family, by any handle it had (an access token's sid): ending it ends its access tokens too.
          // Token mode ends only lineages whose live record is of its own kind.
          if (await tokens.revokeFamily(handle)) {
            ctx.feed.push({ at: Date.now(), kind: 'revoked', userId: s?.userId ?? null, sessionKind: SERVICE_KINDS.tokens, handle, ip: null, detail: 'token family revoked through the API' });
            return reply.code(204).send();
          }
        }
        throw apiError(404, 'not-found', 'no active session or token family with this handle');
      },
      async listSecurityEvents(request: Req<never, never, { limit?: string }>) {
        return { events: await ctx.feed.read(Number(request.query.limit ?? 50)) };
      },
      async listUserSessions(request: Req<never, { userId: string }>) {
        return { sessions: await sessions.list(request.params.userId, API_KINDS) };
      },
      async revokeUserSessions(request: Req<never, { userId: string }, { except?: string }>) {
        const except = request.query.except;
        const revoked = await sessions.revokeUser(request.params.userId, except !== undefined ? { ...API_KINDS, except } : API_KINDS);
        if (revoked.length > 0) {
          ctx.feed.push({ at: Date.now(), kind: 'revoked-all', userId: request.params.userId, sessionKind: null, handle: null, ip: null, detail: `${revoked.length} session(s) revoked through the API` });
        }
        return { revoked };
      },
      async issueTokens(request: Req<{ userId: string; scope?: string; data?: Record<string, unknown>; client?: ClientInfo; dpop?: ForwardedProof }>, reply) {
        const b = request.body;
        if (b.data !== undefined && Object.hasOwn(b.data, FAMILY_JKT)) throw apiError(400, 'bad-request', `data.${FAMILY_JKT} is reserved: send the client's proof as dpop`);
        const proof = b.dpop === undefined ? undefined : await forwardedProof(b.dpop);
        const pair = await tokens.issue({
          userId: b.userId,
          data: { ...b.data, ...(b.scope !== undefined ? { scope: b.scope } : {}) },
          client: clientOf(b.client),
          ...(proof === undefined ? {} : { dpop: proof }),
        });
        metrics.tokensIssued.inc();
        tokenEndpointNonce(reply);
        return reply.code(201).send({ accessToken: pair.accessToken, refreshToken: pair.refreshToken, tokenType: pair.tokenType, expiresIn: pair.expiresIn });
      },
      async refreshTokens(request: Req<{ refreshToken: string; client?: ClientInfo; dpop?: ForwardedProof }>, reply) {
        const proof = request.body.dpop === undefined ? undefined : await forwardedProof(request.body.dpop);
        // Token mode counts invalid refresh tokens per client.ip itself, and refuses a burst.
        const r = await tokens.refresh(request.body.refreshToken, { client: clientOf(request.body.client), ...(proof === undefined ? {} : { dpop: proof }) });
        metrics.tokenRefreshes.inc({ result: r.ok ? 'ok' : r.reason });
        if (!r.ok) {
          if (r.reason === 'throttled') {
            throw throttled(r.retryAfter, `too many invalid refresh tokens from this client; retry in ${r.retryAfter} s`);
          }
          throw apiError(401, 'invalid_grant', `the refresh token is not valid (${r.reason})`, r.reason);
        }
        tokenEndpointNonce(reply);
        return { accessToken: r.accessToken, refreshToken: r.refreshToken, tokenType: r.tokenType, expiresIn: r.expiresIn };
      },
      async revokeRefreshToken(request: Req<{ refreshToken: string }>) {
        // Token mode ends only families of its own kind: a session token here revokes nothing.
        return { revoked: await tokens.revoke(request.body.refreshToken) };
      },
      async introspectToken(request: Req<{ token: string; dpop?: ForwardedProof }>, reply) {
        const r = await tokens.verify(request.body.token);
        metrics.tokensIntrospected.inc({ result: r.ok ? 'active' : r.reason });
        if (!r.ok) return { active: false };
        const c = r.claims;
        if (c.cnf !== undefined || request.body.dpop !== undefined) {
          // A bound token is active only with a proof of its key, as a resource server would check it (RFC 9449 section 7).
          const proof = request.body.dpop === undefined ? null : await forwardedProof(request.body.dpop, request.body.token);
          if (!checkDpopBinding(c, { scheme: proof === null ? 'Bearer' : 'DPoP', proof }).ok) return { active: false };
          // As the token guard of a resource answers an accepted proof: a fresh nonce when the proof's is due to rotate.
          const nonce = renewedNonce(proof);
          if (nonce !== null) reply.header('dpop-nonce', nonce);
        }
        return {
          active: true,
          token_type: c.cnf === undefined ? 'Bearer' : 'DPoP',
          ...(c.cnf === undefined ? {} : { cnf: { jkt: c.cnf.jkt } }),
          sub: c.sub,
          sid: c.sid,
          iss: c.iss,
          aud: c.aud,
          iat: c.iat,
          ...(typeof c.nbf === 'number' ? { nbf: c.nbf } : {}),
          exp: c.exp,
          ...(c.scope !== undefined ? { scope: c.scope } : {}),
          ...(typeof c.auth_time === 'number' ? { auth_time: c.auth_time } : {}),
        };
      },
    };

    for (const route of API_ROUTES) {
      const handler = handlers[route.operationId];
      api.route({
        method: route.method,
        url: route.url,
        schema: {
          ...(route.body ? { body: route.body } : {}),
          ...(route.params ? { params: route.params } : {}),
          ...(route.querystring ? { querystring: route.querystring } : {}),
        },
        handler: handler as (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
      });
    }
  });
}
