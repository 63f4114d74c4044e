import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/globalSetup.ts'],
    // the Kafka tests share one broker and each is heavy: run test files one at a time
    fileParallelism: false,
    // 2 cores: DuckDB uses threads of its own, so keep file-level parallelism low.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
