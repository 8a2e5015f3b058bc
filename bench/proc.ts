/** CPU time of a process, read from /proc, for benchmarks that charge work to the server doing it. */
import { readFileSync } from 'node:fs';

const TICK_US = 1_000_000 / 100; // USER_HZ is 100 on Linux

/** utime + stime of `pid`, in microseconds (fields 14 and 15 of /proc/<pid>/stat). */
export function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

/**
 * CPU time of several processes (e.g. the stack's servers), in microseconds, by name; a name may stand
 * for several processes (every node of a cluster), whose times are added up. Processes that are gone
 * (or were never local) are left out.
 */
export function cpuUsOf(pids: ReadonlyMap<string, number | readonly number[]>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, p] of pids) {
    for (const pid of typeof p === 'number' ? [p] : p) {
      try {
        out.set(name, (out.get(name) ?? 0) + cpuUs(pid));
      } catch {
        // gone: not counted
      }
    }
  }
  return out;
}

/** Extra Node flags for a process a benchmark starts, from an env var (`ADME_BENCH_GATEWAY_NODE_ARGS`, …), split on spaces. */
export function nodeArgsFrom(name: 'ADME_BENCH_GATEWAY_NODE_ARGS' | 'ADME_BENCH_RUNTIME_NODE_ARGS'): string[] {
  return (process.env[name] ?? '').split(' ').filter(Boolean);
}
