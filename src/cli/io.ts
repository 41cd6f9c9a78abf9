/**
 * What a `latchkey` verb talks to: its output streams, environment and
 * working folder. `main.ts` passes the process's; tests pass their own and
 * run verbs in-process.
 *
 * @module
 */

/** A stream the command writes text to. */
export interface TextOutput {
  write(chunk: string): unknown;
}

/** The surroundings of one run of the command. */
export interface CliIO {
  /** Results: tables, JSON, a created API key on the last line. */
  readonly stdout: TextOutput;
  /** Errors (`latchkey: <message>`), usage, progress. */
  readonly stderr: TextOutput;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Relative paths (SQLite files, the data folder, a config file) are resolved against it. */
  readonly cwd: string;
  /**
   * `latchkey serve` shuts down gracefully when this aborts, as on SIGINT or
   * SIGTERM (which it also listens to). For tests that serve in-process.
   */
  readonly signal?: AbortSignal;
}

/** Writes lines to a stream. */
export function println(out: TextOutput, ...lines: string[]): void {
  out.write(lines.map((l) => `${l}\n`).join(''));
}
