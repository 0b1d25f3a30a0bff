import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { machineCpu } from './machine-cpu.ts';

/** Burns `ms` of its own CPU (not of wall time: a busy machine only makes it slower). */
const burn = (ms: number) =>
  `const t0 = process.cpuUsage(); for (;;) { const u = process.cpuUsage(t0); if (u.user + u.system >= ${ms * 1000}) break; }`;

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) child.kill();
});

/** A Node process running `code` once it reads a line, printing "done" after it. */
async function waiting(code: string): Promise<{ pid: number; go(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `process.stdin.once('data', async () => { ${code}; console.log('done'); setInterval(() => {}, 1000); })`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  started.push(child);
  await once(child, 'spawn');
  return {
    pid: child.pid!,
    async go() {
      child.stdin!.write('go\n');
      const [line] = (await once(child.stdout!, 'data')) as [Buffer];
      expect(line.toString().trim()).toBe('done');
    },
  };
}

describe('machineCpu', () => {
  it("accounts a process's CPU to its name, and the machine's busy time covers it", async () => {
    const worker = await waiting(burn(300));
    const machine = machineCpu({ worker: { pid: worker.pid } });
    expect(machine).toBeDefined();
    const from = machine!.mark();
    await worker.go();
    const account = machine!.between(from, machine!.mark());
    const seconds = (account.byName.get('worker') ?? 0) * account.seconds;
    expect(seconds).toBeGreaterThanOrEqual(0.25);
    expect(seconds).toBeLessThan(account.seconds * account.cores + 0.02);
    expect(account.other + seconds).toBeGreaterThan(0.2);
  });

  it('gives a tree the CPU of children it has reaped, and the process alone not', async () => {
    const grandchild = `await new Promise((resolve) => require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(burn(300))}], { stdio: 'inherit' }).on('exit', resolve))`;
    const parent = await waiting(grandchild);
    const machine = machineCpu({ tree: { pid: parent.pid, tree: true }, alone: { pid: parent.pid } })!;
    const from = machine.mark();
    await parent.go();
    const account = machine.between(from, machine.mark());
    const cpu = (name: string) => (account.byName.get(name) ?? 0) * account.seconds;
    expect(cpu('tree')).toBeGreaterThanOrEqual(0.25);
    expect(cpu('alone')).toBeLessThan(0.15);
  });

  it('counts a process gone or never there as no CPU', () => {
    const machine = machineCpu({ nobody: { pid: 2 ** 22 + 1 } })!;
    const from = machine.mark();
    expect(machine.between(from, machine.mark()).byName.get('nobody')).toBe(0);
  });
});
