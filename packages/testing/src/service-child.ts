/**
 * One service alone in a child process, for benchmarks: `fork(SERVICE_CHILD, [serviceModulePath])`
 * with the service's environment. Only that module is loaded (so the child's RSS and CPU are the
 * service's), driven over IPC: it sends `ready` with its ports; `mem` (optionally after a GC)
 * answers process.memoryUsage(), cpuUsage() and the heap spaces; `stop` shuts it down and exits
 * normally (which is what writes a `--cpu-prof` profile).
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { pathToFileURL } from 'node:url';

/** What the child needs of a ServiceModule (@anfang/platform/service; not imported: it tests with us). */
interface StartableService {
  start(
    env: Readonly<Record<string, string | undefined>>,
    options: { ownsProcess: boolean },
  ): Promise<{ readonly ports: unknown; stop(reason: string): Promise<void> }>;
}

const modulePath = process.argv[2];
if (!modulePath) throw new Error('usage: fork(service-child.ts, [path of the service module])');
const module = (await import(pathToFileURL(modulePath).href)).default as StartableService;
// The child's environment is the service's (what main.ts's runServiceMain would read).
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
