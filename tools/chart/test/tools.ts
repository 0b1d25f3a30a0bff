/**
 * The validation tools, installed once into .cache/ (pinned; a version file per tool, so a pin
 * change reinstalls and a repeated run costs nothing):
 * - Helm, built from the Go module proxy like tools/infra builds Versity Gateway (no binary
 *   downloads from the internet here, and Helm's go.mod has no replace directives);
 * - kubernetes-validate from PyPI in a venv: it bundles the Kubernetes JSON schemas of every
 *   version, so rendered objects are checked offline, strictly (unknown fields fail). Its PyYAML
 *   also turns rendered YAML into JSON for the tests (no YAML parser among the npm dependencies).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../src/bundle.ts';

export const HELM_VERSION = 'v3.22.0';
export const KUBERNETES_VALIDATE_VERSION = '1.37.0';

const cacheDir = join(repoRoot, '.cache');
const binDir = join(cacheDir, 'bin');
export const helmBinary = join(binDir, 'helm');
const helmVersionFile = join(binDir, 'helm.version');
const venvDir = join(cacheDir, 'kubernetes-validate');
export const venvPython = join(venvDir, 'bin', 'python');
export const kubernetesValidate = join(venvDir, 'bin', 'kubernetes-validate');
const venvVersionFile = join(venvDir, 'anfang.version');

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, cwd = cacheDir): void {
  const result = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw new Error(`${cmd} ${args.join(' ')}: ${result.error.message}`);
  if (result.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${result.status}:\n${result.stderr.slice(-4000)}`);
}

function installed(versionFile: string, binary: string, want: string): boolean {
  return existsSync(binary) && existsSync(versionFile) && readFileSync(versionFile, 'utf8') === want;
}

export function installHelm(log: (line: string) => void): void {
  const want = `helm.sh/helm/v3@${HELM_VERSION}\n`;
  if (installed(helmVersionFile, helmBinary, want)) return;
  mkdirSync(binDir, { recursive: true });
  const tmpBin = join(binDir, `.build-helm-${process.pid}`);
  rmSync(tmpBin, { recursive: true, force: true });
  mkdirSync(tmpBin);
  log(`building Helm ${HELM_VERSION} with go install (a few minutes on a fresh machine)`);
  const t0 = Date.now();
  try {
    run('go', ['install', '-trimpath', `helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`], {
      ...process.env,
      GOBIN: tmpBin,
      GOFLAGS: '-buildvcs=false',
      GOTOOLCHAIN: 'auto',
    });
    renameSync(join(tmpBin, 'helm'), helmBinary);
    writeFileSync(helmVersionFile, want);
  } finally {
    rmSync(tmpBin, { recursive: true, force: true });
  }
  log(`built ${helmBinary} in ${Math.round((Date.now() - t0) / 1000)} s`);
}

export function installValidator(log: (line: string) => void): void {
  const want = `kubernetes-validate==${KUBERNETES_VALIDATE_VERSION}\n`;
  if (installed(venvVersionFile, kubernetesValidate, want)) return;
  log(`installing kubernetes-validate ${KUBERNETES_VALIDATE_VERSION} into ${venvDir}`);
  rmSync(venvDir, { recursive: true, force: true });
  run('python3', ['-m', 'venv', venvDir]);
  run(venvPython, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', want.trim()]);
  writeFileSync(venvVersionFile, want);
}
