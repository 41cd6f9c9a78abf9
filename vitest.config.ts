import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  // Sources under test take Node's primitives from src/ (package.json "imports" points at dist/, for the package).
  resolve: { alias: { '#primitives': fileURLToPath(new URL('./src/core/primitives/node.ts', import.meta.url)) } },
  test: {
    include: ['test/**/*.test.ts'],
    // The runtime matrix runs on its own: npm run test:runtimes (vitest.runtimes.config.ts).
    exclude: [...configDefaults.exclude, 'test/runtimes/**'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
