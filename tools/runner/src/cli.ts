/**
 * ./anfang start — runs the platform.
 *   --mode embedded (default): one process, only Node needed: embedded Postgres, the embedded
 *          bus, in-process cache, objects in a directory. Data under var/embedded/ survives restarts.
 *   --mode local: the real local infrastructure (./anfang infra up), each service its own process.
 *   --services a,b   only these services (default: every service under services/).
 *   --port 8080      the status page.
 *   --grpc-base-port 50051 --http-base-port 8081   service i listens on base + i.
 *   --simulate / --no-simulate   simulated devices (tools/simulator) sending to device-ingest;
 *          on by default in embedded mode, off in local mode.
 *   --sim-rate 1   their events/s (day average); raise it for load.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startPlatform } from './runner.ts';

const { values } = parseArgs({
  allowNegative: true,
  options: {
    simulate: { type: 'boolean' },
    'sim-rate': { type: 'string', default: '1' },
    mode: { type: 'string', default: 'embedded' },
    services: { type: 'string' },
    port: { type: 'string', default: '8080' },
    'data-dir': { type: 'string' },
    'postgres-port': { type: 'string', default: '54329' },
    'grpc-base-port': { type: 'string', default: '50051' },
    'http-base-port': { type: 'string', default: '8081' },
  },
});

const root = process.env.ANFANG_ROOT ?? join(import.meta.dirname, '../../..');
const mode = values.mode;
if (mode !== 'embedded' && mode !== 'local') {
  console.error(`--mode must be embedded or local, not "${mode}"`);
  process.exit(2);
}
const log = (line: string): void => console.log(`[runner] ${line}`);
const simRate = Number(values['sim-rate']);
if (!Number.isFinite(simRate) || simRate < 0) {
  console.error(`--sim-rate must be a number ≥ 0, not "${values['sim-rate']}"`);
  process.exit(2);
}
const simulate = values.simulate ?? mode === 'embedded';

try {
  const platform = await startPlatform({
    root,
    mode,
    services: values.services
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    statusPort: Number(values.port),
    dataDir: values['data-dir'] ?? join(root, 'var', mode),
    postgresPort: Number(values['postgres-port']),
    grpcBasePort: Number(values['grpc-base-port']),
    httpBasePort: Number(values['http-base-port']),
    log,
    ...(simulate ? { simulate: { rate: simRate } } : {}),
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    platform.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
} catch (error) {
  console.error(`[runner] could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
