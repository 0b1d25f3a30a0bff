#!/usr/bin/env node
/**
 * `./anfang bench <name> [args…]` runs one benchmark with its own options;
 * `./anfang bench all [--only a,b] [--skip a,b] [--timeout-min 30] [--no-readme]` runs every one
 * with its defaults, one after another on the local infrastructure, and writes the summary:
 * `.cache/bench/summary.json`, `.cache/bench/summary.md`, each benchmark's output in
 * `.cache/bench/<name>.log`, and the README's benchmark section. A partial run (`--only`,
 * `--skip`) that writes the README replaces the rows of the benchmarks it ran and keeps the
 * others' from the summary the README last got (`.cache/bench/readme-summary.json`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_REPORT_ENV, infraEnv, type BenchReport } from '@anfang/testing';
import { BENCHES, findBench, type Bench } from './benches.ts';
import {
  mergeOutcomes,
  replaceReadmeSection,
  summarise,
  toMarkdown,
  type BenchOutcome,
  type Summary,
} from './summary.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const usage = `usage: ./anfang bench ${BENCHES.map((b) => b.name).join('|')} [its options]
       ./anfang bench all [--only a,b] [--skip a,b] [--timeout-min 30] [--no-readme]`;

function run(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; log?: string; timeoutMs?: number } = {},
): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', options.log ? 'pipe' : 'inherit', options.log ? 'pipe' : 'inherit'],
      // Its own process group, so a timeout stops the benchmark's children (services) too.
      detached: true,
    });
    if (options.log) {
      const file = createWriteStream(options.log);
      child.stdout?.on('data', (chunk: Buffer) => {
        process.stdout.write(chunk);
        file.write(chunk);
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        process.stderr.write(chunk);
        file.write(chunk);
      });
      child.on('close', () => file.end());
    }
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            process.stderr.write(`[bench] ${args[0]} exceeded ${options.timeoutMs} ms: stopping it\n`);
            process.kill(-child.pid!, 'SIGTERM');
            setTimeout(() => child.exitCode === null && process.kill(-child.pid!, 'SIGKILL'), 10_000).unref();
          }, options.timeoutMs);
    const stopChild = () => child.pid && process.kill(-child.pid, 'SIGTERM');
    process.once('SIGINT', stopChild);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      process.off('SIGINT', stopChild);
      resolve(code);
    });
  });
}

/**
 * The local infrastructure up, with every topic of the catalogue created as the chart's topic Job
 * creates them: services never create topics, so on a freshly reset Kafka they would not start.
 */
async function infraUp(): Promise<void> {
  const code = await run(['tools/infra/src/cli.ts', 'up']);
  if (code !== 0) throw new Error(`./anfang infra up failed (exit ${code})`);
  const topics = await run(['tools/chart/src/create-topics.ts'], {
    env: {
      OTEL_SERVICE_NAME: 'bench-topics',
      LOG_LEVEL: 'warn',
      BUS_KIND: 'kafka',
      KAFKA_BROKERS: infraEnv().kafkaBrokers.join(','),
    },
  });
  if (topics !== 0) throw new Error(`creating the catalogue's topics failed (exit ${topics})`);
}

async function runAll(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      only: { type: 'string' },
      skip: { type: 'string' },
      'timeout-min': { type: 'string', default: '30' },
      'no-readme': { type: 'boolean', default: false },
    },
  });
  const list = (s: string | undefined) => (s ? s.split(',').map((x) => x.trim()) : undefined);
  const only = list(values.only);
  const skip = list(values.skip) ?? [];
  for (const name of [...(only ?? []), ...skip])
    if (!findBench(name)) throw new Error(`unknown benchmark "${name}"\n${usage}`);
  const chosen = BENCHES.filter((b) => (!only || only.includes(b.name)) && !skip.includes(b.name));
  const out = join(root, '.cache', 'bench');
  mkdirSync(out, { recursive: true });
  await infraUp();
  const startedAt = new Date().toISOString();
  const outcomes: BenchOutcome[] = [];
  for (const bench of chosen) {
    process.stdout.write(`\n[bench] ${bench.name}: ${bench.measures}\n`);
    outcomes.push(await runOne(bench, out, Number(values['timeout-min']) * 60_000));
  }
  const writeReadme = !values['no-readme'];
  const readmeSummary = join(out, 'readme-summary.json');
  const partial = chosen.length < BENCHES.length;
  const previous =
    writeReadme && partial && existsSync(readmeSummary)
      ? (JSON.parse(readFileSync(readmeSummary, 'utf8')) as Summary)
      : undefined;
  const summary = summarise(
    previous
      ? mergeOutcomes(
          previous.outcomes.map((o) => ({ ...o, finishedAt: o.finishedAt ?? previous.finishedAt })),
          outcomes,
          BENCHES,
        )
      : outcomes,
    {
      startedAt,
      finishedAt: new Date().toISOString(),
      host: { cpus: cpus().length, node: process.versions.node },
    },
  );
  const markdown = toMarkdown(summary);
  writeFileSync(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(join(out, 'summary.md'), markdown);
  if (writeReadme) {
    writeFileSync(readmeSummary, `${JSON.stringify(summary, null, 2)}\n`);
    const readme = join(root, 'README.md');
    writeFileSync(readme, replaceReadmeSection(readFileSync(readme, 'utf8'), markdown));
    // The repository's format check covers the README: leave it formatted.
    spawnSync(join(root, 'node_modules', '.bin', 'prettier'), ['--write', '--log-level', 'warn', readme], {
      stdio: 'inherit',
    });
  }
  process.stdout.write(`\n${markdown}\nsummary: ${join(out, 'summary.md')} and summary.json\n`);
}

async function runOne(bench: Bench, out: string, timeoutMs: number): Promise<BenchOutcome> {
  const reportFile = join(out, `${bench.name}.json`);
  rmSync(reportFile, { force: true });
  const started = performance.now();
  const exitCode = await run([bench.script], {
    env: { [BENCH_REPORT_ENV]: reportFile },
    log: join(out, `${bench.name}.log`),
    timeoutMs,
  });
  const seconds = (performance.now() - started) / 1000;
  const report = existsSync(reportFile)
    ? (JSON.parse(readFileSync(reportFile, 'utf8')) as BenchReport)
    : undefined;
  return { bench, seconds, exitCode, finishedAt: new Date().toISOString(), ...(report ? { report } : {}) };
}

const [name, ...rest] = process.argv.slice(2);
if (name === 'all') {
  await runAll(rest);
} else {
  const bench = name ? findBench(name) : undefined;
  if (!bench) {
    console.error(usage);
    process.exit(2);
  }
  await infraUp();
  process.exitCode = (await run([bench.script, ...rest])) ?? 1;
}
