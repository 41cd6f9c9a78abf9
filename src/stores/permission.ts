/**
 * A runtime's refusal of a permission a store's driver needs, told as what
 * to change. Deno runs without network or environment access unless its
 * command line grants them (`--allow-net`, `--allow-env`); the drivers
 * (`pg`, `ioredis`) meet the refusal deep inside a connection attempt, and it
 * would otherwise reach the application as a store outage (a 503 that no
 * retry mends) or as the driver's own error. Deno 2 names the error
 * `NotCapable`, Deno 1 `PermissionDenied`; both say
 * `Requires <kind> access to "<target>", run again with the --allow-<kind> flag`.
 *
 * @module
 * @internal
 */
import { ConfigError } from '../core/errors.js';

const REFUSALS: ReadonlySet<string> = new Set(['NotCapable', 'PermissionDenied']);
const REQUIRES = /Requires ([a-z]+) access(?: to "([^"]{1,200})")?/;

/**
 * `err`, or one of its causes, as a `ConfigError` naming the permission
 * `store` (e.g. `'PostgreSQL'`) needs and the flag that grants it; `null`
 * when it is no runtime's permission refusal.
 *
 * @example
 * ```ts
 * throw permissionRefused(err, 'PostgreSQL') ?? err;
 * ```
 */
export function permissionRefused(err: unknown, store: string): ConfigError | null {
  const seen: unknown[] = [];
  for (let e = err; e !== null && typeof e === 'object' && seen.length < 8 && !seen.includes(e); e = (e as { cause?: unknown }).cause) {
    seen.push(e);
    const name = (e as { name?: unknown }).name;
    const message = (e as { message?: unknown }).message;
    if (typeof name !== 'string' || !REFUSALS.has(name) || typeof message !== 'string') continue;
    const m = REQUIRES.exec(message);
    const kind = m?.[1] ?? null;
    const target = m?.[2];
    // The network is granted per host and port (the store's own, safe to name); the environment as a whole, since the
    // driver reads several variables (pg: PGHOST, PGUSER, PGPASSWORD, ...; only their names are ever shown).
    const flag = kind === null ? 'the permission it names' : kind === 'net' && target !== undefined ? `--allow-net=${target}` : `--allow-${kind}`;
    const what = kind === null ? 'a permission' : `${kind} access${target === undefined ? '' : ` to "${target}"`}`;
    return new ConfigError(`the ${store} store needs a permission the runtime refused: Deno denied ${what}; run deno with ${flag}`, { cause: e });
  }
  return null;
}
