#!/usr/bin/env node
/**
 * The `latchkey` executable (`npx latchkey`, `bin` of package.json): runs
 * the command line and exits with its code. Exit codes: 0 success, 1 nothing
 * to act on, 2 usage or configuration error, 3 store unreachable, 70 internal
 * error (see `exit.ts`).
 *
 * @module
 */
import { argv, cwd, env, exit, stderr, stdout } from 'node:process';
import { report, run } from './run.js';

const args = argv.slice(2);
const io = { stdout, stderr, env, cwd: cwd() };

// An error no call awaited (a driver's socket, say) still ends in one line and code 70, not a stack trace.
const crash = (err: unknown): void => exit(report(err, args, io));
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

const code = await run(args, io);
// Exit once the output is written: a store's lingering socket or timer must not keep a finished command alive.
stdout.write('', () => stderr.write('', () => exit(code)));
