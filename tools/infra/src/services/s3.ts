import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Client } from 'minio';
import { binDir, credentials, ports, versions } from '../config.ts';
import { commandMatcher, which } from '../proc.ts';
import { InfraError, type Reporter, runLogged, seconds } from '../progress.ts';
import { installLog, type LaunchSpec, type Service, stateDir, withTimeout } from '../service.ts';

const goModule = 'github.com/versity/versitygw';
const binary = join(binDir, 'versitygw');
const versionFile = join(binDir, 'versitygw.version');
const dir = stateDir('s3');
const dataDir = join(dir, 'data');

/** Builds Versity Gateway from the Go module proxy into .cache/bin (skipped when the pinned build is there). */
async function build(report: Reporter): Promise<void> {
  const want = `${goModule}@${versions.versitygw}\n`;
  if (existsSync(binary) && existsSync(versionFile) && readFileSync(versionFile, 'utf8') === want) return;
  const go = which('go');
  if (!go)
    throw new InfraError(
      `the Go toolchain is needed to build Versity Gateway (${goModule}) and is not on PATH; install Go 1.25 or newer`,
    );
  const log = installLog('s3');
  for (const entry of readdirSync(binDir))
    if (entry.startsWith('.build-')) rmSync(join(binDir, entry), { recursive: true, force: true });
  const tmpBin = join(binDir, `.build-${process.pid}`);
  mkdirSync(tmpBin, { recursive: true });
  report.info(
    `building Versity Gateway ${versions.versitygw} with go install (minutes on a fresh machine; log: ${log})`,
  );
  let downloads = 0;
  let packages = 0;
  const t0 = Date.now();
  try {
    await runLogged({
      cmd: go,
      args: ['install', '-v', '-trimpath', `${goModule}/cmd/versitygw@${versions.versitygw}`],
      env: { ...process.env, GOBIN: tmpBin, GOFLAGS: '-buildvcs=false', GOTOOLCHAIN: 'auto' },
      cwd: dir,
      logFile: log,
      onLine: (line) => {
        if (line.startsWith('go: downloading')) downloads++;
        else if (!line.startsWith('go:') && /^[\w.-]+(\/[\w.@~+-]+)*$/.test(line.trim())) packages++;
      },
      heartbeat: {
        report,
        everyMs: 15_000,
        describe: (ms) =>
          `go: ${downloads} modules downloaded, ${packages} packages compiled (${seconds(ms)})`,
      },
      what: `go install ${goModule}/cmd/versitygw@${versions.versitygw}`,
    });
    renameSync(join(tmpBin, 'versitygw'), binary);
    writeFileSync(versionFile, want);
  } finally {
    rmSync(tmpBin, { recursive: true, force: true });
  }
  report.info(`built ${binary} in ${seconds(Date.now() - t0)}`);
}

export function s3Client(): Client {
  return new Client({
    endPoint: '127.0.0.1',
    port: ports.s3,
    useSSL: false,
    accessKey: credentials.s3AccessKey,
    secretKey: credentials.s3SecretKey,
    region: credentials.s3Region,
    pathStyle: true,
  });
}

/**
 * The Go threads the store runs its code on: half the machine's cores, at least one. The store
 * shares the machine with Kafka, Postgres, Redis and the services; with a thread per core, Go's
 * scheduler wakes, spins and parks threads around every request (futex and nanosleep calls by the
 * thousand a second, which a VM charges dearly): on 2 cores, a 64-in-flight PUT loop of 337-byte
 * pictures cost the store 305–358 µs of CPU per PUT with 2 and 255–258 with 1, at 3 100–3 200
 * PUTs/s against 3 300–3 800.
 */
const storeProcs = (): number => Math.max(1, Math.floor(availableParallelism() / 2));

export function s3Service(): Service {
  return {
    name: 's3',
    title: `Versity Gateway ${versions.versitygw} (S3 over ${dataDir})`,
    port: ports.s3,
    extraPorts: [],
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 15_000,
    startTimeoutMs: 30_000,
    match: commandMatcher('versitygw', dataDir),
    async install(report) {
      mkdirSync(dir, { recursive: true });
      mkdirSync(binDir, { recursive: true });
      await build(report);
    },
    async prepare(): Promise<LaunchSpec> {
      mkdirSync(dataDir, { recursive: true });
      return {
        cmd: binary,
        args: [
          '--port',
          `127.0.0.1:${ports.s3}`,
          '--region',
          credentials.s3Region,
          '--quiet',
          // Off by default: every response would close its connection (a TCP handshake per request).
          '--keep-alive',
          'posix',
          dataDir,
        ],
        // Keys through the environment, not the command line (visible to ps).
        env: {
          ...process.env,
          ROOT_ACCESS_KEY: credentials.s3AccessKey,
          ROOT_SECRET_KEY: credentials.s3SecretKey,
          GOMAXPROCS: String(storeProcs()),
        },
        cwd: dir,
      };
    },
    async probe(timeoutMs) {
      await withTimeout(s3Client().listBuckets(), timeoutMs, 's3 probe');
    },
  };
}
