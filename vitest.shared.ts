import { writeFileSync } from 'node:fs';
import { basename, relative } from 'node:path';
import type { Reporter } from 'vitest/node';
import type { SerializedError } from 'vitest';
import { defineConfig } from 'vitest/config';
import { UNHANDLED_SUFFIX, type UnhandledError, type UnhandledReport } from './tools/unhandled-errors.ts';

/**
 * Shared test defaults. Each package's vitest.config.ts re-exports this. When
 * ANFANG_TEST_RESULTS names a folder (./anfang test sets it), every run also writes a JSON
 * report there, from which tools/test-summary.ts prints the closing "N passed, N failed".
 */
const resultsDir = process.env.ANFANG_TEST_RESULTS;
const runLabel = `${basename(process.cwd())}-${process.env.npm_lifecycle_event ?? 'test'}`;

/**
 * Vitest fails a run that caught an error outside any test (a rejection nobody awaited, an
 * 'error' event with no listener, a worker that died) even when every test passed, but its JSON
 * report has no place for such errors: CI then read "0 failed" beside a task that exited 1. This
 * writes them beside the report for the summary to print — the workers' (handed to
 * onTestRunEnd), the main process's own rejections (vitest's logger only prints those), and, when
 * the process still exits non-zero with every test passed and nothing caught, that exit code.
 */
function unhandledErrorsReporter(dir: string): Reporter {
  const errors: UnhandledError[] = [];
  /** How the run ended, once it has: onTestRunEnd's reason, and whether a test file failed. */
  let end: { reason: string; failedTests: boolean } | undefined;
  const keep = (e: SerializedError): void => {
    // The cause says what happened: a worker's pool error is caused by "Worker exited unexpectedly
    // with signal … while running test file …".
    const causes: SerializedError[] = [];
    for (let c = e.cause; c; c = c.cause) causes.push(c);
    const causeText = (c: SerializedError) =>
      (c.stack || `${c.name ?? 'Error'}: ${c.message}`).replace(/^Caused by: /, '');
    // Vitest marks a worker's error with the test file (and test) it was running: the stack of an
    // 'error' event often names only the library that emitted it.
    const file = typeof e.VITEST_TEST_PATH === 'string' ? relative(process.cwd(), e.VITEST_TEST_PATH) : '';
    const test = typeof e.VITEST_TEST_NAME === 'string' ? e.VITEST_TEST_NAME : '';
    const origin = [file, test && `"${test}"`].filter(Boolean).join(' › ');
    errors.push({
      name: e.name ?? 'Error',
      message: causes.length > 0 ? `${e.message} Caused by: ${causes.at(-1)!.message}` : e.message,
      stack: [e.stack ?? '', ...causes.map((c) => `Caused by: ${causeText(c)}`)].join('\n'),
      ...(typeof e.type === 'string' ? { type: e.type } : {}),
      ...(origin ? { origin } : {}),
    });
  };
  return {
    onInit() {
      process.on('unhandledRejection', (err) => {
        const e = err instanceof Error ? err : new Error(String(err));
        keep({
          name: e.name,
          message: e.message,
          stack: e.stack ?? '',
          type: 'Unhandled Rejection (main process)',
        });
        // A listener of ours must not make such a rejection harmless where vitest has none.
        process.exitCode = 1;
      });
      process.on('exit', (code) => {
        let ended = '';
        if (end?.reason === 'interrupted') ended = 'the run was interrupted';
        else if (!end && code !== 0) ended = `the process exited ${code} before the run ended`;
        else if (end && code !== 0 && !end.failedTests && errors.length === 0)
          ended = `the process exited ${code} with no failed test and no error caught`;
        if (errors.length === 0 && !ended) return;
        const report: UnhandledReport = { ended, errors };
        writeFileSync(`${dir}/${runLabel}${UNHANDLED_SUFFIX}`, JSON.stringify(report));
      });
    },
    onTestRunEnd(modules, runErrors, reason) {
      end = { reason, failedTests: modules.some((m) => !m.ok()) };
      for (const e of runErrors) keep(e);
    },
  };
}

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    reporters: resultsDir ? ['default', 'json', unhandledErrorsReporter(resultsDir)] : ['default'],
    outputFile: resultsDir ? { json: `${resultsDir}/${runLabel}.json` } : undefined,
    passWithNoTests: true,
  },
});
