/**
 * The built `latchkey` executable as a user runs it, for tests: one-shot
 * verbs to completion, and `latchkey serve` until it prints where it
 * listens, then stopped with SIGTERM. The environment is the test process's
 * without any `LATCHKEY_*`, `PORT` or `HOST` variable, plus what a test adds.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { bin } from './built.js';

/** A port free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** What a finished command left. */
export interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a user who set nothing for latchkey, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('LATCHKEY_') && k !== 'PORT' && k !== 'HOST') env[k] = v;
  return { ...env, ...extra };
}

/** Runs `latchkey <args>` in `cwd` to its end. */
export function latchkey(args: readonly string[], cwd: string, env: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A running `latchkey serve`. */
export interface Serving {
  /** `http://host:port`, as its first line says. */
  readonly base: string;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** SIGTERM, then waits for the exit; resolves the exit code. */
  stop(): Promise<number | null>;
  /** Sends `signal` (a crash: SIGKILL) and waits for the exit; resolves the signal that ended it. */
  kill(signal: NodeJS.Signals): Promise<NodeJS.Signals | null>;
  /** The process id. */
  readonly pid: number;
}

/**
 * Starts `latchkey serve <args>` in `cwd` and resolves once it prints that
 * it listens; rejects with its standard error if it exits first.
 */
export function serve(args: readonly string[], cwd: string, env: Record<string, string> = {}): Promise<Serving> {
  const child = spawn(process.execPath, [bin, 'serve', '--log-level', 'warn', ...args], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const kill = async (signal: NodeJS.Signals): Promise<NodeJS.Signals | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
    return child.signalCode;
  };
  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /latchkey is listening on (http:\/\/\S+)\n/.exec(stdout);
      if (m !== null && stdout.includes('Press Ctrl+C to stop.')) resolve({ base: m[1] as string, stdout: () => stdout, stderr: () => stderr, stop, kill, pid: child.pid as number });
    });
    void exited.then((code) => reject(new Error(`latchkey serve exited with ${code} before listening:\n${stderr}`)));
  });
}
