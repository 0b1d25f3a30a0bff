/**
 * Where a machine's CPU went while a benchmark ran: per named process (optionally with its
 * descendants — a Postgres server's backends), the rest of the machine, and idle, read from
 * /proc. A throughput measured on a small shared machine means little without it: the service
 * under test, the load generator and every server beside them take from the same cores, and the
 * ratio between two runs (the service against a raw baseline) is a ratio between two different
 * splits of the machine.
 *
 * Linux only; /proc reports in USER_HZ ticks, which are 1/100 s on every architecture Node
 * supports. Where /proc cannot be read `machineCpu` returns undefined and callers leave the
 * account out.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

const TICKS_PER_SECOND = 100;

/** A process to account for: alone, or (`tree`) with every descendant, alive or reaped. */
export interface AccountedProcess {
  readonly pid: number;
  readonly tree?: boolean;
}

export interface CpuMark {
  readonly at: number;
  /** Seconds of CPU per name. */
  readonly byName: ReadonlyMap<string, number>;
  /** Seconds of CPU over all cores: busy (user, nice, system, irq, softirq), idle (with iowait), steal. */
  readonly machine: { readonly busy: number; readonly idle: number; readonly steal: number };
}

/** Cores (CPU seconds per second) between two marks. */
export interface CpuAccount {
  readonly seconds: number;
  readonly cores: number;
  readonly byName: ReadonlyMap<string, number>;
  /** Busy but in none of the named processes (the kernel's own threads, other users). */
  readonly other: number;
  readonly idle: number;
  /** Taken by the hypervisor for other guests. */
  readonly steal: number;
}

export interface MachineCpu {
  mark(): CpuMark;
  between(from: CpuMark, to: CpuMark): CpuAccount;
}

interface ProcStat {
  readonly ppid: number;
  /** utime + stime, in ticks. */
  readonly own: number;
  /** cutime + cstime: what its children that it has reaped used. */
  readonly reaped: number;
}

function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: fields count from after it.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const num = (field: number) => Number(fields[field - 3]);
  return { ppid: num(4), own: num(14) + num(15), reaped: num(16) + num(17) };
}

/**
 * A process's CPU with its descendants: the live ones' own figures plus what the reaped ones left
 * in their parents' cutime/cstime, so each tick is counted once.
 */
function treeTicks(
  root: number,
  stats: ReadonlyMap<number, ProcStat>,
  children: ReadonlyMap<number, readonly number[]>,
): number {
  let ticks = 0;
  const pending = [root];
  while (pending.length) {
    const pid = pending.pop()!;
    const stat = stats.get(pid);
    ticks += (stat?.own ?? 0) + (stat?.reaped ?? 0);
    pending.push(...(children.get(pid) ?? []));
  }
  return ticks;
}

function childrenOf(stats: ReadonlyMap<number, ProcStat>): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const [pid, stat] of stats) {
    const list = children.get(stat.ppid);
    if (list) list.push(pid);
    else children.set(stat.ppid, [pid]);
  }
  return children;
}

function allStats(): Map<number, ProcStat> {
  const stats = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat) stats.set(Number(entry), stat);
  }
  return stats;
}

function machineTicks(): CpuMark['machine'] {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const seconds = (t: number | undefined) => (t ?? 0) / TICKS_PER_SECOND;
  return {
    busy: seconds((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0)),
    idle: seconds((idle ?? 0) + (iowait ?? 0)),
    steal: seconds(steal),
  };
}

/** Accounts the machine's CPU to the named processes; undefined where /proc cannot be read. */
export function machineCpu(named: Readonly<Record<string, AccountedProcess>>): MachineCpu | undefined {
  try {
    machineTicks();
  } catch {
    return undefined;
  }
  const entries = Object.entries(named);
  return {
    mark() {
      const stats = allStats();
      const children = childrenOf(stats);
      const byName = new Map<string, number>();
      for (const [name, p] of entries) {
        const ticks = p.tree ? treeTicks(p.pid, stats, children) : (stats.get(p.pid)?.own ?? 0);
        byName.set(name, ticks / TICKS_PER_SECOND);
      }
      return { at: performance.now(), byName, machine: machineTicks() };
    },
    between(from, to) {
      const seconds = (to.at - from.at) / 1000;
      const rate = (a: number, b: number) => Math.max(0, b - a) / seconds;
      const byName = new Map<string, number>();
      let named = 0;
      for (const [name, end] of to.byName) {
        const cores = rate(from.byName.get(name) ?? end, end);
        byName.set(name, cores);
        named += cores;
      }
      return {
        seconds,
        cores: cpus().length,
        byName,
        other: Math.max(0, rate(from.machine.busy, to.machine.busy) - named),
        idle: rate(from.machine.idle, to.machine.idle),
        steal: rate(from.machine.steal, to.machine.steal),
      };
    },
  };
}
