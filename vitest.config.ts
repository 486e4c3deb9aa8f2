import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests bind fixed loopback ports: run files one at a time.
    fileParallelism: false,
    pool: 'forks',
  },
});
