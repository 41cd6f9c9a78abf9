/**
 * The checks every HTTP fuzz case ends with: no 5xx and no hang, no
 * credential echoed in an error answer or adopted into a cookie, no secret
 * in what operators read; and the oracle for "accepted": a request signs in
 * as a user only if it carried that user's credential, as the carrier's own
 * decoding reads it.
 */
import { expect } from 'vitest';
import type { Answer } from './fuzz.js';
import type { Leaks } from './leaks.js';

/** The session cookie values a response sets (`name=value` before the first `;`). */
export function setCookieValues(answer: Answer, name: string): string[] {
  const out: string[] = [];
  for (const line of [answer.headers['set-cookie'] ?? []].flat()) {
    if (line.startsWith(`${name}=`)) out.push(line.slice(name.length + 1, line.indexOf(';') === -1 ? undefined : line.indexOf(';')));
  }
  return out;
}

/**
 * What every answer must be, whatever the request: below 500, and neither
 * its body (when it is a refusal) nor the new lines of `leaks` hold a
 * presented credential or a known secret, and no cookie it sets adopts a
 * presented value.
 */
export function checkAnswer(
  what: string,
  answer: Answer,
  o: { presented: readonly string[]; secrets: readonly string[]; leaks: Leaks; mark: number; cookies?: readonly string[] },
): void {
  expect(answer.status, `${what}: ${answer.text.slice(0, 300)}`).toBeLessThan(500);
  const presented = o.presented.filter((p) => p.length >= 16);
  if (answer.status >= 400) {
    for (const p of [...presented, ...o.secrets]) expect(answer.text.includes(p), `${what}: a refusal echoes a credential`).toBe(false);
  }
  for (const name of o.cookies ?? []) {
    for (const v of setCookieValues(answer, name)) expect(presented.includes(v), `${what}: cookie ${name} adopts the presented value`).toBe(false);
  }
  expect(o.leaks.holding([...presented, ...o.secrets], o.mark), `${what}: a log line or onError holds a credential`).toEqual([]);
}

/** The `name=value` pairs of a Cookie header as RFC 6265 splits them (names trimmed, values raw). */
export function cookiePairs(header: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    out.push([part.slice(0, eq).replace(/^[ \t]+|[ \t]+$/g, ''), part.slice(eq + 1)]);
  }
  return out;
}
