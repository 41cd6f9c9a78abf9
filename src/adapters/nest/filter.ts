/**
 * The exception filter answering latchkey's errors in a Nest application:
 * registered globally by `LatchkeyModule`, exported for applications that
 * register their filters themselves.
 *
 * @module
 * @internal
 */
import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { SessionLimitError, StoreUnavailableError } from '../../core/errors.js';
import { HttpError, toHttpError } from '../../http/errors.js';
import { sendError } from './platform.js';

/**
 * Answers latchkey's errors (`HttpError`: a guard's 401, 403 `csrf-*`,
 * 429; a store outage as 503 `store-unavailable`; a sign-in over the
 * session limit as 409 `session-limit`) as JSON `{ error, message }` with
 * their status and headers (`WWW-Authenticate`, `Retry-After`), exactly as
 * the Express and Fastify adapters do. Nest's own exceptions and yours are
 * not its business: it catches latchkey's classes only.
 *
 * @example
 * ```ts
 * // LatchkeyModule registers it; without the module (or in a hybrid app):
 * app.useGlobalFilters(new LatchkeyExceptionFilter());
 * ```
 */
export class LatchkeyExceptionFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const known = toHttpError(exception);
    // Only HTTP requests carry latchkey's sessions; the classes caught are all known to toHttpError.
    if (known === null || host.getType() !== 'http') return;
    const http = host.switchToHttp();
    sendError(http.getRequest<object>(), http.getResponse<object>(), known);
  }
}

Catch(HttpError, StoreUnavailableError, SessionLimitError)(LatchkeyExceptionFilter);
