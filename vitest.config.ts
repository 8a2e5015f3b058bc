import { defineConfig } from 'vitest/config';

// Integration tests share one local stack (started by `npm test` before vitest), so files run one at a
// time: two tests stopping and starting the same server must never overlap.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
    reporters: ['default'],
  },
});
