/**
 * How the Redis store keeps a record: one compact string of fields separated
 * by the byte 0xFF (which UTF-8 never contains), in the order the Lua scripts
 * read them by position (see scripts.ts): status, version, lastSeenAt,
 * idleExpiresAt, expiresAt, index score, successor, userId, the immutable
 * rest as JSON, then data as key, JSON value, key, JSON value, ...
 *
 * The record's kind is the last element of the immutable rest (the scripts
 * never rewrite it, so a tombstone keeps it). A record written by latchkey
 * 0.1 has none there: it reads as kind `'session'` (see migrate.ts for the
 * records of that version that stood for something else).
 *
 * @module
 * @internal
 */
import type { DataPatch } from '../../core/store.js';
import type { ClientRecord, RecordStatus, SessionData, SessionRecord } from '../../core/model.js';
import { device } from '../../core/device.js';

/** Whether a stored record says its kind (written by this version of latchkey, not by 0.1). */
export function hasKind(value: Buffer): boolean {
  const f = split(value);
  return (JSON.parse(f[8] as string) as unknown[]).length >= 8;
}

/** The score of a record in its user index: the latest it can live without another index write (touch stays below it). */
export function indexScore(r: SessionRecord): number {
  return Math.max(r.expiresAt, r.absoluteExpiresAt);
}

const SEP = 0xff;
const SEP_BYTE = Buffer.from([SEP]);

/** The record as one string (see the module comment); numbers in decimal, the rest UTF-8. */
export function encode(r: SessionRecord): Buffer {
  const c = r.client;
  const meta = JSON.stringify([
    r.secretHash,
    r.createdAt,
    r.issuedAt,
    r.authTime,
    r.authLevel,
    r.absoluteExpiresAt,
    c === null ? null : [c.ip, c.userAgent, c.device.browser, c.device.os, c.device.type],
    r.kind,
  ]);
  const fields = [
    r.status,
    String(r.version),
    String(r.lastSeenAt),
    String(r.idleExpiresAt),
    String(r.expiresAt),
    r.userId === null ? '' : String(indexScore(r)),
    r.successor ?? '',
    r.userId ?? '',
    meta,
  ];
  for (const [k, v] of Object.entries(r.data)) fields.push(k, JSON.stringify(v) ?? 'null');
  const parts: Buffer[] = [];
  for (const f of fields) {
    if (parts.length > 0) parts.push(SEP_BYTE);
    parts.push(Buffer.from(f, 'utf8'));
  }
  return Buffer.concat(parts);
}

export function split(value: Buffer): string[] {
  const out: string[] = [];
  let pos = 0;
  for (;;) {
    const i = value.indexOf(SEP, pos);
    if (i === -1) {
      out.push(value.toString('utf8', pos));
      return out;
    }
    out.push(value.toString('utf8', pos, i));
    pos = i + 1;
  }
}

type Meta = [string, number, number, number | null, number, number, [string | null, string | null, string, string, ClientRecord['device']['type']] | null, string?];

/** The kind of a record of latchkey 0.1, which kept none. */
const UNMARKED_KIND = 'session';

export function decode(handle: string, value: Buffer): SessionRecord {
  const f = split(value);
  const [secretHash, createdAt, issuedAt, authTime, authLevel, absoluteExpiresAt, c, kind] = JSON.parse(f[8] as string) as Meta;
  return {
    handle,
    secretHash,
    kind: kind ?? UNMARKED_KIND,
    userId: f[7] === '' ? null : (f[7] as string),
    status: f[0] as RecordStatus,
    successor: f[6] === '' ? null : (f[6] as string),
    createdAt,
    issuedAt,
    lastSeenAt: Number(f[2]),
    authTime,
    authLevel,
    idleExpiresAt: Number(f[3]),
    absoluteExpiresAt,
    expiresAt: Number(f[4]),
    version: Number(f[1]),
    data: dataOf(f),
    client: c === null ? null : { ip: c[0], userAgent: c[1], device: device(c[2], c[3], c[4]) },
  };
}

/** Data entries start at the tenth field: key, JSON value, key, JSON value, ... */
export function dataOf(f: string[]): SessionData {
  if (f.length <= 9) return EMPTY;
  const data: Record<string, unknown> = {};
  for (let i = 9; i + 1 < f.length; i += 2) {
    const key = f[i] as string;
    const value: unknown = JSON.parse(f[i + 1] as string);
    // A data key may be any string; never let one reach the prototype.
    if (key === '__proto__') Object.defineProperty(data, key, { value, enumerable: true, writable: true, configurable: true });
    else data[key] = value;
  }
  return data;
}

export function patchArgs(change: DataPatch): { sets: string[]; unsets: string[] } {
  const sets: string[] = [];
  if (change.set !== undefined) for (const [k, v] of Object.entries(change.set)) sets.push(k, JSON.stringify(v) ?? 'null');
  const unsets = [...(change.unset ?? [])];
  return { sets, unsets };
}

const EMPTY: SessionData = Object.freeze({});
