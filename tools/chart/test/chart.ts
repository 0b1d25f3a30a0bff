/** Helm and the validator, driven from tests: render, lint, validate, read the result. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../src/bundle.ts';
import { helmBinary, kubernetesValidate, venvPython } from './tools.ts';

export const chartDir = join(repoRoot, 'charts', 'anfang');
export const deployDir = join(repoRoot, 'deploy');
/** The chart's kubeVersion floor and the newest schemas the validator bundles. */
export const KUBERNETES_VERSIONS = ['1.27.0', '1.37.0'] as const;
/** helm built by `go install` lacks the release ldflags and would claim Kubernetes 1.20. */
const RENDER_KUBE_VERSION = '1.33.0';

export interface CommandResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

function exec(cmd: string, args: readonly string[], input?: string): CommandResult {
  const result = spawnSync(cmd, args, { encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

export interface RenderOptions {
  readonly chart?: string;
  readonly valuesFiles?: readonly string[];
  /** Values as JSON (YAML's superset), written to a temporary file. */
  readonly values?: object;
  readonly set?: readonly string[];
  readonly release?: string;
  readonly namespace?: string;
}

function valuesArgs(options: RenderOptions, scratch: string): string[] {
  const args: string[] = [];
  for (const file of options.valuesFiles ?? []) args.push('-f', file);
  if (options.values) {
    const file = join(scratch, 'values.json');
    writeFileSync(file, JSON.stringify(options.values));
    args.push('-f', file);
  }
  for (const item of options.set ?? []) args.push('--set', item);
  return args;
}

function withScratch<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'anfang-chart-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm template` (hooks and tests included); status non-zero with helm's message on failure. */
export function helmTemplate(options: RenderOptions = {}): CommandResult {
  return withScratch((scratch) =>
    exec(helmBinary, [
      'template',
      options.release ?? 'anfang',
      options.chart ?? chartDir,
      '--namespace',
      options.namespace ?? 'anfang',
      '--kube-version',
      RENDER_KUBE_VERSION,
      ...valuesArgs(options, scratch),
    ]),
  );
}

export function helmLint(options: RenderOptions = {}): CommandResult {
  return withScratch((scratch) =>
    exec(helmBinary, [
      'lint',
      '--strict',
      options.chart ?? chartDir,
      '--kube-version',
      RENDER_KUBE_VERSION,
      ...valuesArgs(options, scratch),
    ]),
  );
}

/** Renders or throws with helm's error. */
export function render(options: RenderOptions = {}): string {
  const result = helmTemplate(options);
  if (result.status !== 0) throw new Error(`helm template failed:\n${result.stderr}`);
  return result.stdout;
}

/** Strict offline validation of every object against one Kubernetes version's schemas. */
export function validate(manifests: string, kubernetesVersion: string): CommandResult {
  return withScratch((scratch) => {
    const file = join(scratch, 'rendered.yaml');
    writeFileSync(file, manifests);
    return exec(kubernetesValidate, ['--strict', '--no-warn', '--quiet', '-k', kubernetesVersion, file]);
  });
}

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  readonly [field: string]: unknown;
}

/** Every document of a YAML stream (rendered manifests or a values file) as JSON values. */
export function parseYamlStream(text: string): unknown[] {
  const result = exec(
    venvPython,
    [
      '-c',
      'import json,sys,yaml; print(json.dumps([d for d in yaml.safe_load_all(sys.stdin) if d is not None]))',
    ],
    text,
  );
  if (result.status !== 0) throw new Error(`not YAML:\n${result.stderr}`);
  return JSON.parse(result.stdout) as unknown[];
}

export function parseManifests(text: string): KubeObject[] {
  return parseYamlStream(text) as KubeObject[];
}

export function ofKind(objects: readonly KubeObject[], kind: string): KubeObject[] {
  return objects.filter((o) => o.kind === kind);
}
