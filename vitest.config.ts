import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs no broker (an analyst's `npx vitest run --project unit` or
// `npx vitest run test/sql` needs no Java or Maven); `integration` starts a real Kafka broker for
// the tests that talk to one. The pure tests of src/kafka modules stay in `unit`.
const BROKER_TESTS = ['test/kafka/worker.test.ts', 'test/kafka/crash.test.ts', 'test/kafka/equivalence.test.ts', 'test/kafka/scaleout.test.ts', 'test/kafka/outage.test.ts'];
const shared = {
  // 2 cores: DuckDB uses threads of its own, so keep file-level parallelism low.
  pool: 'forks' as const,
  poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  testTimeout: 120_000,
  hookTimeout: 300_000,
};

export default defineConfig({
  test: {
    globalSetup: ['test/support/buildDist.ts'],
    projects: [
      { test: { ...shared, name: 'unit', include: ['test/**/*.test.ts'], exclude: BROKER_TESTS } },
      {
        test: {
          ...shared,
          name: 'integration',
          include: BROKER_TESTS,
          globalSetup: ['test/support/kafkaSetup.ts'],
          // the Kafka tests share one broker and each is heavy: run test files one at a time
          fileParallelism: false,
        },
      },
    ],
  },
});
