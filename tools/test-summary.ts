/**
 * Reads the vitest JSON reports written under ANFANG_TEST_RESULTS and prints the closing
 * line CI reads: "N passed, N failed" (", N skipped" when any). Exits non-zero when a test
 * failed, a suite failed to load, an error escaped every test, or no test ran at all.
 *
 * CI keeps only the tail of an interleaved log, so this summary is where a failure is read: the
 * first lines of each failure's message (a platform that never got ready says there which
 * service waited for what), then each failure in one line, then the totals.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UNHANDLED_SUFFIX, type UnhandledReport } from './unhandled-errors.ts';

interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numFailedTestSuites: number;
  testResults: {
    name: string;
    status: string;
    message?: string;
    assertionResults: { status: string; fullName: string; failureMessages?: string[] }[];
  }[];
}

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node tools/test-summary.ts <results-dir>');
  process.exit(2);
}
let passed = 0;
let failed = 0;
let skipped = 0;
const brokenSuites: string[] = [];
const failedTests: string[] = [];
const details: string[] = [];
const cleanRuns: string[] = [];
const DETAIL_LINES = 16;
const DETAILED_FAILURES = 4;
const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
function detail(title: string, message: string | undefined): void {
  if (!message || details.length >= DETAILED_FAILURES) return;
  const lines = message
    .replace(ansi, '')
    .split('\n')
    .filter((line) => line.trim() !== '');
  const shown = lines.slice(0, DETAIL_LINES).map((line) => `    ${line.slice(0, 300)}`);
  if (lines.length > DETAIL_LINES) shown.push(`    … ${lines.length - DETAIL_LINES} more lines in the log`);
  details.push([`  ${title}`, ...shown].join('\n'));
}
const files = readdirSync(dir).sort();
for (const file of files.filter((f) => f.endsWith('.json') && !f.endsWith(UNHANDLED_SUFFIX))) {
  const report = JSON.parse(readFileSync(join(dir, file), 'utf8')) as VitestReport;
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
  const runLabel = file.replace(/\.json$/, '');
  const runFailed =
    report.numFailedTests > 0 ||
    report.numFailedTestSuites > 0 ||
    files.includes(`${runLabel}${UNHANDLED_SUFFIX}`);
  if (runFailed)
    console.log(`  ${runLabel}: ${report.numPassedTests} passed, ${report.numFailedTests} failed`);
  else cleanRuns.push(`${runLabel} ${report.numPassedTests}`);
  for (const suite of report.testResults) {
    for (const test of suite.assertionResults.filter((t) => t.status === 'failed')) {
      // The turbo log is interleaved and CI keeps only its tail: name the failure here, where it is read.
      const reason = test.failureMessages?.[0]?.split('\n')[0] ?? '';
      failedTests.push(`${suite.name} > ${test.fullName}: ${reason}`);
      detail(`${suite.name} > ${test.fullName}`, test.failureMessages?.[0]);
    }
    if (suite.status !== 'failed' || suite.assertionResults.some((t) => t.status === 'failed')) continue;
    // A file that failed with no failed test: it did not load, or a beforeAll hook threw (vitest
    // then reports that hook's tests as skipped and keeps the error only in its console output).
    const reason =
      suite.message?.split('\n')[0] || 'a hook failed; its tests were skipped (error in the log above)';
    brokenSuites.push(`${suite.name}: ${reason}`);
    detail(suite.name, suite.message);
  }
}
// Errors outside any test (vitest.shared.ts writes them): the run exited non-zero with every test
// passed, so each counts as a failure and is shown like one.
const unhandled: string[] = [];
for (const file of files.filter((f) => f.endsWith(UNHANDLED_SUFFIX))) {
  const runLabel = file.slice(0, -UNHANDLED_SUFFIX.length);
  const { ended, errors } = JSON.parse(readFileSync(join(dir, file), 'utf8')) as UnhandledReport;
  if (ended) unhandled.push(`${runLabel}: ${ended}`);
  for (const e of errors) {
    const where = e.origin ? `in ${e.origin}` : '';
    unhandled.push(
      `${runLabel}${where && ` (${where})`}: ${e.type ? `${e.type}: ` : ''}${e.name}: ${e.message.split('\n')[0]}`,
    );
    detail(
      `${runLabel} (${['outside any test', where].filter(Boolean).join(', ')})`,
      e.stack || `${e.name}: ${e.message}`,
    );
  }
}
// A suite that cannot load or whose hook failed counts as a failure, though no test in it failed.
failed += brokenSuites.length + unhandled.length;
if (cleanRuns.length > 0) console.log(`  no failure (tests passed): ${cleanRuns.join(', ')}`);
if (details.length > 0) console.log(`== failures in detail\n${details.join('\n')}`);
for (const line of failedTests) console.log(`  failed ${line}`);
for (const line of brokenSuites) console.log(`  broken suite ${line}`);
for (const line of unhandled) console.log(`  unhandled error ${line}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
