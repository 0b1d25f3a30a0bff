/**
 * Breaking-change check of protos/ against a git branch (default `main`):
 * `pnpm --filter @anfang/contracts proto:breaking [-- --against <branch>] [--repo <dir>]`.
 *
 * Runs `buf breaking` (rules in buf.yaml: FILE category) with the working tree's protos as input
 * and `<repo>/.git#branch=<branch>,subdir=protos` as the baseline. Inside a `v1` package only
 * additive changes pass; anything else belongs in a new `v2` package.
 *
 * When the baseline branch has no protos yet, there is nothing to break: the check says so and
 * passes. When the branch does not exist locally (a shallow CI clone), it says so and passes
 * too, loudly: fetch the branch to get the check.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const bufBin = join(dirname(require.resolve('@bufbuild/buf/package.json')), 'bin', 'buf');

function say(message: string): void {
  process.stdout.write(`proto:breaking: ${message}\n`);
}

function git(repo: string, args: string[]): string {
  return execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function main(): number {
  const { values } = parseArgs({
    options: {
      against: { type: 'string', default: 'main' },
      repo: { type: 'string' },
    },
    allowPositionals: false,
  });
  const branch = values.against;
  const repo = resolve(
    values.repo ?? git(resolve(import.meta.dirname, '..'), ['rev-parse', '--show-toplevel']).trim(),
  );
  if (!existsSync(join(repo, 'buf.yaml'))) {
    process.stderr.write(`proto:breaking: no buf.yaml in ${repo}\n`);
    return 2;
  }

  const exists = spawnSync('git', ['-C', repo, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], {
    stdio: 'ignore',
  });
  if (exists.status !== 0) {
    say(`SKIPPED: branch ${branch} does not exist in ${repo}; fetch it to compare against it.`);
    return 0;
  }
  const baseline = git(repo, ['ls-tree', '-r', '--name-only', branch, '--', 'protos/anfang'])
    .split('\n')
    .filter((path) => path.endsWith('.proto'));
  if (baseline.length === 0) {
    say(
      `${branch} has no protos yet (no protos/anfang/**/*.proto): nothing to compare, no breaking changes possible.`,
    );
    return 0;
  }

  const against = `${join(repo, '.git')}#branch=${branch},subdir=protos`;
  say(`comparing protos/ with ${branch} (${baseline.length} proto files)`);
  const result = spawnSync(bufBin, ['breaking', '--against', against, '--error-format', 'text'], {
    cwd: repo,
    stdio: 'inherit',
  });
  if (result.error) throw result.error;
  if (result.status === 0) say('no breaking changes.');
  else
    say(
      'breaking changes found (see above). Inside v1 only additive changes are allowed; put breaking ones in a new v2 package.',
    );
  return result.status ?? 1;
}

process.exitCode = main();
