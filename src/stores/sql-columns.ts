/**
 * The column layout the SQL stores (SQLite, PostgreSQL) share: one row per
 * token, snake_case columns, the client flattened into five columns. Only
 * the type of `data` differs (JSON text in SQLite, jsonb in PostgreSQL).
 *
 * @module
 * @internal
 */
import { device } from '../core/device.js';
import type { ClientRecord, Device, RecordStatus, SessionData, SessionRecord } from '../core/model.js';

/** A row of the sessions table, `data` as the driver returns it. */
export interface SessionRow<D> {
  handle: string;
  secret_hash: string;
  user_id: string | null;
  status: RecordStatus;
  successor: string | null;
  created_at: number;
  issued_at: number;
  last_seen_at: number;
  auth_time: number | null;
  auth_level: number;
  idle_expires_at: number;
  absolute_expires_at: number;
  expires_at: number;
  version: number;
  data: D;
  client_ip: string | null;
  client_ua: string | null;
  device_browser: string | null;
  device_os: string | null;
  device_type: Device['type'] | null;
}

/** The record a row holds, with its data already decoded. */
export function recordFromRow(row: SessionRow<unknown>, data: SessionData): SessionRecord {
  let client: ClientRecord | null = null;
  if (row.client_ip !== null || row.client_ua !== null) {
    client = {
      ip: row.client_ip,
      userAgent: row.client_ua,
      device: device(row.device_browser ?? 'Unknown', row.device_os ?? 'Unknown', row.device_type ?? 'unknown'),
    };
  }
  return {
    handle: row.handle,
    secretHash: row.secret_hash,
    userId: row.user_id,
    status: row.status,
    successor: row.successor,
    createdAt: row.created_at,
    issuedAt: row.issued_at,
    lastSeenAt: row.last_seen_at,
    authTime: row.auth_time,
    authLevel: row.auth_level,
    idleExpiresAt: row.idle_expires_at,
    absoluteExpiresAt: row.absolute_expires_at,
    expiresAt: row.expires_at,
    version: row.version,
    data,
    client,
  };
}
