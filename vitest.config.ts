import { defineConfig } from 'vitest/config';

// Two projects: pure unit tests (no I/O, run in parallel freely) and integration tests that start real etcd
// and goverse-node processes (bounded concurrency so a 2-core CI machine is not oversubscribed).
export default defineConfig({
  test: {
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.{ts,tsx}'],
          environment: 'node',
          // Property tests and full console renders take 1-2 s alone; beside integration tests on 2 busy cores, 5 s is not enough.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.{ts,tsx}', 'test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 60_000,
          globalSetup: ['test/harness/globalSetup.ts'],
        },
      },
    ],
  },
});
