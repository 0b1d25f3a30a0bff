/**
 * The device-ingest service alone in a child process, for ingest.bench.ts: only src/service.ts is
 * loaded (so its RSS is the service's), driven over IPC — `mem` (optionally after a GC) answers
 * process.memoryUsage() and cpuUsage(); `stop` shuts it down and exits normally (which is what
 * writes a `--cpu-prof` profile).
 */
import { getHeapSpaceStatistics } from 'node:v8';
import type { ServiceModule } from '@anfang/platform/service';
import service from '../src/service.ts';

const module: ServiceModule = service;
// The child's environment is the service's (what main.ts's runServiceMain would read).
// eslint-disable-next-line no-restricted-properties
const running = await module.start(process.env, { ownsProcess: false });
const send = (m: unknown): void => void process.send?.(m);
process.on('message', (m: { type: string; id?: number; gc?: boolean }) => {
  if (m.type === 'mem') {
    if (m.gc) (globalThis as { gc?: () => void }).gc?.();
    const spaces = Object.fromEntries(
      getHeapSpaceStatistics().map((sp) => [
        sp.space_name,
        { size: sp.space_size, used: sp.space_used_size },
      ]),
    );
    send({ type: 'mem', id: m.id, mem: process.memoryUsage(), cpu: process.cpuUsage(), spaces });
  } else if (m.type === 'stop') {
    void running
      .stop('benchmark done')
      .catch(() => undefined)
      .then(() => process.exit(0));
  }
});
// The benchmark's death ends the service too.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', ports: running.ports });
