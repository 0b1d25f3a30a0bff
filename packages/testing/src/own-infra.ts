/**
 * Infrastructure of a test's own: a Kafka broker and/or a Postgres started by the infra tooling
 * (`tools/infra`, through its CLI) on ports of the test's range and with a state folder of their
 * own (`ANFANG_INFRA_STATE_DIR`), beside the shared ones — which every checkout on the machine
 * uses and no test may restart. Redis and the S3 store stay the shared ones (nothing here
 * restarts them). The test stops (SIGTERM, as `anfang infra down`) and starts the servers at
 * will; `remove` stops them and deletes their data and state.
 *
 * The CLI runs as a child process: the tooling reads its ports when loaded, and this package
 * cannot depend on it (the tooling's tests depend on this package). Code that reads the
 * infrastructure's ports when loaded (the runner) must be imported only after `env` is in
 * process.env.
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { infraEnv } from './env.ts';
import { freePortBlock, portBaseFrom } from './ports.ts';

const root = join(import.meta.dirname, '..', '..', '..');

const cli = join(root, 'tools', 'infra', 'src', 'cli.ts');

export type OwnServer = 'kafka' | 'postgres';

export interface OwnInfra {
  /** What points the infra tooling, the runner and `infraEnv()` at this infrastructure. */
  readonly env: Readonly<Record<string, string>>;
  /** Where the servers keep their data and logs (`kafka/server.log`, …). */
  readonly stateDir: string;
  stop(server: OwnServer): Promise<void>;
  start(server: OwnServer): Promise<void>;
  remove(): Promise<void>;
}

export interface OwnInfraOptions {
  /** The servers to start. Default both. */
  readonly servers?: readonly OwnServer[];
  /**
   * Where to look for the three free ports (Postgres, Kafka, Kafka's controller). Default
   * `ANFANG_TEST_PORT_BASE`, else 21 000: on a shared machine, a range of one's own.
   */
  readonly portFrom?: number;
}

export async function startOwnInfra(options: OwnInfraOptions = {}): Promise<OwnInfra> {
  const servers = (options.servers ?? ['kafka', 'postgres']).join(',');
  const shared = infraEnv();
  const first = await freePortBlock(3, options.portFrom ?? portBaseFrom('ANFANG_TEST_PORT_BASE', 21_000));
  const stateDir = join(root, '.cache', `infra-own-${first}`);
  const env = {
    ANFANG_INFRA_STATE_DIR: stateDir,
    ANFANG_INFRA_PORT_POSTGRES: String(first),
    ANFANG_INFRA_PORT_KAFKA: String(first + 1),
    ANFANG_INFRA_PORT_KAFKA_CONTROLLER: String(first + 2),
    ANFANG_INFRA_PORT_REDIS: new URL(shared.redisUrl).port,
    ANFANG_INFRA_PORT_S3: new URL(shared.s3.endpoint).port,
    ANFANG_PG_URL: `postgres://postgres:postgres@127.0.0.1:${first}/postgres`,
    ANFANG_KAFKA_BROKERS: `127.0.0.1:${first + 1}`,
  };
  const infra = (...args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [cli, ...args], {
        cwd: root,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const output: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
      child.once('error', reject);
      child.once('exit', (code) => {
        if (code === 0) resolve();
        else
          reject(
            new Error(
              `anfang infra ${args.join(' ')} exited with ${code}:\n${Buffer.concat(output).toString('utf8').slice(-3000)}`,
            ),
          );
      });
    });
  const remove = async () => {
    await infra('reset', '--only', servers);
    await rm(stateDir, { recursive: true, force: true });
  };
  try {
    await infra('up', '--only', servers);
  } catch (error) {
    await remove().catch(() => undefined);
    throw error;
  }
  return {
    env,
    stateDir,
    stop: (server) => infra('down', '--only', server),
    start: (server) => infra('up', '--only', server),
    remove,
  };
}
