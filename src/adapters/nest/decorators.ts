/**
 * The parameter decorators of latchkey/nest: the request's session, and
 * token mode's verified claims.
 *
 * @module
 * @internal
 */
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { sessionOf, tokenOf } from './platform.js';

/**
 * The request's session (a `RequestSession`, as every adapter hands it out;
 * `await session.load()` before reading it), on Nest's Express and Fastify
 * platforms alike. Without `LatchkeyModule` the route fails loudly (500,
 * with the fix in the log).
 *
 * @example
 * ```ts
 * @Post('login')
 * async login(@Session() session: RequestSession, @Body() body: { username: string }) {
 *   await session.login(body.username, { authLevel: 1 });
 *   return { ok: true };
 * }
 * ```
 */
export const Session: () => ParameterDecorator = createParamDecorator((_data: unknown, context: ExecutionContext) =>
  sessionOf(context.switchToHttp().getRequest<object>()),
);

/**
 * Token mode: the verified access-token claims of a route behind
 * `tokenGuard()` (`undefined` elsewhere).
 *
 * @example
 * ```ts
 * @Get('me')
 * @UseGuards(tokenGuard(transport))
 * me(@Token() token: AccessTokenClaims) {
 *   return { user: token.sub };
 * }
 * ```
 */
export const Token: () => ParameterDecorator = createParamDecorator((_data: unknown, context: ExecutionContext) =>
  tokenOf(context.switchToHttp().getRequest<object>()),
);
