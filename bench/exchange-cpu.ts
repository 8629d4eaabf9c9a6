import { readFileSync } from 'node:fs';

/** Linux clock ticks per second: `/proc/<pid>/stat` counts CPU time in these (USER_HZ, 100 on every mainstream build). */
const TICKS_PER_SECOND = 100;

/** User + system CPU milliseconds a process has used so far, or undefined where `/proc` cannot tell (not Linux, process gone). */
function cpuMsOf(pid: number): number | undefined {
  if (pid === process.pid) {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  }
  try {
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th of the line.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU per call of each process of the path: where the time goes, in every run, without a
 * profiler. Start it, make calls, then `perCall(calls)` gives ms of CPU per call by role.
 */
export function cpuMeter(pids: Readonly<Record<string, number>>): { perCall(calls: number): string } {
  const start = Object.entries(pids).map(([role, pid]) => [role, pid, cpuMsOf(pid)] as const);
  return {
    perCall(calls: number): string {
      return start
        .map(([role, pid, before]) => {
          const after = cpuMsOf(pid);
          const ms = before === undefined || after === undefined || calls === 0 ? Number.NaN : (after - before) / calls;
          return `${role} ${Number.isNaN(ms) ? '?' : ms.toFixed(2)}`;
        })
        .join(', ');
    },
  };
}
