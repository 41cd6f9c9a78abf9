/**
 * Moving to latchkey without signing anyone out: migrators for the `migrate`
 * option of every adapter. A request that carries an old session cookie and
 * no latchkey session gets a latchkey session with the old session's user
 * and data, once: the old record is deleted, the old cookie cleared, and
 * concurrent requests with the same old cookie end with one session.
 *
 * - {@link expressSession}: express-session with any of its stores
 *   (connect-redis, connect-pg-simple, MemoryStore), and @fastify/session.
 * - `ironSession` from `latchkey/migrate/iron-session` (it needs the
 *   iron-session package).
 * - {@link createMigrator}: any other source (a better-auth session table,
 *   one of your own).
 *
 * See docs/migrating.md.
 *
 * @module
 */
export { createMigrator } from './handover.js';
export type { MappedSession, MigrationSource, MigratorOptions, OldCookie } from './handover.js';
export { expressSession } from './express-session.js';
export type { ExpressSessionData, ExpressSessionOptions, ExpressSessionStore } from './express-session.js';
export type { MigrationClaim, MigrationContext, SessionMigrator } from '../http/migration.js';
