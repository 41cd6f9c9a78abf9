/**
 * What records of schema version 1 hid behind reserved user ids and data
 * keys, before records knew their kind and stores had a key-value facet:
 * the migrations of every store (SQLite, PostgreSQL, Redis) turn them into
 * what they are. Written by latchkey 0.1 and its service:
 *
 * | record of version 1 | becomes |
 * |---|---|
 * | data key `latchkey:family: true` (a token family of `latchkey serve`) | kind `'refresh'`, the key removed |
 * | user `latchkey:admin` (the dashboard's admin) | kind `'admin'`, user `admin` |
 * | user `latchkey:demo:<name>` (a demo user) | kind `'demo'`, user `<name>` |
 * | user `latchkey:apikeys`, a 24-hex handle (an API key) | key-value `apikeys` / `<id>`: `{ name, createdAt, secretHash }` |
 * | an empty secret hash (sealed mode's revocation epochs and spilled data) | key-value `sealed` / `<handle>`: the data as JSON |
 * | anything else | kind `'session'` |
 *
 * @module
 * @internal
 */

/** The data key that marked a token family of the service. */
export const LEGACY_FAMILY_KEY = 'latchkey:family';
/** The user id of the dashboard's admin. */
export const LEGACY_ADMIN_USER = 'latchkey:admin';
/** The prefix of the demo's user ids. */
export const LEGACY_DEMO_PREFIX = 'latchkey:demo:';
/** The user id whose records were API keys. */
export const LEGACY_API_KEY_USER = 'latchkey:apikeys';

/** The kinds and names the records above become. */
export const MIGRATED = {
  refreshKind: 'refresh',
  adminKind: 'admin',
  adminUser: 'admin',
  demoKind: 'demo',
  apiKeyNamespace: 'apikeys',
  sealedNamespace: 'sealed',
} as const;

/** Whether a handle is an API key's id (24 hex characters; a session handle has 22 base64url). */
export const API_KEY_ID = /^[0-9a-f]{24}$/;
