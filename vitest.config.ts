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
