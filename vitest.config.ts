import { defineConfig } from 'vitest/config';

// Two projects: fast pure unit tests beside the code, and scenarios in test/
// that start real nats-server and PostgreSQL processes (slower, so they run
// in forked workers with generous timeouts and limited parallelism: the CI
// machine has two cores).
export default defineConfig({
  test: {
    teardownTimeout: 60_000,
    projects: [
      {
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'bench/**/*.test.ts'],
          testTimeout: 10_000,
        },
      },
      {
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: ['test/**/*.test.ts'],
          // A failed test prints the logs of the services and servers it started.
          setupFiles: ['test/harness/setup.ts'],
          // First, one line naming any missing system package (test/system-packages.txt).
          globalSetup: ['test/harness/global-setup.ts'],
          pool: 'forks',
          maxWorkers: 2,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // expect.poll gives up after 1 s by default: a browser render or a
          // service's reaction on a busy 2-core machine can take longer. A
          // deadline says when to give up, not how fast it should be.
          expect: { poll: { timeout: 60_000 } },
        },
      },
    ],
  },
});
