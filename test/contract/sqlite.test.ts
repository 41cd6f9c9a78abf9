import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { storeContract } from '../../src/testing/store-contract.js';
import { sqliteStore } from '../../src/stores/sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'latchkey-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

storeContract('sqlite (file, WAL)', { describe, it }, { makeStore: () => sqliteStore({ path: join(dir, `t${n++}.db`) }) });
