import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchReport } from '@anfang/testing';
import { BENCHES, findBench } from './benches.ts';
import { mergeOutcomes, replaceReadmeSection, summarise, toMarkdown } from './summary.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const meta = {
  startedAt: '2026-11-28T22:00:00.000Z',
  finishedAt: '2026-11-28T22:30:00.000Z',
  host: { cpus: 2, node: '24.22.3' },
};

describe('the benchmark summary', () => {
  const decision = findBench('decision')!;
  const alarms = findBench('alarms')!;
  const report = benchReport('decision', [
    {
      figure: 'decision p99 | 50 reads/s',
      value: 42,
      unit: 'ms',
      baseline: { label: 'no-op p99', value: 20 },
      goal: '≤ 2 × no-op + 10 ms',
      met: true,
    },
    { figure: 'throughput', value: 300, unit: 'reads/s', goal: '≥ 1,000/s', met: false },
  ]);

  it('puts each goal beside its same-run baseline and ratio, and counts met and not met', () => {
    const summary = summarise(
      [
        { bench: decision, seconds: 61, exitCode: 0, report },
        { bench: alarms, seconds: 5, exitCode: 1 },
      ],
      meta,
    );
    expect(summary.goals).toEqual({ met: 1, notMet: 1 });
    const md = toMarkdown(summary);
    expect(md).toContain('1 goals met, 1 not met');
    // The pipe in the figure is escaped so the table keeps its columns.
    expect(md).toContain(
      `| decision (#5) | decision p99 \\| 50 reads/s | 42 ms | no-op p99: 20 ms | 2.10× | ≤ 2 × no-op + 10 ms | ✓ | ${report.loadAverage} |`,
    );
    expect(md).toContain('| decision (#5) | throughput | 300 reads/s | — | — | ≥ 1,000/s | ✗ |');
    expect(md).toContain('| alarms (#6) | failed (exit 1) after 5 s |');
    for (const row of md.split('\n').filter((l) => l.startsWith('| decision')))
      expect(row.split(/(?<!\\)\|/).length).toBe(10);
  });

  it("a partial run replaces its benchmarks' rows and keeps the others', each with its time", () => {
    const bus = findBench('bus')!;
    const before = [
      { bench: alarms, seconds: 5, exitCode: 1, finishedAt: '2026-11-28T21:40:00.000Z' },
      { bench: decision, seconds: 61, exitCode: 0, report, finishedAt: '2026-11-28T21:50:00.000Z' },
    ];
    const busReport = benchReport('bus', [
      { figure: 'events/s', value: 9000, unit: '/s', goal: '≥ 5,000/s', met: true },
    ]);
    const rerun = [
      { bench: alarms, seconds: 7, exitCode: 0, finishedAt: '2026-11-28T22:10:00.000Z' },
      { bench: bus, seconds: 30, exitCode: 0, report: busReport, finishedAt: '2026-11-28T22:20:00.000Z' },
    ];
    const merged = mergeOutcomes(before, rerun, BENCHES);
    // In the list's order: bus first; decision kept from the earlier run, alarms replaced.
    expect(merged.map((o) => [o.bench.name, o.exitCode])).toEqual([
      ['bus', 0],
      ['decision', 0],
      ['alarms', 0],
    ]);
    const summary = summarise(merged, { ...meta, startedAt: '2026-11-28T22:05:00.000Z' });
    expect(summary.goals).toEqual({ met: 2, notMet: 1 });
    expect(toMarkdown(summary)).toMatch(
      /^Benchmarks of 2026-11-28 21:50 UTC \(bus, alarms re-run at 2026-11-28 22:30 UTC\) on 2 CPUs/,
    );
    // A whole run names one time.
    expect(toMarkdown(summarise(rerun, { ...meta, startedAt: '2026-11-28T22:05:00.000Z' }))).toMatch(
      /^Benchmarks of 2026-11-28 22:30 UTC on 2 CPUs/,
    );
  });

  it('replaces only the README section between its markers', () => {
    const readme = 'intro\n<!-- bench-summary:begin -->\nold\n<!-- bench-summary:end -->\nafter\n';
    expect(replaceReadmeSection(readme, 'new\n')).toBe(
      'intro\n<!-- bench-summary:begin -->\nnew\n<!-- bench-summary:end -->\nafter\n',
    );
    expect(() => replaceReadmeSection('no markers', 'x')).toThrow(/bench-summary/);
  });
});

describe('the benchmark list', () => {
  it.each(BENCHES.map((b) => [b.name, b] as const))(
    '%s exists and reports its goals for the summary',
    (_name, bench) => {
      const source = readFileSync(join(root, bench.script), 'utf8');
      expect(source).toMatch(/reportGoals\(/);
    },
  );

  it('is the list the README section is written from', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toContain('<!-- bench-summary:begin -->');
    expect(readme).toContain('<!-- bench-summary:end -->');
  });
});
