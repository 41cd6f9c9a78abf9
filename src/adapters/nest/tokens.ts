/**
 * Token mode's endpoints in a Nest controller: refresh, logout, the
 * DPoP-aware sign-in and the sign-in answer, on either platform, with the
 * names every adapter uses.
 *
 * @module
 * @internal
 */
import type { TokenTransport, TokenTransportOptions } from '../../http/tokens.js';
import { asTokenTransport } from '../../http/tokens.js';
import type { TokenPair } from '../../tokens/tokens.js';
import type { CreateInput } from '../../core/sessions.js';
import { requestView, sendPair, sendTokenResult, type NestRequest, type NestResponse } from './platform.js';

/** A token endpoint for a Nest route that takes the response itself (`@Req() req, @Res() res`). */
export type NestTokenEndpoint = (req: NestRequest, res: NestResponse) => Promise<void>;

/**
 * Token mode: the refresh endpoint (`POST`). Takes `refresh_token` from the
 * parsed JSON or form body (bearer carrier) or the refresh cookie (cookie
 * carrier) and answers the new pair, or 401 `invalid_grant`.
 *
 * @example
 * ```ts
 * const refresh = tokenRefresh(transport);
 *
 * @Post('auth/refresh')
 * refresh(@Req() req: Request, @Res() res: Response) {
 *   return refresh(req, res);
 * }
 * ```
 */
export function tokenRefresh(transport: TokenTransport | TokenTransportOptions): NestTokenEndpoint {
  const t = asTokenTransport(transport);
  return async (req, res) => sendTokenResult(res, await t.refresh(requestView(req)));
}

/**
 * Token mode: the logout endpoint (`POST`). Revokes the refresh token's
 * family and, with cookies, clears them; answers `{ revoked }`.
 *
 * @example
 * ```ts
 * @Post('auth/refresh/logout')
 * logout(@Req() req: Request, @Res() res: Response) {
 *   return logout(req, res); // const logout = tokenLogout(transport)
 * }
 * ```
 */
export function tokenLogout(transport: TokenTransport | TokenTransportOptions): NestTokenEndpoint {
  const t = asTokenTransport(transport);
  return async (req, res) => sendTokenResult(res, await t.logout(requestView(req)));
}

/**
 * Token mode: answers a sign-in with its token pair (JSON, or cookies with
 * the cookie carrier), on the response of a route that takes it (`@Res()`).
 *
 * @example
 * ```ts
 * @Post('auth/login')
 * async login(@Body() body: Credentials, @Res() res: Response) {
 *   const user = await this.users.check(body); // yours
 *   sendTokens(res, transport, await tokens.issue({ userId: user.id }));
 * }
 * ```
 */
export function sendTokens(res: NestResponse, transport: TokenTransport, pair: TokenPair): void {
  sendPair(res, transport, pair);
}

/**
 * Token mode: answers a sign-in, once your route has authenticated the
 * user, with a new token pair, on the response of a route that takes it
 * (`@Res()`). With DPoP on in token mode, the request's `DPoP` proof is
 * checked and the pair bound to its key (`token_type: DPoP`); a refused
 * proof is answered 400 `invalid_dpop_proof` (or `use_dpop_nonce` with a
 * `DPoP-Nonce`). Rejects only with what latchkey cannot answer itself
 * (Nest's exception handling then answers it).
 *
 * @example
 * ```ts
 * @Post('auth/login')
 * async login(@Body() body: Credentials, @Req() req: Request, @Res() res: Response) {
 *   const user = await this.users.check(body); // yours
 *   await issueTokens(req, res, transport, { userId: user.id });
 * }
 * ```
 */
export async function issueTokens(req: NestRequest, res: NestResponse, transport: TokenTransport, input: CreateInput & { userId: string }): Promise<void> {
  sendTokenResult(res, await transport.issue(requestView(req), input));
}
