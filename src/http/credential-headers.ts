/**
 * The response headers that go with a credential: `Cache-Control: no-store`
 * on every response that sets or clears a session, CSRF, access or refresh
 * cookie or hands out a token (so that no shared or browser cache keeps
 * it), and `Clear-Site-Data` on sign-out, asking the browser to forget
 * what the signed-in pages left behind. One option, {@link ClearSiteDataOptions},
 * shapes the latter in cookie, sealed and token mode alike.
 *
 * @module
 */
import { ConfigError } from '../core/errors.js';

/** One response header line: `[lower-case name, value]`. */
type Line = readonly [string, string];

/**
 * What a sign-out (`logout()`, `logoutEverywhere()`, token mode's logout
 * endpoint) asks the browser to clear with `Clear-Site-Data`. `"cache"` is
 * always sent: pages cached while signed in must not be shown after
 * sign-out. Browsers act on it over HTTPS only.
 *
 * @example
 * ```ts
 * latchkey({ sessions, clearSiteData: { storage: true } }); // Clear-Site-Data: "cache", "storage"
 * ```
 */
export interface ClearSiteDataOptions {
  /**
   * Also send `"storage"`: the origin's localStorage, sessionStorage,
   * IndexedDB, service workers… Turn it on when the application keeps
   * user data there.
   * @default false
   */
  storage?: boolean;
  /**
   * Also send `"cookies"`: every cookie of the whole site (the registrable
   * domain, subdomains included), not only latchkey's. An explicit opt-in
   * for sites where signing out should end everything.
   * @default false
   */
  cookies?: boolean;
}

/** @internal the header lines that keep a response out of every cache */
export const NO_STORE: readonly Line[] = [['cache-control', 'no-store']];

/**
 * @internal the `Clear-Site-Data` line of a sign-out, from options
 * validated once, at construction.
 */
export function clearSiteDataLine(o: ClearSiteDataOptions | undefined, label = 'clearSiteData'): Line {
  const opts = o ?? {};
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new ConfigError(`${label} must be an object { storage?, cookies? } ("cache" is always cleared on sign-out)`);
  }
  const types = ['"cache"'];
  for (const [key, value] of Object.entries(opts)) {
    if (key !== 'storage' && key !== 'cookies') {
      throw new ConfigError(`${label}.${key} is not an option; known options: storage, cookies ("cache" is always cleared on sign-out)`);
    }
    if (typeof value !== 'boolean') throw new ConfigError(`${label}.${key} must be a boolean`);
  }
  if (opts.storage === true) types.push('"storage"');
  // Last, so that the header reads in the order of how much it clears.
  if (opts.cookies === true) types.push('"cookies"');
  return ['clear-site-data', types.join(', ')];
}
