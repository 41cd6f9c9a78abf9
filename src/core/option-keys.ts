/**
 * Refusing option keys a factory does not know: a misspelt `idleTimout` or
 * `graceWindw` would otherwise fall back to its default without a word. Every
 * factory checks its options (and its nested option objects) here, once, at
 * construction.
 *
 * A pure leaf (it imports only the errors), so that every floor may use it,
 * the runtime-neutral client included.
 *
 * @module
 * @internal
 */
import { ConfigError, LatchkeyTypeError } from './errors.js';

/** How {@link checkOptionKeys} words its refusals. */
export interface OptionKeysWording {
  /** Prefix of each key in messages, for a nested object: `'guessing.'`. @default '' */
  readonly prefix?: string;
  /** Keys that were options once, each with what to do instead: refused with that message. */
  readonly retired?: Readonly<Record<string, string>>;
}

/**
 * Throws a `ConfigError` for the first key of `options` that is not in
 * `known` (a retired one with its own message); a `LatchkeyTypeError` when
 * `options` is not an object at all. `where` names the factory,
 * `createTokens()`; a nested option object is named by `wording.prefix`.
 *
 * @example
 * ```ts
 * checkOptionKeys(options, 'createKeySet()', ['algorithm', 'storage', 'rotateEvery', 'overlap', 'reloadInterval', 'clock']);
 * ```
 */
export function checkOptionKeys(options: unknown, where: string, known: readonly string[], wording: OptionKeysWording = {}): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new LatchkeyTypeError(`${where} takes an options object`);
  }
  const prefix = wording.prefix ?? '';
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const instead = wording.retired !== undefined && Object.hasOwn(wording.retired, key) ? wording.retired[key] : undefined;
    if (instead !== undefined) throw new ConfigError(`${prefix}${key} is no longer an option of ${where}: ${instead}`);
    const shown = `${prefix}${JSON.stringify(key).slice(1, -1).slice(0, 64)}`;
    // A nested object is named by its prefix, which every factory that takes it shares.
    throw new ConfigError(
      prefix === ''
        ? `${shown} is not an option of ${where}; known options: ${known.join(', ')}`
        : `${shown} is not an option; known options of ${prefix.slice(0, -1)}: ${known.join(', ')}`,
    );
  }
}
