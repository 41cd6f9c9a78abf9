/**
 * Runs a helper script of a benchmark in its own Node process (a fresh heap,
 * chosen V8 flags) and reads back the JSON it prints as its last line.
 */
import { execFile } from 'node:child_process';
import { execPath } from 'node:process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * @param {string} script path of the script
 * @param {string[]} [args] its arguments
 * @param {string[]} [nodeFlags] e.g. ['--expose-gc']
 * @returns {Promise<any>} the parsed last line of its stdout
 */
export async function runNodeJson(script, args = [], nodeFlags = []) {
  const { stdout } = await execFileAsync(execPath, [...nodeFlags, script, ...args], { maxBuffer: 16 * 1024 * 1024 });
  const last = stdout.trimEnd().split('\n').at(-1);
  if (last === undefined || last === '') throw new Error(`${script} printed no result`);
  return JSON.parse(last);
}
