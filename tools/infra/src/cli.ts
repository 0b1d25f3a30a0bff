#!/usr/bin/env node
/**
 * anfang infra up | down | status | env  [--only kafka,postgres] [--json]
 * Real servers on loopback for local runs and integration tests. See ../README.md.
 */
import { connectionEnv, down, InfraError, parseOnly, reset, status, up, type ServiceName } from './index.ts';
import { envJsonPath } from './config.ts';

// kafkajs 2.2.4 schedules a negative timeout on every connection (harmless; Node 24 warns).
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name !== 'TimeoutNegativeWarning')
    process.stderr.write(`${warning.name}: ${warning.message}\n`);
});

const usage = `usage: anfang infra <command> [--only postgres,redis,kafka,s3]
  up      start the servers (no-op for those already up), write ${envJsonPath}
  down    stop them (SIGTERM, then SIGKILL after a timeout); data is kept
  reset   down, then delete their data and logs (installed binaries and jars are kept)
  status  each server: up/down, port, pid (exit code 3 when one is not up)
  env     print the connection environment as shell exports (--json for JSON)`;

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  let only: ServiceName[] | undefined;
  let json = false;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] ?? '';
    if (arg === '--only') only = parseOnly(rest[++i] ?? '');
    else if (arg.startsWith('--only=')) only = parseOnly(arg.slice('--only='.length));
    else if (arg === '--json') json = true;
    else throw new InfraError(`unknown option ${arg}\n${usage}`);
  }
  switch (command) {
    case 'up':
      await up(only);
      return 0;
    case 'down':
      await down(only);
      return 0;
    case 'reset':
      await reset(only);
      return 0;
    case 'status': {
      const list = await status(only);
      if (json) {
        process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      } else {
        process.stdout.write(
          `${'server'.padEnd(10)}${'state'.padEnd(12)}${'address'.padEnd(18)}${'pid'.padEnd(9)}\n`,
        );
        for (const s of list)
          process.stdout.write(
            `${s.name.padEnd(10)}${s.state.padEnd(12)}${`127.0.0.1:${s.port}`.padEnd(18)}${String(s.pid ?? '-').padEnd(9)}${s.detail ?? ''}\n`,
          );
      }
      return list.every((s) => s.state === 'up') ? 0 : 3;
    }
    case 'env': {
      const env = connectionEnv();
      if (json) process.stdout.write(`${JSON.stringify(env, null, 2)}\n`);
      else for (const [k, v] of Object.entries(env)) process.stdout.write(`export ${k}=${shellQuote(v)}\n`);
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${usage}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command ${command}\n${usage}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof InfraError) process.stderr.write(`infra: ${err.message}\n`);
    else process.stderr.write(`infra: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
