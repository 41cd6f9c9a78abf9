/**
 * Where a secret could leak while fuzzing: what latchkey hands to `onError`,
 * what anything writes to the console, and the service's JSON log lines.
 * Everything is kept as text and searched for the secrets a test knows of
 * (the valid credentials) and for the credentials it presented.
 */
import { vi } from 'vitest';

/** Text of an error with its stack, cause chain and own fields, as an operator's log would show it. */
export function errorText(err: unknown, depth = 0): string {
  if (depth > 5) return '';
  if (!(err instanceof Error)) {
    try {
      return typeof err === 'string' ? err : JSON.stringify(err) ?? String(err);
    } catch {
      return String(err);
    }
  }
  const own: Record<string, unknown> = {};
  for (const key of Object.keys(err)) own[key] = (err as unknown as Record<string, unknown>)[key];
  let fields = '';
  try {
    fields = JSON.stringify(own);
  } catch {
    fields = '';
  }
  return `${err.name}: ${err.message}\n${err.stack ?? ''}\n${fields}\n${err.cause !== undefined ? errorText(err.cause, depth + 1) : ''}`;
}

/** Every line an operator could read, from every source. */
export class Leaks {
  readonly lines: string[] = [];
  #restore: Array<() => void> = [];

  /** For `onError` options. */
  readonly onError = (err: unknown): void => {
    this.lines.push(errorText(err));
  };

  /** A pino destination. */
  readonly stream = {
    write: (line: string): void => {
      this.lines.push(line);
    },
  };

  /** Captures (and silences) console output until {@link restore}. */
  captureConsole(): void {
    for (const level of ['error', 'warn', 'log', 'info', 'debug'] as const) {
      const spy = vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        this.lines.push(args.map((a) => errorText(a)).join(' '));
      });
      this.#restore.push(() => spy.mockRestore());
    }
  }

  restore(): void {
    for (const r of this.#restore.splice(0)) r();
  }

  /** A position to look for new lines from. */
  mark(): number {
    return this.lines.length;
  }

  /** The lines since `from` holding any of `secrets` (values shorter than 16 characters are too common to mean anything). */
  holding(secrets: Iterable<string>, from = 0): string[] {
    const wanted = [...secrets].filter((s) => s.length >= 16);
    return this.lines.slice(from).filter((line) => wanted.some((s) => line.includes(s)));
  }
}

/**
 * What to look for of a `handle.secret` token, a JWT or a sealed blob: the
 * whole, and its last dot-separated part (a token's secret, a JWT's
 * signature) on its own. A token's handle and a JWT's header and claims are
 * not secrets.
 */
export function secretParts(credential: string): string[] {
  const parts = credential.split('.');
  const last = parts[parts.length - 1] as string;
  return parts.length > 1 && last.length >= 16 ? [credential, last] : [credential];
}
