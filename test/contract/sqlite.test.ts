import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { storeContract } from '../../src/testing/store-contract.js';
import { sqliteDrivers, sqliteStore } from '../../src/stores/sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'latchkey-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

// Every driver this runtime has: better-sqlite3 on Node 20; node:sqlite and better-sqlite3 on Node 24 (`npm run test:node24`).
for (const driver of sqliteDrivers()) {
  storeContract(`sqlite on ${driver} (file, WAL)`, { describe, it }, { makeStore: () => sqliteStore({ path: join(dir, `t${n++}.db`), driver }) });
}
