/**
 * The guards of latchkey/nest: a signed-in user (optionally a fresh sign-in)
 * for session routes, a valid access token for token-mode routes.
 *
 * @module
 * @internal
 */
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Duration } from '../../core/duration.js';
import { durationOption } from '../../core/duration.js';
import { checkOptionKeys } from '../../core/option-keys.js';
import type { TokenGuardOptions, TokenGuardResult, TokenTransport, TokenTransportOptions } from '../../http/tokens.js';
import { asTokenTransport } from '../../http/tokens.js';
import { requestView, sessionOf, setHeaders, setToken } from './platform.js';

/** Options of {@link SessionGuard}. */
export interface SessionGuardOptions {
  /**
   * Also require the last authentication to be at most this old (`'5m'`):
   * 401 `reauth-required` when it is older, for sensitive routes.
   * @default none (any signed-in user)
   */
  fresh?: Duration;
}

/**
 * Lets a route run only for a signed-in user: it loads the request's
 * session and answers 401 `unauthenticated` without a user (401
 * `reauth-required` when `fresh` is set and the sign-in is older), as
 * `session.requireUser()` / `requireFresh()` do. Use the class for any
 * signed-in user, an instance for freshness.
 *
 * @throws {ConfigError} at construction, for an unknown option or a bad duration.
 * @example
 * ```ts
 * @Controller('account')
 * @UseGuards(SessionGuard)
 * export class AccountController {
 *   @Get()
 *   show(@Session() session: RequestSession) {
 *     return { user: session.userId };
 *   }
 *
 *   @Post('password')
 *   @UseGuards(new SessionGuard({ fresh: '5m' }))
 *   changePassword() {}
 * }
 * ```
 */
export class SessionGuard implements CanActivate {
  readonly #fresh: Duration | null;

  constructor(options: SessionGuardOptions = {}) {
    checkOptionKeys(options, 'SessionGuard', ['fresh']);
    if (options.fresh !== undefined) durationOption('fresh', options.fresh);
    this.#fresh = options.fresh ?? null;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const session = await sessionOf(context.switchToHttp().getRequest<object>()).load();
    if (this.#fresh === null) session.requireUser();
    else session.requireFresh(this.#fresh);
    return true;
  }
}

Injectable()(SessionGuard);

/** Token mode's guard: what `tokenGuard()` returns. */
class TokenGuard implements CanActivate {
  readonly #guard: (request: ReturnType<typeof requestView>) => Promise<TokenGuardResult>;

  constructor(guard: (request: ReturnType<typeof requestView>) => Promise<TokenGuardResult>) {
    this.#guard = guard;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<object>();
    const r = await this.#guard(requestView(req));
    // Answered by LatchkeyExceptionFilter, with RFC 6750's WWW-Authenticate.
    if (!r.ok) throw r.error;
    setToken(req, r.claims);
    setHeaders(context.switchToHttp().getResponse<object>(), r.headers);
    return true;
  }
}

/**
 * Token mode: a guard that verifies the access token (`Authorization:
 * Bearer`, or the access cookie with `carrier: 'cookie'`) and leaves its
 * claims for `@Token()` (and on `req.token`), or answers 401/403 with RFC
 * 6750 `WWW-Authenticate`. Needs no `LatchkeyModule` session, only its
 * exception filter (registered by the module, or yourself).
 *
 * @throws {ConfigError} for a bad configuration.
 * @example
 * ```ts
 * const transport = createTokenTransport({ tokens });
 *
 * @Controller('api')
 * export class ApiController {
 *   @Get('me')
 *   @UseGuards(tokenGuard(transport))
 *   me(@Token() token: AccessTokenClaims) {
 *     return { user: token.sub };
 *   }
 * }
 * ```
 */
export function tokenGuard(transport: TokenTransport | TokenTransportOptions, options?: TokenGuardOptions): CanActivate {
  return new TokenGuard(asTokenTransport(transport).guard(options));
}
