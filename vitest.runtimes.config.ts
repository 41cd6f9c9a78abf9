import { defineConfig } from 'vitest/config';

// The runtime matrix: the conformance app on Node 22, Bun, Deno and workerd,
// each the real binary from scripts/runtimes.js. Run: npm run test:runtimes
export default defineConfig({
  test: {
    include: ['test/runtimes/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
