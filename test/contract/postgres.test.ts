import pg from 'pg';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { storeContract } from '../../src/testing/store-contract.js';
import { postgresStore } from '../../src/stores/postgres/index.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../servers/postgres.js';

// One server for this file; every test gets fresh tables of its own (a table prefix of its own).
const missing = postgresMissing();
let server: PostgresServer | undefined;
let pool: pg.Pool | undefined;
let n = 0;

describe.skipIf(missing !== null)('PostgreSQL', () => {
  beforeAll(async () => {
    server = await startPostgres();
    pool = new pg.Pool({ connectionString: server.url, max: 10, connectionTimeoutMillis: 5000 });
  });
  afterAll(async () => {
    await pool?.end();
    await server?.stop();
  });

  storeContract('postgres (shared pool, a table prefix per test)', { describe, it }, {
    makeStore: async () => {
      const store = postgresStore({ pool: pool as pg.Pool, tablePrefix: `c${n++}_` });
      await store.ready();
      return store;
    },
  });

  storeContract('postgres (own pool from a connection string, a schema per test)', { describe, it }, {
    makeStore: () => postgresStore({ connectionString: (server as PostgresServer).url, schema: `contract_${n++}` }),
  });
});
