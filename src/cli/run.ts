/**
 * The `latchkey` command: dispatches a verb, turns every failure into one
 * line on standard error (`latchkey: <message>`) and an exit code (see
 * `exit.ts`), and never prints a stack trace (unless `LATCHKEY_DEBUG=1`), a
 * secret or a store password: everything it writes goes through
 * `redact.ts`, which leaves only the handle of a token, the id of an API key
 * (but the one `apikeys create` prints on purpose) and nothing of a JWT.
 * `run()` is the whole command without the process around it, for tests and
 * embedding.
 *
 * @module
 */
import { apikeysCommand } from './apikeys.js';
import { defaultOf } from './args.js';
import { benchCommand } from './bench.js';
import { verbList, type Command } from './command.js';
import { CliError, classify, EXIT, usageError } from './exit.js';
import { println, type CliIO } from './io.js';
import { keysCommand } from './keys.js';
import { migrateCommand } from './migrate.js';
import { redactingOutput, redactSecrets } from './redact.js';
import { serveCommand } from './serve.js';
import { sessionsCommand } from './sessions.js';
import { packageVersion } from './version.js';

export type { CliIO } from './io.js';
export { EXIT } from './exit.js';

const COMMANDS: readonly Command[] = [serveCommand, sessionsCommand, apikeysCommand, keysCommand, migrateCommand, benchCommand];

const HELP = `Usage: latchkey <command> [options]

Session management for TypeScript: the session service, and the tools to
inspect and revoke sessions, manage API keys, rotate keys and benchmark.

Commands:
${verbList(COMMANDS)}

Run 'latchkey <command> --help' for a command's options.

Options:
  -h, --help       show this help
  -v, --version    print latchkey's version

serve, sessions, apikeys and migrate work on the store named by --store <url>,
else LATCHKEY_STORE, else "store" of the config file (--config or
LATCHKEY_CONFIG), else ${String(defaultOf('store'))}.
Store URLs: sqlite:<path>, memory:, redis://host:port, rediss://…,
redis-cluster://h1:p1,h2:p2, redis-sentinel://s1:p1,s2:p2/<name>,
postgres://…. memory: lives inside one process:
serve and bench take it, the one-shot verbs refuse it. (bench measures
memory: unless given --store.)

Exit codes:
   0  success
   1  nothing to act on (e.g. revoking an unknown session handle or API key id)
   2  usage or configuration error (unknown command or option, bad value, bad
      store URL, invalid configuration, missing driver package)
   3  the store could not be opened or reached
  70  unexpected internal error (LATCHKEY_DEBUG=1 prints the stack trace)

Examples:
  npx latchkey serve                        # http://127.0.0.1:4000 on SQLite
  latchkey apikeys create --name billing | tail -n 1
  latchkey sessions list --user alice
  latchkey sessions revoke --user alice     # log out everywhere
  latchkey migrate --store postgres://latchkey@db/app`;

/**
 * Runs the command line `argv` (the arguments after `latchkey`) and resolves
 * its exit code. Never throws, never exits the process.
 *
 * @example
 * ```ts
 * const code = await run(['apikeys', 'list', '--json'], { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
 * ```
 */
export async function run(argv: readonly string[], given: CliIO): Promise<number> {
  // A credential pasted in the wrong place, or echoed by a parser or a driver, is redacted on its way out.
  const io: CliIO = { ...given, stdout: redactingOutput(given.stdout, { apiKeys: false }), stderr: redactingOutput(given.stderr) };
  try {
    const [verb, ...rest] = argv;
    if (verb === undefined) throw usageError('which command?', HELP);
    if (verb === '--help' || verb === '-h' || verb === 'help') {
      const topic = verb === 'help' && rest[0] !== undefined ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
      if (topic !== undefined) return await topic.run([...rest.slice(1), '--help'], io);
      println(io.stdout, HELP);
      return EXIT.ok;
    }
    if (verb === '--version' || verb === '-v' || verb === 'version') {
      println(io.stdout, packageVersion());
      return EXIT.ok;
    }
    const command = COMMANDS.find((c) => c.name === verb);
    if (command === undefined) throw usageError(verb.startsWith('-') ? `unknown option ${verb}` : `unknown command '${verb}'`, HELP);
    return await command.run(rest, io);
  } catch (err) {
    return report(err, argv, io);
  }
}

/**
 * Prints an error as `latchkey: <message>` (and, for a usage error, the usage
 * lines of the verb), with every secret found in the arguments or the
 * environment blanked out. Resolves the exit code.
 */
export function report(err: unknown, argv: readonly string[], io: Pick<CliIO, 'stderr' | 'env'>): number {
  const { code, message } = classify(err);
  const secrets = secretsOf(argv, io.env);
  const scrub = (text: string): string => redactSecrets(secrets.reduce((t, s) => t.split(s).join('***'), text));
  const lines = [`latchkey: ${scrub(message)}`];
  if (err instanceof CliError && err.usage !== undefined) {
    const usage = err.usage.split('\n\n')[0] as string;
    const verb = /^Usage: (latchkey(?: [a-z]+)*)/.exec(usage)?.[1] ?? 'latchkey';
    lines.push('', usage, `Run '${verb} --help' for more.`);
  }
  if (io.env.LATCHKEY_DEBUG === '1') {
    for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
      lines.push(scrub(`${depth === 0 ? '' : 'caused by: '}${e.stack ?? e.message}`));
    }
  }
  println(io.stderr, ...lines);
  return code;
}

/** The secrets of a command line and environment: store passwords, admin password, refresh secret. */
function secretsOf(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): string[] {
  const found: string[] = [];
  const add = (value: string | undefined, isStore: boolean): void => {
    if (value === undefined || value === '') return;
    if (!isStore) {
      found.push(value);
      return;
    }
    const password = /^[a-z][a-z0-9+-]*:\/\/[^:@/]*:([^@/]+)@/i.exec(value.trim())?.[1];
    if (password === undefined) return;
    found.push(password);
    try {
      found.push(decodeURIComponent(password));
    } catch {
      // not %-encoded
    }
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const m = /^--(store|admin-password|refresh-secret)(?:=(.*))?$/s.exec(arg);
    if (m === null) continue;
    add(m[2] ?? argv[i + 1], m[1] === 'store');
  }
  add(env.LATCHKEY_STORE, true);
  add(env.LATCHKEY_ADMIN_PASSWORD, false);
  add(env.LATCHKEY_REFRESH_SECRET, false);
  // Longest first, so that a secret containing another is blanked whole; tiny values would blank ordinary words.
  return [...new Set(found)].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
}
