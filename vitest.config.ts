import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Three projects, run one after the other (`sequence.groupOrder`):
 * - unit: test/unit and src/**\/*.test.ts, in worker threads, files in parallel;
 * - integration: test/integration (real sockets, SIPp, server processes), one file at a time,
 *   each file in a fresh child process;
 * - e2e: test/e2e (the example configurations over the real server process), the same way.
 * Every test takes free ports of its own, so a file may run beside anything else on the machine;
 * integration and e2e files still run one at a time so that their timing holds on a small machine.
 * `npx vitest run --project unit` runs one project.
 */
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    poolOptions: {
      // The unit project's pool: at least two workers (vitest's default is one on a two-core machine).
      threads: { minThreads: 1, maxThreads: Math.max(2, availableParallelism()) },
      // The integration and e2e projects' pool: one file at a time, each in its own process.
      forks: { minForks: 1, maxForks: 1 },
    },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'src/**/*.test.ts'],
          pool: 'threads',
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          pool: 'forks',
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], pool: 'forks', sequence: { groupOrder: 2 } },
      },
    ],
  },
});
