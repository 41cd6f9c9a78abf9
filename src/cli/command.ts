/**
 * The shape of a `latchkey` verb, and verb groups (`sessions list`,
 * `sessions revoke`...) that dispatch to their sub-verbs.
 *
 * @module
 */
import { EXIT, usageError } from './exit.js';
import { println, type CliIO } from './io.js';

/** One verb (`serve`) or sub-verb (`sessions list`). */
export interface Command {
  /** As typed: `serve`, `list`. */
  readonly name: string;
  /** One line for the verb list of the parent's help. */
  readonly summary: string;
  /** The whole `--help` text. */
  readonly help: string;
  /** Runs with the arguments after the verb; resolves the exit code. */
  run(argv: readonly string[], io: CliIO): Promise<number>;
}

/** Lines of a verb list: `  name   summary`. */
export function verbList(commands: readonly Command[], prefix = ''): string {
  const width = Math.max(...commands.map((c) => prefix.length + c.name.length));
  return commands.map((c) => `  ${(prefix + c.name).padEnd(width)}  ${c.summary}`).join('\n');
}

/**
 * A verb made of sub-verbs: `latchkey <name> <sub> [flags]`. `--help` (or
 * `help`) alone prints the group's help; a missing or unknown sub-verb is a
 * usage error.
 */
export function group(name: string, summary: string, intro: string, subcommands: readonly Command[]): Command {
  const help = `Usage: latchkey ${name} <command> [options]

${intro}

Commands:
${verbList(subcommands)}

Run 'latchkey ${name} <command> --help' for a command's options.`;
  return {
    name,
    summary,
    help,
    async run(argv, io) {
      const [first, ...rest] = argv;
      if (first === undefined) throw usageError(`'latchkey ${name}' needs a command: ${subcommands.map((c) => c.name).join(', ')}`, help);
      if (first === '--help' || first === '-h' || first === 'help') {
        const sub = first === 'help' ? subcommands.find((c) => c.name === rest[0]) : undefined;
        println(io.stdout, sub?.help ?? help);
        return EXIT.ok;
      }
      const sub = subcommands.find((c) => c.name === first);
      if (sub === undefined) {
        throw usageError(first.startsWith('-') ? `unknown option ${first}` : `unknown command 'latchkey ${name} ${first}'`, help);
      }
      return sub.run(rest, io);
    },
  };
}

/** Prints a help text on standard output; exit code 0. */
export function showHelp(io: CliIO, text: string): number {
  println(io.stdout, text);
  return EXIT.ok;
}
