#!/usr/bin/env node
/**
 * The deployable bundle of one workspace package (a service, or this package for the chart's
 * hook Jobs): exactly what its image holds. deploy/docker/Dockerfile runs it; the chart's tests
 * run it too and start the service from the result, which proves the image is self-contained.
 *
 * Why not `pnpm deploy`: it copies workspace dependencies into node_modules, and Node refuses to
 * strip types from files under node_modules — the TypeScript-only services could not start. The
 * bundle keeps the workspace layout instead (every workspace package at its own path), with the
 * sources of the package and its workspace dependencies only, and a production-only install of
 * that closure from the unchanged lockfile (every manifest is copied so that the lockfile matches).
 *
 * The sources are stripped of their types here, once, with Node's own stripper in the mode that
 * keeps every position (stack traces point at the same line and column as the repository's files),
 * and `runtime/prestripped-typescript.mjs` is copied to the bundle's root: the image registers it
 * with `--import`, so Node loads the stripped `.ts` files as the JavaScript they are and never loads
 * its type stripper — WebAssembly whose memory stays with the process (17–27 MiB of RSS measured).
 * Without the hook they still run: plain JavaScript is valid TypeScript.
 *
 * Only Node built-ins here: the Dockerfile runs it before anything is installed.
 *
 * Usage: node tools/chart/src/bundle.ts <package dir, e.g. services/device-ingest> <out dir>
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Where workspace packages live (pnpm-workspace.yaml): `<group>/*` folders and single folders. */
const WORKSPACE_GROUPS = ['packages', 'services', 'tools'];
const WORKSPACE_SINGLES = ['e2e'];
const ROOT_FILES = ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', '.npmrc', '.node-version'];

interface Manifest {
  readonly name: string;
  readonly dependencies?: Record<string, string>;
}

export interface BundleResult {
  readonly outDir: string;
  /** Workspace folders whose sources are in the bundle (the package first). */
  readonly packages: readonly string[];
  /** Where to start the package from (its folder inside the bundle). */
  readonly packageDir: string;
  /** The loader hook to start it with: `node --import=<hook> src/main.ts` (PRESTRIPPED_HOOK). */
  readonly hook: string;
}

/** The hook's name at the bundle's root (the image: `/app/prestripped-typescript.mjs`). */
export const PRESTRIPPED_HOOK = 'prestripped-typescript.mjs';
const HOOK_SOURCE = join(repoRoot, 'tools', 'chart', 'runtime', PRESTRIPPED_HOOK);

/**
 * A TypeScript file rewritten in place as the JavaScript Node would run: types blanked out, every
 * other character where it was. Erasable syntax only — what Node runs the repository with anyway.
 */
function stripTypesInPlace(file: string): void {
  writeFileSync(file, stripTypeScriptTypes(readFileSync(file, 'utf8'), { mode: 'strip' }));
}

function stripTypesUnder(dir: string): number {
  let stripped = 0;
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (!entry.endsWith('.ts') || entry.endsWith('.d.ts')) continue;
    stripTypesInPlace(join(dir, entry));
    stripped++;
  }
  return stripped;
}

export class BundleError extends Error {}

function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(repoRoot, dir, 'package.json'), 'utf8')) as Manifest;
}

/** Every workspace folder with a package.json, relative to the repository root. */
export function workspaceFolders(): string[] {
  const folders: string[] = [];
  for (const group of WORKSPACE_GROUPS) {
    const base = join(repoRoot, group);
    if (!existsSync(base)) continue;
    for (const entry of readdirSync(base).sort()) {
      if (existsSync(join(base, entry, 'package.json'))) folders.push(`${group}/${entry}`);
    }
  }
  for (const single of WORKSPACE_SINGLES)
    if (existsSync(join(repoRoot, single, 'package.json'))) folders.push(single);
  return folders;
}

/** The package and, transitively, the workspace packages among its production dependencies. */
export function productionClosure(packageDir: string): string[] {
  const folders = workspaceFolders();
  const byName = new Map(folders.map((dir) => [readManifest(dir).name, dir]));
  const closure: string[] = [];
  const visit = (dir: string): void => {
    if (closure.includes(dir)) return;
    closure.push(dir);
    for (const [name, spec] of Object.entries(readManifest(dir).dependencies ?? {})) {
      if (!spec.startsWith('workspace:')) continue;
      const depDir = byName.get(name);
      if (!depDir) throw new BundleError(`${dir} depends on ${name}, which is not in the workspace`);
      visit(depDir);
    }
  };
  if (!folders.includes(packageDir))
    throw new BundleError(`${packageDir} is not a workspace package (one of: ${folders.join(', ')})`);
  visit(packageDir);
  return closure;
}

/** Sources only: no tests, benchmarks or local installs. */
function copySources(fromDir: string, toDir: string): void {
  cpSync(join(fromDir, 'src'), join(toDir, 'src'), {
    recursive: true,
    filter: (source) => {
      const name = source.slice(source.lastIndexOf('/') + 1);
      if (name === 'node_modules') return false;
      return !(statSync(source).isFile() && /\.test\.ts$/.test(name));
    },
  });
}

export interface BundleOptions {
  /**
   * Repository files to add at their own paths, stripped like the sources — what a benchmark runs
   * beside the service (its child script and probe), so that it measures what the image runs.
   */
  readonly extraFiles?: readonly string[];
  readonly log?: (line: string) => void;
}

export function bundle(packageDir: string, outDir: string, options: BundleOptions = {}): BundleResult {
  const log = options.log ?? (() => {});
  const target = relative(repoRoot, resolve(repoRoot, packageDir));
  const closure = productionClosure(target);
  if (
    closure.includes('packages/contracts') &&
    !existsSync(join(repoRoot, 'packages/contracts/src/generated/index.ts'))
  )
    throw new BundleError(
      'packages/contracts/src/generated is missing: run `pnpm --filter @anfang/contracts run codegen`',
    );

  const out = resolve(outDir);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const file of ROOT_FILES)
    if (existsSync(join(repoRoot, file))) cpSync(join(repoRoot, file), join(out, file));
  if (existsSync(join(repoRoot, 'patches')))
    cpSync(join(repoRoot, 'patches'), join(out, 'patches'), { recursive: true });
  for (const dir of workspaceFolders()) {
    mkdirSync(join(out, dir), { recursive: true });
    cpSync(join(repoRoot, dir, 'package.json'), join(out, dir, 'package.json'));
  }
  let stripped = 0;
  for (const dir of closure) {
    copySources(join(repoRoot, dir), join(out, dir));
    stripped += stripTypesUnder(join(out, dir, 'src'));
  }
  for (const file of options.extraFiles ?? []) {
    const path = relative(repoRoot, resolve(repoRoot, file));
    if (path.startsWith('..')) throw new BundleError(`${file} is outside the repository`);
    mkdirSync(dirname(join(out, path)), { recursive: true });
    cpSync(join(repoRoot, path), join(out, path));
    if (path.endsWith('.ts')) stripTypesInPlace(join(out, path));
  }
  cpSync(HOOK_SOURCE, join(out, PRESTRIPPED_HOOK));
  log(`sources of ${closure.join(', ')} (${stripped} TypeScript files stripped of their types)`);

  const name = readManifest(target).name;
  const install = spawnSync(
    'pnpm',
    [
      'install',
      '--frozen-lockfile',
      '--prod',
      '--prefer-offline',
      '--config.confirmModulesPurge=false',
      '--filter',
      `${name}...`,
    ],
    { cwd: out, encoding: 'utf8', env: { ...process.env, CI: 'true' } },
  );
  if (install.status !== 0)
    throw new BundleError(
      `pnpm install --prod for ${name} failed (exit ${install.status ?? install.signal}):\n${install.stdout}${install.stderr}`,
    );
  log(`production dependencies of ${name} installed`);
  return {
    outDir: out,
    packages: closure,
    packageDir: join(out, target),
    hook: join(out, PRESTRIPPED_HOOK),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [packageDir, outDir] = process.argv.slice(2);
  if (!packageDir || !outDir) {
    console.error('usage: bundle.ts <package dir, e.g. services/device-ingest> <out dir>');
    process.exit(2);
  }
  try {
    bundle(packageDir, outDir, { log: (line) => console.log(line) });
  } catch (error) {
    console.error(error instanceof BundleError ? error.message : error);
    process.exit(1);
  }
}
