/**
 * NestJS adapter (Nest 12, on `@nestjs/platform-express` and
 * `@nestjs/platform-fastify`): `LatchkeyModule.forRoot()` puts the
 * request-scoped session on every request, through latchkey/express or
 * latchkey/fastify; `@Session()` hands it to a route; `SessionGuard` lets
 * only signed-in (or freshly signed-in) users through; latchkey's errors
 * are answered as JSON by `LatchkeyExceptionFilter`. Token mode: the
 * `tokenGuard()` guard with `@Token()`, and `issueTokens`, `tokenRefresh`,
 * `tokenLogout` and `sendTokens` for the endpoints.
 *
 * @example
 * ```ts
 * import { Controller, Get, Module, UseGuards } from '@nestjs/common';
 * import { createSessions } from 'latchkey';
 * import { memoryStore } from 'latchkey/stores/memory';
 * import { LatchkeyModule, Session, SessionGuard, type RequestSession } from 'latchkey/nest';
 *
 * @Controller()
 * class AccountController {
 *   @Get('me')
 *   @UseGuards(SessionGuard)
 *   me(@Session() session: RequestSession) {
 *     return { user: session.userId };
 *   }
 * }
 *
 * @Module({ imports: [LatchkeyModule.forRoot({ sessions: createSessions({ store: memoryStore() }) })], controllers: [AccountController] })
 * export class AppModule {}
 * ```
 *
 * @module
 */
export { LatchkeyModule, type NestSessionsAsyncOptions, type NestSessionsOptions } from './module.js';
export { LatchkeyExceptionFilter } from './filter.js';
export { SessionGuard, tokenGuard, type SessionGuardOptions } from './guards.js';
export { Session, Token } from './decorators.js';
export { issueTokens, sendTokens, tokenLogout, tokenRefresh, type NestTokenEndpoint } from './tokens.js';
export type { NestRequest, NestResponse } from './platform.js';
export type { RequestSession } from '../../http/request-session.js';
