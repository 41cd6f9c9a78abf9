/**
 * The {@link HttpRequest} view of a Node `IncomingMessage` (node:http and
 * Express), with its bounded reader of URL-encoded and JSON bodies.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpRequest } from './request.js';
import { isFormContentType } from './request.js';

/**
 * Largest URL-encoded body the CSRF and form carriers read (bytes).
 *
 * @example
 * ```ts
 * app.use(express.urlencoded({ limit: MAX_FORM_BYTES }));
 * ```
 */
export const MAX_FORM_BYTES = 1_048_576;

type BodyHolder = IncomingMessage & { body?: unknown; _body?: boolean };

/**
 * Where a framework's body parser leaves the parsed body, and where latchkey
 * leaves what it parsed itself: `req.body` on Express and node:http, Koa's
 * `ctx.request.body`.
 */
export interface ParsedBodyHolder {
  body?: unknown;
}

/**
 * The {@link HttpRequest} view of a Node request.
 *
 * @example
 * ```ts
 * const begun = http.begin(nodeRequest(req));
 * ```
 */
export function nodeRequest(req: IncomingMessage): HttpRequest {
  return new NodeRequestView(req as BodyHolder, null, null);
}

// A class rather than closures: one small object per request on the hot path, which also knows
// the response and where to report, so that the hold is armed by a function made once (holdResponse).
/** @internal */
export class NodeRequestView implements HttpRequest {
  readonly method: string;
  readonly url: string;
  readonly remoteAddress: string | undefined;
  readonly req: BodyHolder;
  readonly res: ServerResponse | null;
  readonly report: ((err: unknown) => void) | null;
  readonly #bodies: ParsedBodyHolder;
  #parsed: Promise<Record<string, unknown>> | null = null;

  constructor(req: BodyHolder, res: ServerResponse | null, report: ((err: unknown) => void) | null, bodies: ParsedBodyHolder = req) {
    this.req = req;
    this.res = res;
    this.report = report;
    this.#bodies = bodies;
    this.method = req.method ?? 'GET';
    this.url = req.url ?? '/';
    this.remoteAddress = req.socket?.remoteAddress;
  }

  header(name: string): string | undefined {
    const v = this.req.headers[name];
    return v === undefined || typeof v === 'string' ? v : v.join(', ');
  }

  /**
   * A field of a URL-encoded body: from the parsed body (`req.body`, Koa's
   * `ctx.request.body`) when a body parser already ran, otherwise by reading
   * the stream (at most {@link MAX_FORM_BYTES}) and leaving the parsed fields
   * there, the stream flagged the way body parsers recognise, so that a later
   * `express.urlencoded()` or `@koa/bodyparser` does not wait for a consumed
   * stream.
   */
  async formField(name: string): Promise<string | undefined> {
    const req = this.req;
    const type = req.headers['content-type'] ?? '';
    // A body parsed by express.json() or @koa/bodyparser lands where a form's would: its fields are no form's.
    if (!isFormContentType(type)) return undefined;
    const body = this.#bodies.body;
    if (body !== null && typeof body === 'object' && !Buffer.isBuffer(body)) return stringField(body as Record<string, unknown>, name);
    if (this.#parsed === null) {
      if (!/^application\/x-www-form-urlencoded\b/i.test(type) || req._body === true) return undefined;
      this.#parsed = this.#keep(readUrlencoded(req));
    }
    return stringField(await this.#parsed, name);
  }

  /** A field of a JSON or URL-encoded body: from the parsed body when a body parser already ran, otherwise read (bounded) once. */
  async bodyField(name: string): Promise<string | undefined> {
    const req = this.req;
    const body = this.#bodies.body;
    if (body !== null && typeof body === 'object' && !Buffer.isBuffer(body)) return stringField(body as Record<string, unknown>, name);
    if (this.#parsed === null) {
      const type = req.headers['content-type'] ?? '';
      const json = /^application\/(.+\+)?json\b/i.test(type);
      if ((!json && !/^application\/x-www-form-urlencoded\b/i.test(type)) || req._body === true) return undefined;
      this.#parsed = this.#keep(json ? readJson(req) : readUrlencoded(req));
    }
    return stringField(await this.#parsed, name);
  }

  /** Leaves what was read where the application's body parser would have: its handlers find the body parsed. */
  async #keep(reading: Promise<Record<string, unknown>>): Promise<Record<string, unknown>> {
    const fields = await reading;
    this.#bodies.body = fields;
    return fields;
  }
}

function stringField(body: Record<string, unknown>, name: string): string | undefined {
  if (!Object.hasOwn(body, name)) return undefined;
  const v = body[name];
  return typeof v === 'string' ? v : undefined;
}

/** The whole body as text, or `null` when larger than {@link MAX_FORM_BYTES} (it is still drained). */
async function readText(req: BodyHolder): Promise<string | null> {
  req._body = true;
  const chunks: Buffer[] = [];
  let size = 0;
  let tooBig = false;
  for await (const chunk of req as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buf.length;
    if (size > MAX_FORM_BYTES) tooBig = true;
    else chunks.push(buf);
  }
  return tooBig ? null : Buffer.concat(chunks).toString('utf8');
}

async function readUrlencoded(req: BodyHolder): Promise<Record<string, unknown>> {
  const text = await readText(req);
  const fields: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  if (text !== null) {
    for (const [k, v] of new URLSearchParams(text)) {
      if (!(k in fields)) fields[k] = v;
    }
  }
  return fields;
}

async function readJson(req: BodyHolder): Promise<Record<string, unknown>> {
  const text = await readText(req);
  let fields: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  try {
    const parsed: unknown = text === null ? null : JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) fields = parsed as Record<string, unknown>;
  } catch {
    // Not JSON: no fields (the caller answers invalid_request).
  }
  return fields;
}
