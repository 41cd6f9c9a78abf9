/**
 * The two platforms of Nest's HTTP applications, as latchkey/nest meets
 * them: `@nestjs/platform-express` hands guards, filters and handlers
 * Express's request and response, `@nestjs/platform-fastify` Fastify's
 * request and reply (each carrying the raw Node objects on `raw`). Each
 * function picks the platform from the object it is given and hands over to
 * the Express or Fastify adapter's own pieces.
 *
 * @module
 * @internal
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LatchkeyTypeError } from '../../core/errors.js';
import type { HttpError } from '../../http/errors.js';
import { fastifyRequest, sendFastifyError, sendFastifyTokenResult, type FastifyReplyLike, type FastifyRequestLike } from '../../http/fastify.js';
import { nodeRequest, sendNodeTokenResult } from '../../http/node.js';
import type { HttpRequest } from '../../http/request.js';
import { RequestSession, type HeaderLine } from '../../http/request-session.js';
import type { TokenEndpointResult, TokenTransport } from '../../http/tokens.js';
import type { AccessTokenClaims } from '../../tokens/access.js';
import type { TokenPair } from '../../tokens/tokens.js';
import { errorHandler, sendTokens as sendExpressTokens } from '../express.js';
import { sendTokens as sendFastifyTokens } from '../fastify.js';

/**
 * A request as a Nest handler, guard or filter receives it: Express's
 * `Request` or Fastify's `FastifyRequest`. Typed loosely so that a project
 * on one platform needs no types of the other.
 */
export type NestRequest = object;
/** A response as a Nest handler (`@Res()`) or filter receives it: Express's `Response` or Fastify's `FastifyReply`. */
export type NestResponse = object;

/** What latchkey leaves on a request: the session (Express's `req.session`, Fastify's `request.session`) and token mode's claims. */
interface Carrying {
  session?: unknown;
  token?: AccessTokenClaims;
}

/** Fastify's request and reply carry the Node objects on `raw`; Express's are the Node objects themselves. */
function onFastify(o: object): boolean {
  return 'raw' in o && typeof (o as { raw: unknown }).raw === 'object';
}

/** The {@link HttpRequest} view of a Nest request, on either platform. */
export function requestView(req: NestRequest): HttpRequest {
  return onFastify(req) ? fastifyRequest(req as FastifyRequestLike) : nodeRequest(req as IncomingMessage);
}

/**
 * The request's session, put there by the Express middleware or the Fastify
 * plugin that `LatchkeyModule` registers; a clear error when there is none.
 */
export function sessionOf(req: NestRequest): RequestSession {
  const session = (req as Carrying).session;
  if (session instanceof RequestSession) return session;
  throw new LatchkeyTypeError(
    'no latchkey session on this request: import LatchkeyModule.forRoot({ sessions }) (from "latchkey/nest") in your application module, on @nestjs/platform-express or @nestjs/platform-fastify',
  );
}

/** Token mode's claims on a request that passed `tokenGuard()`, or `undefined`. */
export function tokenOf(req: NestRequest): AccessTokenClaims | undefined {
  return (req as Carrying).token;
}

/** Leaves token mode's claims on the request, where `@Token()` and `req.token` find them. */
export function setToken(req: NestRequest, claims: AccessTokenClaims): void {
  (req as Carrying).token = claims;
}

/** Sets header lines on the answer to come (a guard's fresh `DPoP-Nonce`), on either platform. */
export function setHeaders(res: NestResponse, lines: readonly HeaderLine[]): void {
  if (lines.length === 0) return;
  if (onFastify(res)) for (const [name, value] of lines) (res as { header(name: string, value: string): unknown }).header(name, value);
  else for (const [name, value] of lines) (res as ServerResponse).setHeader(name, value);
}

const expressErrors = errorHandler();

/**
 * Answers one of latchkey's errors as the Express or Fastify adapter does
 * (JSON `{ error, message }`, its status and headers); when the response
 * has already started, the connection is cut, so that no client takes a
 * truncated answer for a success.
 */
export function sendError(req: NestRequest, res: NestResponse, err: HttpError): void {
  if (onFastify(res)) {
    const reply = res as FastifyReplyLike & { raw: ServerResponse };
    if (reply.sent) reply.raw.destroy();
    else sendFastifyError(reply, err);
    return;
  }
  const node = res as ServerResponse;
  expressErrors(err, req as never, node as never, () => node.destroy());
}

/** Answers a token endpoint's result (refresh, logout) on either platform. */
export function sendTokenResult(res: NestResponse, r: TokenEndpointResult): void {
  if (onFastify(res)) sendFastifyTokenResult(res as FastifyReplyLike, r);
  else sendNodeTokenResult(res as ServerResponse, r);
}

/** Answers a sign-in with its token pair, through the Express or Fastify adapter's `sendTokens`. */
export function sendPair(res: NestResponse, transport: TokenTransport, pair: TokenPair): void {
  if (onFastify(res)) sendFastifyTokens(res as never, transport, pair);
  else sendExpressTokens(res as never, transport, pair);
}
