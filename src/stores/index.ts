/**
 * `latchkey/stores`: a store from its URL, for applications that read their
 * store from configuration. `openStore('sqlite:./data/sessions.db')`,
 * `'memory:'`, `'redis://…'`, `'redis-cluster://h1:p1,h2:p2'`,
 * `'redis-sentinel://s1:26379,s2:26379/<name>'`, `'postgres://…'`; each store and its driver is imported only when a URL of
 * its kind is opened, so importing this entry point loads no driver. The
 * stores themselves are `latchkey/stores/memory`, `/sqlite`, `/redis` and
 * `/postgres`.
 *
 * @example
 * ```ts
 * import { openStore, redactStoreUrl } from 'latchkey/stores';
 *
 * const url = process.env.SESSION_STORE ?? 'sqlite:./data/sessions.db';
 * const store = await openStore(url);
 * console.log(`sessions in ${redactStoreUrl(url)}`);
 * ```
 *
 * @module
 */
export { openStore } from './open.js';
export type { OpenStoreOptions } from './open.js';
export { parseStoreUrl, redactStoreUrl } from './url.js';
export type { StoreLocation } from './url.js';
