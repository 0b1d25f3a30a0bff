/**
 * node tools/simulator/src/cli.ts [options]
 *   --target http://127.0.0.1:8088   device-ingest's device listener (DEVICE_HTTP_PORT)
 *   --registry 127.0.0.1:50051       device-ingest's gRPC (DeviceRegistryService)
 *   --compounds 37                   the district's 37 listed compounds, more are generated
 *   --rate 5                         events/s, averaged over the simulated day
 *   --time-scale 1                   simulated seconds per real second (1440: a day per minute)
 *   --heartbeat 60                   heartbeat/keepalive interval of every device, s
 *   --offline-rate 0.02              share of devices dropping offline per hour
 *   --max-in-flight 64               requests open at most (more is dropped and counted)
 *   --stats 10                       seconds between stats lines
 *   --state .cache/simulator/state.json   device secrets
 *   --caller-key-file var/embedded/secrets/caller-token-key   device-ingest's CALLER_TOKEN_KEY
 *   --rotate-secrets                 give every device a new secret
 *   --duration 0                     stop after this many seconds (0: until Ctrl-C)
 *   --seed anfang                    world seed (same seed, same devices)
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { startSimulator } from './simulator.ts';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'http://127.0.0.1:8088' },
    registry: { type: 'string', default: '127.0.0.1:50051' },
    compounds: { type: 'string', default: '37' },
    rate: { type: 'string', default: '5' },
    'time-scale': { type: 'string', default: '1' },
    heartbeat: { type: 'string', default: '60' },
    'offline-rate': { type: 'string', default: '0.02' },
    'max-in-flight': { type: 'string', default: '64' },
    stats: { type: 'string', default: '10' },
    state: { type: 'string' },
    'caller-key-file': { type: 'string', default: 'var/embedded/secrets/caller-token-key' },
    'rotate-secrets': { type: 'boolean', default: false },
    duration: { type: 'string', default: '0' },
    seed: { type: 'string', default: 'anfang' },
    csv: { type: 'string' },
  },
});

const number = (name: keyof typeof values, min: number, max: number): number => {
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n < min || n > max) {
    console.error(`--${name} must be a number from ${min} to ${max}, not "${String(values[name])}"`);
    process.exit(2);
  }
  return n;
};

const log = (line: string): void => console.log(`[simulator] ${line}`);

/** The key file the runner generates for an install (the same secret device-ingest mounts). */
async function readCallerKey(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (err) {
    console.error(
      `--caller-key-file ${path}: ${(err as Error).message} (start the platform once, or point at its key)`,
    );
    process.exit(2);
  }
}
try {
  const sim = await startSimulator({
    target: values.target,
    registry: values.registry,
    callerTokenKey: await readCallerKey(values['caller-key-file']),
    compounds: number('compounds', 1, 9999),
    rate: number('rate', 0, 100_000),
    timeScale: number('time-scale', 0, 100_000),
    heartbeatSeconds: number('heartbeat', 1, 3600),
    offlinePerHour: number('offline-rate', 0, 1),
    maxInFlight: number('max-in-flight', 1, 10_000),
    statsSeconds: number('stats', 0, 3600),
    seed: values.seed,
    rotateSecrets: values['rotate-secrets'],
    ...(values.state ? { statePath: values.state } : {}),
    ...(values.csv ? { csvPath: values.csv } : {}),
    log,
  });
  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${why}: stopping`);
    sim.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  const duration = number('duration', 0, 10_000_000);
  if (duration > 0) setTimeout(() => stop(`${duration} s elapsed`), duration * 1000);
  // Keeps the process alive while the simulator's own timers are unref'd.
  setInterval(() => undefined, 1 << 30);
} catch (err) {
  console.error(`[simulator] could not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
