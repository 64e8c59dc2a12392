// CPU time of processes and of the whole machine, read from /proc (Linux), so a benchmark can say
// which process used the cores while it ran: utime + stime of a process, and the busy time of
// every core from /proc/stat. Everything is in seconds of CPU.
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc's counters (USER_HZ); 100 on every Linux architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/** utime + stime of a process in CPU seconds, or 0 when it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): state is field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // fields 14 and 15
  } catch {
    return 0;
  }
}

/** The parent pid of a process, or undefined when it is gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** A process and every process below it now (PostgreSQL's backends, a CLI's server). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const parent = parentOf(pid);
    if (parent === undefined) continue;
    children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Busy and total CPU seconds of the whole machine (all cores) since boot. */
export function machineCpuSeconds(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1, 9)
    .map(Number) as [number, number, number, number, number, number, number, number];
  const busy = user + nice + system + irq + softirq + steal;
  return { busy: busy / TICKS_PER_SECOND, total: (busy + idle + iowait) / TICKS_PER_SECOND };
}

/**
 * CPU used by named groups of processes over a window. Groups are given as functions returning
 * their pids at the time of reading, so processes that start during the window (a PostgreSQL
 * backend) count from when they are first seen; ones that exit during it lose their last part.
 */
export class CpuWindow {
  private readonly start = new Map<number, number>();
  private readonly machineStart = machineCpuSeconds();
  private readonly startedAt = Date.now();

  constructor(private readonly groups: Record<string, () => number[]>) {
    for (const pids of Object.values(groups).map((g) => g()))
      for (const pid of pids) this.start.set(pid, processCpuSeconds(pid));
  }

  /** Cores each group kept busy on average (CPU seconds / wall seconds), and the machine's. */
  finish(): { seconds: number; cores: Record<string, number>; machineBusy: number; machineCores: number } {
    const seconds = (Date.now() - this.startedAt) / 1000;
    const cores: Record<string, number> = {};
    for (const [name, group] of Object.entries(this.groups)) {
      let used = 0;
      for (const pid of new Set(group())) used += processCpuSeconds(pid) - (this.start.get(pid) ?? 0);
      cores[name] = used / seconds;
    }
    const end = machineCpuSeconds();
    const total = end.total - this.machineStart.total;
    return {
      seconds,
      cores,
      machineBusy: (end.busy - this.machineStart.busy) / seconds,
      machineCores: total / seconds,
    };
  }
}
