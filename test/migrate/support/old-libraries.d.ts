// Just enough of express-session's and connect-pg-simple's API for these tests. Not @types/express-session:
// it types `req.session` as express-session's, where latchkey's adapter declares its own.
declare module 'express-session' {
  import type { RequestHandler } from 'express';
  export interface SessionData {
    [key: string]: unknown;
  }
  export class Store {
    get(sid: string, callback: (err: unknown, session?: SessionData | null) => void): void;
    set(sid: string, session: SessionData, callback?: (err?: unknown) => void): void;
    destroy(sid: string, callback?: (err?: unknown) => void): void;
  }
  export class MemoryStore extends Store {}
  export interface SessionOptions {
    secret: string | string[];
    store?: Store;
    name?: string;
    resave?: boolean;
    saveUninitialized?: boolean;
    cookie?: Record<string, unknown>;
  }
  interface Session {
    (options: SessionOptions): RequestHandler;
    Store: typeof Store;
    MemoryStore: typeof MemoryStore;
  }
  const session: Session;
  export default session;
}

declare module 'connect-pg-simple' {
  import type { Store } from 'express-session';
  import type { Pool } from 'pg';
  type PgStore = new (options: { pool: Pool; tableName?: string; createTableIfMissing?: boolean; pruneSessionInterval?: number | false }) => Store & { close(): void };
  export default function connectPgSimple(session: unknown): PgStore;
}

declare module 'cookie-signature' {
  export function sign(value: string, secret: string): string;
  export function unsign(value: string, secret: string): string | false;
}
