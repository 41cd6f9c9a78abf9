/**
 * Flags of the `latchkey` verbs: parsing with `node:util` `parseArgs`
 * (unknown flags are usage errors), and the options every verb shares, the
 * store URL and the data folder, resolved by the service's own configuration
 * loader so that the CLI and `latchkey serve` agree on defaults.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isHandle } from '../core/token.js';
import { CONFIG_OPTIONS, envName, flagName, loadConfig, type ServiceConfig } from '../server/config.js';
import { usageError } from './exit.js';
import type { CliIO } from './io.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** What {@link parseVerb} returns: flag values by flag name, and positionals. */
export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

/** `--store` and `--config`, as every store verb takes them. */
export const STORE_OPTIONS = {
  store: { type: 'string' },
  config: { type: 'string' },
} as const satisfies Options;

/** The service's default of a configuration option. */
export function defaultOf(name: keyof ServiceConfig): unknown {
  return CONFIG_OPTIONS.find((o) => o.name === name)?.default;
}

/** Help lines of {@link STORE_OPTIONS}. */
export const STORE_HELP = `  --store <url>      the store of the service: sqlite:<path>, redis://…,
                     rediss://…, redis-cluster://h1:p1,h2:p2,
                     redis-sentinel://s1:p1,s2:p2/<name>, postgres://…
                     (not memory:, which lives inside one process)
                     (default: $LATCHKEY_STORE, else the config file's, else
                     ${String(defaultOf('store'))})
  --config <file>    a JSON config file of latchkey serve to read "store" from
                     (default: $LATCHKEY_CONFIG)`;

/** `--help`/`-h`. */
export const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const satisfies Options;

/**
 * Parses a verb's flags strictly. Unknown flags, missing values and
 * unexpected arguments throw a usage error (exit code 2) carrying `usage`.
 */
export function parseVerb(argv: readonly string[], options: Options, usage: string, maxPositionals = 0): ParsedArgs {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: dashedHandlesAsValues(argv, options), options: { ...HELP_OPTION, ...options }, strict: true, allowPositionals: true });
  } catch (err) {
    throw usageError(parseMessage(err), usage);
  }
  if (parsed.positionals.length > maxPositionals && parsed.values.help !== true) {
    const extra = parsed.positionals.slice(maxPositionals);
    throw usageError(`unexpected argument${extra.length > 1 ? 's' : ''} ${extra.map((a) => JSON.stringify(a)).join(' ')}`, usage);
  }
  return { values: parsed.values as ParsedArgs['values'], positionals: parsed.positionals };
}

/**
 * One session handle in 64 begins with '-' (handles are random base64url),
 * and parseArgs takes such a word for an option: `revoke -Xy…` would be an
 * unknown option and `--except -Xy…` a missing value. A word of a handle's
 * exact shape is never one of our flags, so it becomes the value of the
 * string option just before it (`--except=-Xy…`) or a positional (after `--`).
 */
function dashedHandlesAsValues(argv: readonly string[], options: Options): string[] {
  const args: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || !isHandle(arg)) {
      args.push(arg);
      continue;
    }
    const before = args.at(-1);
    const option = before !== undefined && before.startsWith('--') && !before.includes('=') ? options[before.slice(2)] : undefined;
    if (option?.type === 'string') args[args.length - 1] = `${before}=${arg}`;
    else positionals.push(arg);
  }
  return positionals.length === 0 ? args : [...args, '--', ...positionals];
}

/** parseArgs' messages, without their advice to use `--`. */
function parseMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const unknown = /^Unknown option '([^']+)'/.exec(text);
  if (unknown !== null) return `unknown option ${unknown[1]}`;
  const missing = /^Option '(-\w, )?(--[\w-]+) <value>' argument missing/.exec(text);
  if (missing !== null) return `option ${missing[2]} needs a value`;
  const boolWithValue = /^Option '(-\w, )?(--[\w-]+)' does not take an argument/.exec(text);
  if (boolWithValue !== null) return `option ${boolWithValue[2]} takes no value`;
  return text.replace(/\. To specify .*$/s, '').replace(/\.$/, '');
}

/** A string flag's value, or `undefined`. */
export function stringFlag(values: ParsedArgs['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * The store URL (or data folder) a verb works on: `--store` (`--data-dir`),
 * else `LATCHKEY_STORE` (`LATCHKEY_DATA_DIR`), else the config file
 * (`--config` or `LATCHKEY_CONFIG`), else the service's default
 * (`sqlite:./.latchkey/latchkey.db`, `./.latchkey`), checked by the
 * service's own loader. Only that variable and `LATCHKEY_CONFIG` are read, so
 * that a variable meant for `latchkey serve` alone (say `LATCHKEY_PORT`)
 * cannot fail another verb. The data folder comes back absolute.
 *
 * @throws {ConfigError} for a bad store URL or config file (exit code 2)
 */
export function resolveOption(values: ParsedArgs['values'], io: CliIO, name: 'store' | 'dataDir'): string {
  const env: Record<string, string | undefined> = { LATCHKEY_CONFIG: io.env.LATCHKEY_CONFIG, [envName(name)]: io.env[envName(name)] };
  const config = loadConfig({ flags: { [name]: stringFlag(values, flagName(name)), config: stringFlag(values, 'config') }, env, cwd: io.cwd });
  return config[name];
}

/** A whole number flag within bounds, or its default. */
export function intFlag(values: ParsedArgs['values'], name: string, fallback: number, min: number, max: number, usage: string): number {
  const v = stringFlag(values, name);
  if (v === undefined) return fallback;
  const n = /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw usageError(`--${name} ${JSON.stringify(v)}: must be a whole number from ${min} to ${max.toLocaleString('en-US')}`, usage);
  }
  return n;
}
