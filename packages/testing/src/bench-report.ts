/**
 * How a benchmark states its verdicts: each goal with its figure, the same-run baseline it is
 * compared with, and whether it was met. Printed for the reader, and written as JSON to the file
 * named by ANFANG_BENCH_REPORT when `./anfang bench all` runs the benchmark, so one summary can
 * gather every service's figures. Benchmarks never fail on speed: an unmet goal is a figure.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';

export const BENCH_REPORT_ENV = 'ANFANG_BENCH_REPORT';

export interface BenchGoal {
  /** What was measured, e.g. "decision p99 at 200 reads/s". */
  readonly figure: string;
  readonly value: number;
  readonly unit: string;
  /** The same-run figure the goal compares with (absent for absolute goals). */
  readonly baseline?: { readonly label: string; readonly value: number };
  /** The goal as the issue states it, e.g. "≤ 2 × no-op + 10 ms". */
  readonly goal: string;
  readonly met: boolean;
}

export interface BenchReport {
  readonly bench: string;
  readonly finishedAt: string;
  /** 1-minute load average when the figures were taken: a loaded machine explains poor figures. */
  readonly loadAverage: number;
  readonly goals: readonly (BenchGoal & { readonly ratio?: number })[];
}

const show = (n: number): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: Math.abs(n) >= 100 ? 0 : 2 });

export function benchReport(bench: string, goals: readonly BenchGoal[]): BenchReport {
  return {
    bench,
    finishedAt: new Date().toISOString(),
    loadAverage: Number(loadavg()[0]!.toFixed(2)),
    goals: goals.map((g) =>
      g.baseline && g.baseline.value !== 0
        ? { ...g, ratio: Number((g.value / g.baseline.value).toFixed(3)) }
        : g,
    ),
  };
}

/** Prints the verdicts and, when run by the benchmark suite, writes them where it asked. */
export function reportGoals(bench: string, goals: readonly BenchGoal[]): BenchReport {
  const report = benchReport(bench, goals);
  console.log('');
  console.log(`goals (${bench}; load average ${report.loadAverage}), figures not a test:`);
  for (const g of report.goals) {
    const against = g.baseline
      ? ` vs ${g.baseline.label} ${show(g.baseline.value)} ${g.unit}${g.ratio !== undefined ? ` = ${g.ratio}×` : ''}`
      : '';
    console.log(
      `  ${g.figure}: ${show(g.value)} ${g.unit}${against}; goal ${g.goal}: ${g.met ? 'met' : 'NOT met'}`,
    );
  }
  const target = process.env[BENCH_REPORT_ENV];
  if (target) writeFileSync(target, `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

/** A benchmark's table on stdout: the first column left-aligned, the others right-aligned. */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}
