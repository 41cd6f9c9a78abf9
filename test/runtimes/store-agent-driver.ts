/**
 * Drives test/runtimes/store-agent.js, a latchkey engine on a shared store
 * run on Bun or Deno, over its stdin and stdout (one JSON line each way, one
 * command at a time), for test/runtimes/stores.test.ts.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { root } from './harness.js';

/** A session as the agent answers it. */
export interface AgentSession {
  readonly handle: string;
  readonly userId: string | null;
  readonly version: number;
  readonly data: { readonly cart?: readonly string[] };
}
/** The agent's `create`. */
export interface AgentCreated {
  readonly token: string;
  readonly session: AgentSession;
}
/** The agent's `validate` and `rotate`. */
export type AgentOutcome = { readonly ok: true; readonly token?: string; readonly session: AgentSession } | { readonly ok: false; readonly reason: string; readonly session?: undefined };

/** An engine on the runtime over a store (test/runtimes/store-agent.js), one command at a time. */
export interface Agent {
  call<T = unknown>(op: string, ...args: unknown[]): Promise<T>;
  output(): string;
  /** Closes its stdin and resolves its exit code once it ended by itself (a kill after 10 s: then `'killed'`). */
  end(): Promise<number | string>;
}

export async function startAgent(runtime: 'bun' | 'deno', bin: string, url: string): Promise<Agent> {
  const file = join('test', 'runtimes', 'store-agent.js');
  const args = runtime === 'bun' ? [file] : ['run', '--allow-net=127.0.0.1', '--allow-env', file];
  const child = spawn(bin, args, { cwd: root, env: { ...process.env, LATCHKEY_STORE: url, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', DO_NOT_TRACK: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let pending = '';
  const waiting: Array<(message: { ok?: boolean; result?: unknown; error?: string; ready?: boolean }) => void> = [];
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    pending += d.toString();
    for (let at = pending.indexOf('\n'); at >= 0; at = pending.indexOf('\n')) {
      const line = pending.slice(0, at);
      pending = pending.slice(at + 1);
      waiting.shift()?.(JSON.parse(line));
    }
  });
  let code: number | string | null = null;
  const exited = new Promise<void>((resolve) => child.once('exit', (c, signal) => ((code = c ?? signal ?? 'exit'), resolve())));
  const next = (what: string) =>
    new Promise<{ ok?: boolean; result?: unknown; error?: string; ready?: boolean }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${runtime}: no answer to ${what} within 15 s\n${out}`)), 15_000);
      waiting.push((m) => (clearTimeout(timer), resolve(m)));
      void exited.then(() => reject(new Error(`${runtime} exited (${code}) before answering ${what}:\n${out}`)));
    });
  await next('start');
  return {
    async call(op, ...args) {
      const answer = next(op);
      child.stdin.write(`${JSON.stringify({ op, args })}\n`);
      const m = await answer;
      if (m.ok !== true) throw new Error(`${runtime}: ${op} failed: ${m.error}`);
      return m.result as never;
    },
    output: () => out,
    async end() {
      child.stdin.end();
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
      return child.signalCode === 'SIGKILL' ? 'killed' : (code as number | string);
    },
  };
}

/** Waits until `check` holds (the event it waits for is another process's), at most 5 s; then the last value it saw. */
export async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean): Promise<T> {
  const until = Date.now() + 5000;
  for (;;) {
    const value = await read();
    if (check(value) || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
}
