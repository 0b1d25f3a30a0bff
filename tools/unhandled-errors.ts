/**
 * The file of errors outside any test that vitest.shared.ts writes beside a run's JSON report
 * (`<run>.unhandled.json`) and tools/test-summary.ts reads: one name and one shape for both.
 */
export const UNHANDLED_SUFFIX = '.unhandled.json';

export interface UnhandledError {
  name: string;
  message: string;
  stack: string;
  type?: string;
  /** The test file (› "test") a worker was running when the error came. */
  origin?: string;
}

export interface UnhandledReport {
  /** Said when the exit is not explained by the errors alone: "the run was interrupted", … */
  ended: string;
  errors: UnhandledError[];
}
