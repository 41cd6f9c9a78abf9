import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The runtime matrix runs on its own: npm run test:runtimes (vitest.runtimes.config.ts).
    exclude: [...configDefaults.exclude, 'test/runtimes/**'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
