/**
 * The summary of one `./anfang bench all` run: per benchmark its goals (figure, same-run baseline,
 * ratio, goal, met or not) or why it gave none; as JSON for tools and as Markdown for the README.
 */
import type { BenchReport } from '@anfang/testing';
import type { Bench } from './benches.ts';

export interface BenchOutcome {
  readonly bench: Bench;
  readonly seconds: number;
  readonly exitCode: number | null;
  /** Absent when the benchmark ended without writing its report (it failed, or gives no goals). */
  readonly report?: BenchReport;
  /** When it ended (ISO); absent in summaries written before rows were merged. */
  readonly finishedAt?: string;
}

export interface Summary {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly host: { readonly cpus: number; readonly node: string };
  readonly goals: { readonly met: number; readonly notMet: number };
  readonly outcomes: readonly BenchOutcome[];
}

export function summarise(
  outcomes: readonly BenchOutcome[],
  meta: Pick<Summary, 'startedAt' | 'finishedAt' | 'host'>,
): Summary {
  const all = outcomes.flatMap((o) => o.report?.goals ?? []);
  const met = all.filter((g) => g.met).length;
  return { ...meta, goals: { met, notMet: all.length - met }, outcomes };
}

/**
 * The outcomes of a partial run (`--only`, `--skip`) put in place of the same benchmarks' rows of
 * the previous summary, the others kept: re-running one benchmark does not drop every other's
 * figures from the README. In the order of `order` (the benchmark list).
 */
export function mergeOutcomes(
  previous: readonly BenchOutcome[],
  fresh: readonly BenchOutcome[],
  order: readonly Bench[],
): BenchOutcome[] {
  const byName = new Map(previous.map((o) => [o.bench.name, o]));
  for (const o of fresh) byName.set(o.bench.name, o);
  return order.flatMap((b) => byName.get(b.name) ?? []);
}

const minute = (iso: string): string => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

const figure = (n: number): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: Math.abs(n) >= 100 ? 0 : 2 });

/** Table cells may not hold a pipe or a line break. */
const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

export function toMarkdown(summary: Summary): string {
  // Rows merged from an earlier run keep that run's time; the later ones are named.
  const later = summary.outcomes.filter((o) => o.finishedAt && o.finishedAt > summary.startedAt);
  const earlier = summary.outcomes.filter((o) => !later.includes(o));
  const when =
    later.length > 0 && earlier.length > 0
      ? `${minute(earlier.at(-1)?.finishedAt ?? summary.startedAt)} (${later
          .map((o) => o.bench.name)
          .join(', ')} re-run at ${minute(summary.finishedAt)})`
      : minute(summary.finishedAt);
  const lines = [
    `Benchmarks of ${when} on ${summary.host.cpus} CPUs ` +
      `(Node ${summary.host.node}): ${summary.goals.met} goals met, ${summary.goals.notMet} not met. ` +
      'Each figure is compared with a baseline measured in the same run; the load average says how ' +
      'busy the machine was.',
    '',
    '| bench | figure | value | same-run baseline | ratio | goal | met | load |',
    '| --- | --- | --: | --- | --: | --- | --- | --: |',
  ];
  for (const { bench, report, exitCode, seconds } of summary.outcomes) {
    if (!report || report.goals.length === 0) {
      const why = exitCode === 0 ? 'no goals reported' : `failed (exit ${exitCode ?? 'signal'})`;
      lines.push(`| ${bench.name} (#${bench.issue}) | ${why} after ${Math.round(seconds)} s | | | | | ✗ | |`);
      continue;
    }
    for (const g of report.goals) {
      lines.push(
        [
          '',
          `${bench.name} (#${bench.issue})`,
          cell(g.figure),
          `${figure(g.value)} ${g.unit}`,
          g.baseline ? cell(`${g.baseline.label}: ${figure(g.baseline.value)} ${g.unit}`) : '—',
          g.ratio !== undefined ? `${g.ratio.toFixed(2)}×` : '—',
          cell(g.goal),
          g.met ? '✓' : '✗',
          String(report.loadAverage),
          '',
        ]
          .join(' | ')
          .trim(),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

const BEGIN = '<!-- bench-summary:begin -->';
const END = '<!-- bench-summary:end -->';

/** The README with its benchmark section replaced by the new summary (markers kept). */
export function replaceReadmeSection(readme: string, markdown: string): string {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`README has no ${BEGIN} … ${END} section`);
  return `${readme.slice(0, begin + BEGIN.length)}\n${markdown}${readme.slice(end)}`;
}
