import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    reporters: ['default', './vitest.reporter.ts'],
    testTimeout: 60_000,
  },
});
