/**
 * Infrastructure of a test's own: a Kafka broker and a Postgres started by the infra tooling
 * (`tools/infra`) on ports of the test's range and with a state folder of their own
 * (`ANFANG_INFRA_STATE_DIR`), beside the shared ones — which every checkout on the machine uses
 * and no test may restart. Redis and the S3 store stay the shared ones (nothing here restarts
 * them). The test stops and starts the servers at will; `remove` stops them and deletes their
 * data and state.
 *
 * It loads no infra code itself: the tooling reads its ports when loaded, so the runner (which
 * loads it) must be imported only after `env` is in process.env.
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { freePortBlock, infraEnv } from '@anfang/testing';
import { portBase } from './ports.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const cli = join(root, 'tools', 'infra', 'src', 'cli.ts');

export type OwnServer = 'kafka' | 'postgres';

export interface OwnInfra {
  /** What points the infra tooling, the runner and `@anfang/testing` at this infrastructure. */
  readonly env: Readonly<Record<string, string>>;
  stop(server: OwnServer): Promise<void>;
  start(server: OwnServer): Promise<void>;
  remove(): Promise<void>;
}

export async function startOwnInfra(): Promise<OwnInfra> {
  const shared = infraEnv();
  // Above the platforms' blocks of 100 from the base, in the same range.
  const first = await freePortBlock(3, portBase() + 1_800);
  const stateDir = join(root, '.cache', `infra-e2e-${first}`);
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
    await infra('reset', '--only', 'kafka,postgres');
    await rm(stateDir, { recursive: true, force: true });
  };
  try {
    await infra('up', '--only', 'kafka,postgres');
  } catch (error) {
    await remove().catch(() => undefined);
    throw error;
  }
  return {
    env,
    stop: (server) => infra('down', '--only', server),
    start: (server) => infra('up', '--only', server),
    remove,
  };
}
