/**
 * A CPU limit for a benchmark's child process, enforced by the kernel exactly as Kubernetes
 * enforces a container's `resources.limits.cpu`: a CFS quota on a cgroup of its own (cgroup v2
 * `cpu.max`, or v1 `cpu.cfs_quota_us`). Scale-out benchmarks use it so that "one replica" means a
 * fixed share of CPU, as it does in a cluster, rather than whatever this small machine's cores
 * have left beside Kafka and Postgres.
 *
 * Needs a writable cgroup filesystem (root, or a delegated subtree); `cpuLimit` returns
 * undefined where there is none, and the caller says so beside its figures.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const CGROUP_ROOT = '/sys/fs/cgroup';
const PERIOD_US = 100_000;

export interface CpuLimit {
  /** The limit in cores (0.25 = Kubernetes `250m`). */
  readonly cores: number;
  /** Moves a process (and the threads it starts afterwards) under the limit. */
  add(pid: number): Promise<void>;
  /** Periods in which the limit held its processes back so far (cpu.stat `nr_throttled`). */
  throttledPeriods(): Promise<number>;
  /** Removes the cgroup once its processes have exited. */
  remove(): Promise<void>;
}

/** Where the cpu controller lives: the v2 unified hierarchy or the v1 `cpu` one. */
async function controller(): Promise<{ dir: string; version: 1 | 2 } | undefined> {
  const v2 = join(CGROUP_ROOT, 'cgroup.controllers');
  if (existsSync(v2)) {
    const controllers = await readFile(v2, 'utf8');
    return controllers.split(/\s+/).includes('cpu') ? { dir: CGROUP_ROOT, version: 2 } : undefined;
  }
  const v1 = join(CGROUP_ROOT, 'cpu');
  return existsSync(join(v1, 'cpu.cfs_quota_us')) ? { dir: v1, version: 1 } : undefined;
}

/**
 * A new cgroup `name` limited to `cores` CPUs, or undefined when this machine gives no writable
 * cpu controller.
 */
export async function cpuLimit(name: string, cores: number): Promise<CpuLimit | undefined> {
  if (!(cores > 0)) throw new Error(`a CPU limit must be above 0 cores, not ${cores}`);
  const found = await controller();
  if (!found) return undefined;
  const dir = join(found.dir, name);
  const quota = Math.round(cores * PERIOD_US);
  try {
    await mkdir(dir);
    if (found.version === 2) await writeFile(join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
    else {
      await writeFile(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
      await writeFile(join(dir, 'cpu.cfs_quota_us'), String(quota));
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return undefined;
    throw error;
  }
  return {
    cores,
    add: (pid) => writeFile(join(dir, 'cgroup.procs'), String(pid)),
    throttledPeriods: async () =>
      Number(/^nr_throttled (\d+)$/m.exec(await readFile(join(dir, 'cpu.stat'), 'utf8'))?.[1] ?? 0),
    // A cgroup is removable only once empty; an exited process leaves it at once.
    remove: () => rmdir(dir).catch(() => undefined),
  };
}
