/** Starting workloads as local processes, the way a container would run them. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { waitServing, type HealthTarget } from '../src/health.ts';

export interface Started {
  readonly child: ChildProcess;
  /** Everything it printed so far (for failure messages). */
  output(): string;
  /** SIGTERM, then the exit code (SIGKILL after 30 s: the pod's grace period). */
  stop(): Promise<number | null>;
}

/**
 * Spawns `node <args>` in `cwd` with exactly `env` (plus PATH and HOME, which a container's image
 * provides): nothing of the test's own environment leaks in.
 */
export function startNode(args: readonly string[], cwd: string, env: Record<string, string>): Started {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * Waits until the process answers SERVING on the health target, the way the readiness probe
 * asks; fails at once (with the process's output) when it exits first.
 */
export async function waitReady(started: Started, target: HealthTarget, timeoutMs: number): Promise<void> {
  const exited = once(started.child, 'close').then(([code]) => {
    throw new Error(`exited (${String(code)}) before it was ready:\n${started.output()}`);
  });
  try {
    await Promise.race([waitServing(target, timeoutMs), exited]);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${started.output()}`, { cause: error });
  } finally {
    exited.catch(() => undefined);
  }
}

/** Runs `node <args>` to completion: exit code and output. */
export async function runNode(
  args: readonly string[],
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const started = startNode(args, cwd, env);
  // 'close', not 'exit': the output streams are drained by then.
  const [code] = (await once(started.child, 'close')) as [number | null];
  return { code, output: started.output() };
}
