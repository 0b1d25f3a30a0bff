/**
 * One service alone in a child process, for benchmarks: `fork(SERVICE_CHILD, [serviceModulePath])`
 * with the service's environment. Only that module is loaded (so the child's RSS and CPU are the
 * service's), driven over IPC: it sends `ready` with its ports; `mem` (optionally after a GC)
 * answers process.memoryUsage(), cpuUsage() and the heap spaces; `profile-start` / `profile-stop`
 * (with a `path`) record a CPU profile of just the phase between them (a `--cpu-prof` of the whole
 * process would be mostly start-up and set-up); `heap-snapshot` (with a `path`) writes one; each
 * is answered with `{ type: 'done', id }`. `stop` shuts it down and exits normally.
 */
import { writeFileSync } from 'node:fs';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { pathToFileURL } from 'node:url';
import { startCpuProfile, type CpuProfileRecording } from './cpu-profile.ts';

/** What the child needs of a ServiceModule (@anfang/platform/service; not imported: it tests with us). */
interface StartableService {
  start(
    env: Readonly<Record<string, string | undefined>>,
    options: { ownsProcess: boolean },
  ): Promise<{ readonly ports: unknown; stop(reason: string): Promise<void> }>;
}

interface Command {
  readonly type: string;
  readonly id?: number;
  readonly gc?: boolean;
  readonly path?: string;
}

const modulePath = process.argv[2];
if (!modulePath) throw new Error('usage: fork(service-child.ts, [path of the service module])');
const module = (await import(pathToFileURL(modulePath).href)).default as StartableService;
// The child's environment is the service's (what main.ts's runServiceMain would read).
const running = await module.start(process.env, { ownsProcess: false });
const send = (m: unknown): void => void process.send?.(m);
let profiler: CpuProfileRecording | undefined;

async function diagnose(m: Command): Promise<void> {
  if (m.type === 'profile-start') {
    profiler = await startCpuProfile();
  } else if (m.type === 'profile-stop' && profiler) {
    const profile = await profiler.stop();
    profiler = undefined;
    writeFileSync(m.path!, JSON.stringify(profile));
  } else if (m.type === 'heap-snapshot') {
    writeHeapSnapshot(m.path);
  }
}

process.on('message', (m: Command) => {
  if (m.type === 'mem') {
    if (m.gc) (globalThis as { gc?: () => void }).gc?.();
    const spaces = Object.fromEntries(
      getHeapSpaceStatistics().map((sp) => [
        sp.space_name,
        { size: sp.space_size, used: sp.space_used_size },
      ]),
    );
    send({ type: 'mem', id: m.id, mem: process.memoryUsage(), cpu: process.cpuUsage(), spaces });
  } else if (m.type === 'profile-start' || m.type === 'profile-stop' || m.type === 'heap-snapshot') {
    diagnose(m).then(
      () => send({ type: 'done', id: m.id }),
      (err: unknown) => send({ type: 'done', id: m.id, error: String(err) }),
    );
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
