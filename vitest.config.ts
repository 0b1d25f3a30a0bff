import { defineConfig } from 'vitest/config';

// Shared defaults; each package runs `vitest run` in its own folder and inherits these.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
