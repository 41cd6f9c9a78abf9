/**
 * What every fuzz test shares: how many cases to run (`LATCHKEY_FUZZ_RUNS`,
 * set by `npm run fuzz`), a tally of the cases each parser received
 * (written to `LATCHKEY_FUZZ_REPORT` for the run's summary), a raw HTTP
 * client that sends any header value Node's HTTP stack lets through, and
 * the arbitraries that derive near-misses from a valid credential.
 */
import { appendFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import fc from 'fast-check';

/**
 * Cases for one parser: `LATCHKEY_FUZZ_RUNS` when set (`npm run fuzz`),
 * otherwise `quick`, sized so that the fuzz files of `npm test` together
 * stay under a minute.
 */
export function fuzzRuns(quick: number): number {
  const env = Number(process.env.LATCHKEY_FUZZ_RUNS);
  return Number.isSafeInteger(env) && env > 0 ? env : quick;
}

/** A test's timeout for `runs` cases at about `msPerCase` each, never under the suite's 20 s. */
export function fuzzTimeout(runs: number, msPerCase: number): number {
  return Math.max(20_000, Math.ceil(runs * msPerCase * 3));
}

/** The seed of this run (`LATCHKEY_FUZZ_SEED` replays one), printed on failure by fast-check. */
export const seed: number | undefined = process.env.LATCHKEY_FUZZ_SEED !== undefined ? Number(process.env.LATCHKEY_FUZZ_SEED) : undefined;

/** fast-check parameters of a run of `numRuns` cases. */
export function params(numRuns: number): fc.Parameters<unknown> {
  return { numRuns, ...(seed !== undefined ? { seed } : {}), endOnFailure: true };
}

const counts = new Map<string, number>();

/** Counts one case run against `parser`. */
export function tally(parser: string): void {
  counts.set(parser, (counts.get(parser) ?? 0) + 1);
}

/** Appends this file's counts to the run's report (`npm run fuzz`), as JSON lines. */
export function writeTally(file: string): void {
  const out = process.env.LATCHKEY_FUZZ_REPORT;
  if (out === undefined || out === '') return;
  for (const [parser, cases] of counts) appendFileSync(out, `${JSON.stringify({ file, parser, cases })}\n`);
  counts.clear();
}

/** What a server answered. */
export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The JSON body, or `null` when it is not JSON. */
  readonly json: Record<string, unknown> | null;
}

/** One request as the fuzzers build it: header values may hold any byte Node sends (tab, 0x20-0x7e, 0x80-0xff). */
export interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 8 });

/**
 * Sends a request with node:http (which, unlike fetch, sends obs-text bytes
 * and any method). Rejects after `timeoutMs`: a hang is a failure.
 */
export async function send(base: string, r: Sent, timeoutMs = 10_000): Promise<Answer> {
  try {
    return await sendOnce(base, r, timeoutMs);
  } catch (err) {
    // A kept-alive connection the server closed while it sat in the pool (Fastify closes one after a malformed
    // request, without saying so): retry once on a new connection, as Node's documentation advises.
    if ((err as { reusedSocket?: boolean }).reusedSocket === true && (err as NodeJS.ErrnoException).code === 'ECONNRESET') return sendOnce(base, r, timeoutMs);
    throw err;
  }
}

function sendOnce(base: string, r: Sent, timeoutMs: number): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...r.headers };
    if (r.body !== undefined) headers['content-length'] = String(Buffer.byteLength(r.body, 'latin1'));
    const req = request(
      { host: url.hostname, port: url.port, method: r.method, path: r.path, headers, agent, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Record<string, unknown> | null = null;
          try {
            const parsed: unknown = JSON.parse(text);
            if (parsed !== null && typeof parsed === 'object') json = parsed as Record<string, unknown>;
          } catch {
            json = null;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms to ${r.method} ${r.path}`)));
    req.on('error', (err) => reject(Object.assign(err, { reusedSocket: req.reusedSocket })));
    if (r.body !== undefined) req.write(r.body, 'latin1');
    req.end();
  });
}

/** Closes the client's idle connections (at the end of a file). */
export function closeClient(): void {
  agent.destroy();
}

const HEADER_CHARS = [
  '\t',
  ...Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)),
  ...Array.from({ length: 0x100 - 0x80 }, (_, i) => String.fromCharCode(0x80 + i)),
];
/** Characters that matter to the parsers, weighted up. */
const SPECIAL = [';', '=', ',', '"', '\\', ' ', '\t', '%', '.', '[', ']', ':', '_', '-', '/', '+', '~', 'é', '\u00ff'];

/** Any header value Node's client lets through. */
export function headerText(maxLength = 200): fc.Arbitrary<string> {
  return fc.string({ unit: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...HEADER_CHARS) }, { weight: 1, arbitrary: fc.constantFrom(...SPECIAL) }), maxLength });
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** base64url text, as tokens and blobs are made of. */
export function b64url(maxLength = 120): fc.Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...B64URL), maxLength });
}

/** One edit of a credential. */
type Edit = { kind: 'replace' | 'insert' | 'delete'; at: number; ch: string } | { kind: 'truncate'; at: number } | { kind: 'percent'; at: number } | { kind: 'case'; at: number };

const EDIT_CHARS = [...B64URL, ...SPECIAL, '.', '=', '*', '\u0080'];

function applyEdit(t: string, e: Edit): string {
  const at = t.length === 0 ? 0 : e.at % (t.length + (e.kind === 'insert' ? 1 : 0));
  switch (e.kind) {
    case 'replace':
      return t.slice(0, at) + e.ch + t.slice(at + 1);
    case 'insert':
      return t.slice(0, at) + e.ch + t.slice(at);
    case 'delete':
      return t.slice(0, at) + t.slice(at + 1);
    case 'truncate':
      return t.slice(0, at);
    case 'percent': {
      // Percent-encoding one character: the same value to a decoding parser, another to a strict one.
      const c = t.charCodeAt(at);
      return Number.isNaN(c) || c > 0x7f ? t : `${t.slice(0, at)}%${c.toString(16).padStart(2, '0').toUpperCase()}${t.slice(at + 1)}`;
    }
    case 'case': {
      const c = t.charAt(at);
      // ASCII letters only: the case of 'ÿ' is outside Latin-1, which no header can carry.
      const flipped = !/^[A-Za-z]$/.test(c) ? c : c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
      return t.slice(0, at) + flipped + t.slice(at + 1);
    }
  }
}

const edit: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constantFrom('replace' as const, 'insert' as const, 'delete' as const), at: fc.nat(), ch: fc.constantFrom(...EDIT_CHARS) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('percent' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('case' as const), at: fc.nat() }) },
);

/**
 * Near-misses of the valid credentials in `pool` (the first is the target):
 * a few edits, the halves of two valid credentials spliced together, the
 * credential with bytes around it, or the credential itself (which the
 * caller tells apart with its decoding oracle).
 */
export function nearMiss(pool: readonly string[], separator = '.'): fc.Arbitrary<string> {
  const target = pool[0] as string;
  const splice = fc.tuple(fc.constantFrom(...pool), fc.constantFrom(...pool)).map(([a, b]) => {
    const ia = a.indexOf(separator);
    const ib = b.indexOf(separator);
    return ia === -1 || ib === -1 ? `${a}${separator}${b}` : a.slice(0, ia) + b.slice(ib);
  });
  return fc.oneof(
    { weight: 8, arbitrary: fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => edits.reduce(applyEdit, target)) },
    { weight: 2, arbitrary: splice },
    { weight: 1, arbitrary: fc.tuple(headerText(8), headerText(8)).map(([a, b]) => `${a}${target}${b}`) },
    { weight: 1, arbitrary: fc.constant(target) },
    { weight: 1, arbitrary: fc.tuple(b64url(30), b64url(60)).map(([a, b]) => `${a}${separator}${b}`) },
  );
}

/** How cookie parsing reads a value: spaces and tabs trimmed, percent-decoded when that succeeds. */
export function cookieDecoded(value: string): string {
  const v = value.replace(/^[ \t]+|[ \t]+$/g, '');
  if (!v.includes('%')) return v;
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

/** `encodeURIComponent`, with lone surrogates (which it refuses) replaced first. */
export function percent(value: string): string {
  return encodeURIComponent(value.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));
}

/** When a JWT expires (its `exp`), in ms since the epoch. */
export function expiresAt(jwt: string): number {
  return (JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString()) as { exp: number }).exp * 1000;
}
