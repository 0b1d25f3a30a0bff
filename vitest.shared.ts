import { basename } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * Shared test defaults. Each package's vitest.config.ts re-exports this. When
 * ANFANG_TEST_RESULTS names a folder (./anfang test sets it), every run also writes a JSON
 * report there, from which tools/test-summary.ts prints the closing "N passed, N failed".
 */
const resultsDir = process.env.ANFANG_TEST_RESULTS;
const runLabel = `${basename(process.cwd())}-${process.env.npm_lifecycle_event ?? 'test'}`;

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    reporters: resultsDir ? ['default', 'json'] : ['default'],
    outputFile: resultsDir ? { json: `${resultsDir}/${runLabel}.json` } : undefined,
    passWithNoTests: true,
  },
});
