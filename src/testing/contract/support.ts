/**
 * What the conformance suite's test files share: the runner functions, a
 * sample record, the suite's fixed time, and waiting for a condition.
 *
 * @module
 * @internal
 */
import assert from 'node:assert/strict';
import type { SessionRecord } from '../../core/model.js';
import type { Store } from '../../core/store.js';
import { mintToken } from '../../core/token.js';
import { parseUserAgent } from '../../core/device.js';

/** The test-runner functions the suite needs. */
export interface ContractRunner {
  describe: (name: string, fn: () => void) => void;
  it: (name: string, fn: () => Promise<void>, timeout?: number) => void;
}

/** What each test file of the suite is given. */
export interface ContractContext {
  readonly describe: ContractRunner['describe'];
  /** A test with a fresh store of its own, closed after it. */
  readonly test: (title: string, fn: (store: Store) => Promise<void>) => void;
  /** Parallel operations in the concurrency tests. */
  readonly n: number;
}

/** The suite's "now": every record and value lives around 2026-01-01. */
export const T0 = Date.UTC(2026, 0, 1);

/**
 * A valid record for store tests; override any field.
 *
 * @example
 * ```ts
 * const r = sampleRecord({ userId: 'u1', data: { cart: [1, 2] } });
 * await store.create(r);
 * ```
 */
export function sampleRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const { handle, secretHash } = mintToken();
  const ua = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36';
  return {
    handle,
    secretHash,
    kind: 'session',
    userId: 'user-1',
    status: 'active',
    successor: null,
    createdAt: T0,
    issuedAt: T0,
    lastSeenAt: T0,
    authTime: T0,
    authLevel: 0,
    idleExpiresAt: T0 + 1_800_000,
    absoluteExpiresAt: T0 + 43_200_000,
    expiresAt: T0 + 1_800_000,
    version: 1,
    data: {},
    client: { ip: '203.0.113.9', userAgent: ua, device: parseUserAgent(ua) },
    ...overrides,
  };
}

/** Waits until `check()` holds, failing with `message` after `ms`. */
export async function until(check: () => boolean, message: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(message);
    await new Promise((r) => setTimeout(r, 5));
  }
}
